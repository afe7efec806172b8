"""``sharescan watch``: follow the Drive audit log and scan each newly exposed file within one poll."""

from __future__ import annotations

import signal
import threading
from typing import Any

import click

from scanner.app import App
from scanner.cli.context import pass_app
from scanner.cli.render import to_jsonable


@click.command("watch")
@click.option("--interval", "interval_minutes", type=click.FloatRange(min=0.01, max=1440), default=None,
              help="Minutes between polls (default [watch] interval_minutes).")
@click.option("--once", is_flag=True, help="Poll once and exit.")
@click.option("--apply/--dry-run", "apply", default=None,
              help="Enforce (or only plan) remediation for the files it scans; default [remediation] mode.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="One line per poll: text, or a JSON object.")
@pass_app
def watch_cmd(app: App, interval_minutes: float | None, once: bool, apply: bool | None, fmt: str) -> None:
    """Follow the Drive audit log and scan each file that becomes public, link-shared or shared outside,
    within one poll. Scopes: as `scan`, plus admin.reports.audit.readonly.

    One watcher per database (exit 75 if another one runs); it runs beside nightly scans. SIGTERM or
    Ctrl-C stops it after the current poll; a restart continues from the cursor in the database.
    """
    from scanner.watch import PollReport, Watcher

    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)

    def show(report: PollReport) -> None:
        if fmt == "json":
            import json

            click.echo(json.dumps(to_jsonable(report.as_dict()), sort_keys=True))
            return
        line = (f"watch: {report.started_at:%Y-%m-%d %H:%M:%S} {report.new_events} new event(s) of {report.events}, "
                f"{len(report.exposed)} exposed file(s) scanned")
        if report.run_id is not None:
            scan = report.scan
            line += (f" in run {report.run_id}: {scan.get('findings_new', 0)} new finding(s), "
                     f"actions {scan.get('actions') or {}}")
        if report.deferred:
            line += f", {report.deferred} left for the next poll"
        if report.error:
            line += f"; poll failed: {report.error}"
        click.echo(line)

    watcher = Watcher(app, apply=apply)
    interval = interval_minutes * 60 if interval_minutes is not None else None
    try:
        watcher.run(stop=stop, max_polls=1 if once else None, interval_seconds=interval, on_poll=show)
    except KeyboardInterrupt:
        stop.set()


COMMANDS: list[click.Command] = [watch_cmd]
