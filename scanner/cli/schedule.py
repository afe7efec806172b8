"""``sharescan schedule run|next``: the foreground scheduler and its upcoming fire times."""

from __future__ import annotations

import datetime as dt

import click

from scanner.app import App
from scanner.cli.context import pass_app
from scanner.cli.render import format_option, render
from scanner.schedule.jobs import scan_job
from scanner.schedule.loop import Fire, Schedule, Scheduler


@click.group("schedule")
def schedule_group() -> None:
    """Run scans on the configured cron schedule (for systemd or Kubernetes)."""


@schedule_group.command("run")
@click.option("--once", is_flag=True, help="Run one scan now and exit (exit codes as `sharescan scan`: 75 if "
                                          "another scan runs, 9 partial, 11 remediation stopped).")
@click.option("--full", is_flag=True, help="With --once: a full crawl instead of an incremental one.")
@click.option("--progress-interval", type=click.FloatRange(min=0.01), default=30.0, show_default=True,
              help="Seconds between progress log lines during each scan when stderr is not a terminal.")
@pass_app
def run_cmd(app: App, once: bool, full: bool, progress_interval: float) -> None:
    """Stay in the foreground: sleep until each [schedule] cron fire time and run a scan.

    SIGTERM or Ctrl-C exits cleanly. A scan that finds another one running is skipped.
    """
    import sys

    schedule = Schedule.from_settings(app.settings.schedule)
    progress = None
    if not sys.stderr.isatty():
        from scanner.ops.progress import LoggedProgress

        def progress() -> LoggedProgress:
            return LoggedProgress(progress_interval)

    from scanner.run import run_scan

    job = scan_job(app, run_scan, progress=progress)
    if once:
        from scanner.cli.scan import summary_line
        from scanner.ops.outcome import scan_exit_code
        from scanner.run import ScanResult

        result = job(full)  # errors (RunLockedError → 75) reach main and set the exit code
        if isinstance(result, ScanResult):
            click.echo(summary_line(result))
            code = scan_exit_code(result)  # 9 partial, 11 remediation stopped, 5 refused, as `sharescan scan`
            if code:
                raise click.exceptions.Exit(int(code))
        return
    scheduler = Scheduler(schedule, job)
    scheduler.install_signal_handlers()
    fire = schedule.next_fire(dt.datetime.now(dt.UTC))
    click.echo(f"sharescan schedule: next {fire.kind} scan at {fire.at.isoformat()}", err=True)
    stats = scheduler.run()
    click.echo(f"sharescan schedule: stopped after {stats.runs} scan(s) ({stats.succeeded} ok, "
               f"{stats.skipped_locked} skipped: locked, {stats.failed} failed)", err=True)


def fire_rows(fires: list[Fire]) -> list[dict[str, object]]:
    return [{"at": f.at.isoformat(), "utc": f.at.astimezone(dt.UTC), "kind": f.kind} for f in fires]


@schedule_group.command("next")
@click.option("--count", type=click.IntRange(1, 1000), default=5, show_default=True)
@format_option()
@pass_app
def next_cmd(app: App, count: int, fmt: str) -> None:
    """Print the next fire times (schedule.cron and schedule.full_scan_cron, in schedule.timezone)."""
    schedule = Schedule.from_settings(app.settings.schedule)
    fires = schedule.next_fires(dt.datetime.now(dt.UTC), count)
    render(fire_rows(fires), ["at", "utc", "kind"], fmt, title=f"next scans ({schedule.timezone})")


COMMANDS: list[click.Command] = [schedule_group]
