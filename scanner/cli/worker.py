"""``sharescan worker``: a Celery worker that crawls targets and analyses files for scans started with
``--executor celery`` (or ``[executor] kind = "celery"``)."""

from __future__ import annotations

import click

from scanner.app import App
from scanner.cli.context import pass_app


@click.command("worker")
@click.option("--concurrency", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Tasks at once: 1 runs them in this process; more forks a pool of that many processes.")
@click.option("--hostname", default=None, help="Celery node name (default: celery@<host>).")
@click.option("--loglevel", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]), default="INFO",
              show_default=True, help="Celery's log level.")
@pass_app
def worker(app: App, concurrency: int, hostname: str | None, loglevel: str) -> None:
    """Work for scans run with the Celery executor: crawl targets and analyse files sent over [executor]
    broker_url (Redis or RabbitMQ), writing to the shared database. Stop with SIGTERM (warm shutdown:
    the task in hand finishes; an unacknowledged one is delivered again to another worker).

    \b
    Exit codes: 0 stopped; 2 configuration invalid (no broker_url, celery extra missing).
    """
    from scanner.scan.celery_exec import run_worker

    app.sessions  # noqa: B018 - refuses a database that is missing or not at head before taking tasks
    run_worker(app.settings, concurrency=concurrency, loglevel=loglevel, hostname=hostname)


COMMANDS: list[click.Command] = [worker]
