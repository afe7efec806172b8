"""``sharescan scan``: one run (crawl → analyse → findings → remediation per policy → notify)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from scanner.cli.context import pass_app
from scanner.cli.render import dumps, format_option
from scanner.core.errors import ExitCode, SharescanError
from scanner.safetext import display

if TYPE_CHECKING:
    from scanner.app import App
    from scanner.run import ScanResult

log = logging.getLogger(__name__)

SEVERITY_CHOICES = ("critical", "high", "medium", "low", "info")


def summary_line(r: ScanResult) -> str:
    actions = ", ".join(f"{k} {v}" for k, v in sorted(r.actions.items())) or "none"
    line = (f"run {r.run_id} {r.status} ({r.kind}) in {r.elapsed_seconds:.1f}s: {r.files_seen:,} files seen, "
            f"{r.files_exposed:,} exposed, {r.files_analysed:,} analysed ({r.content_cache_hits:,} unchanged), "
            f"{r.files_not_analysed:,} not analysed, {r.files_pending:,} pending, {r.files_unreadable:,} unreadable, "
            f"{r.findings_new} new findings, {r.findings_active} active, "
            f"{r.findings_resolved} resolved; actions: {actions}; targets skipped {r.targets_skipped}, "
            f"failed {r.targets_failed}; {r.api_calls:,} API calls")
    if r.actions_unchanged:
        line += f"; {r.actions_unchanged} planned actions unchanged since recorded"
    if r.remediation_refused:
        line += f"; remediation refused: {r.remediation_refused}"
    if r.remediation_stopped:
        line += f"; remediation STOPPED: {r.remediation_stopped}"
    dating = r.exposure_dating or {}
    if dating.get("skipped"):
        line += f"; exposure dating skipped: {dating['skipped']}"
    elif dating.get("files"):
        sources = ", ".join(f"{k} {v}" for k, v in sorted((dating.get("by_source") or {}).items()))
        line += f"; exposures dated: {sources}"
    if r.posture:
        line += "; " + posture_summary(r.posture)
    return line


def posture_summary(posture: dict[str, Any]) -> str:
    """The posture step of a run in a few words (``ScanResult.posture``)."""
    status = posture.get("status")
    if status == "done":
        return (f"posture: {posture.get('active', 0)} failing settings ({posture.get('new', 0)} new, "
                f"{posture.get('resolved', 0)} resolved) in {posture.get('org_units', 0)} org units")
    return f"posture {status}: {posture.get('reason', '')}"


def log_summary(result: ScanResult, exit_code: int) -> None:
    """The run's summary as one log record (a JSON object with ``--log-format json``): counts only."""
    from scanner.logs import PROGRESS_LOGGER

    fields = {k: v for k, v in result.as_dict().items() if k != "api_calls_by_method"}
    logging.getLogger(PROGRESS_LOGGER).info(
        "scan summary: %s", summary_line(result),
        extra={"event": "summary", "run_id": result.run_id, "exit_code": int(exit_code), "summary": fields})


def progress_for(show: bool | None, interval: float) -> AbstractContextManager[Any]:
    """The rich display on a terminal, plain log lines every ``interval`` seconds otherwise, or nothing."""
    if show is False:
        return nullcontext()
    if sys.stderr.isatty():
        from rich.console import Console

        from scanner.cli.progress import rich_scan_progress

        return rich_scan_progress(Console(stderr=True))
    from scanner.ops.progress import LoggedProgress

    return LoggedProgress(interval)


@dataclass
class Outcome:
    """How the command ends: the run it made (if any) and its exit code (None until known)."""

    run_id: int | None = None
    exit_code: int | None = None


@contextmanager
def metrics_after(app: App, path: Path | None) -> Iterator[Outcome]:
    """Write the metrics file when the block ends, however it ends (an error sets the exit code it maps to)."""
    outcome = Outcome()
    try:
        yield outcome
    except SharescanError as exc:
        outcome.exit_code = exc.exit_code
        raise
    except KeyboardInterrupt:
        outcome.exit_code = int(ExitCode.INTERRUPTED)
        raise
    except Exception:
        outcome.exit_code = int(ExitCode.ERROR)
        raise
    finally:
        if path is not None:
            write_metrics(app, path, run_id=outcome.run_id, exit_code=outcome.exit_code)


def write_metrics(app: App, path: Path, *, run_id: int | None, exit_code: int | None) -> None:
    from scanner.ops.metrics import Family, render, scan_metrics, write_atomically

    try:
        with app.sessions() as session:
            text = scan_metrics(session, run_id=run_id, exit_code=exit_code)
    except Exception as exc:  # noqa: BLE001 - the database may be what failed; still say how the run ended
        log.warning("metrics file %s: database not readable (%s); writing the exit code only", path,
                    type(exc).__name__)
        text = render([Family("last_run_exit_code", "Exit code of the last scan (see `sharescan --help`).")
                       .add(exit_code if exit_code is not None else int(ExitCode.ERROR))])
    write_atomically(path, text)


ESTIMATE_COLUMNS = ("scan", "method", "calls", "units", "minimum_minutes")


def show_estimate(app: App, changed: float, fmt: str) -> None:
    """``--estimate``: one row per scan kind and method, then the scan's total and minimum time."""
    from scanner.cli.render import render
    from scanner.ops.estimate import estimate

    with app.sessions() as session:
        forecast = estimate(session, app.settings, changed_fraction=changed)
    if fmt == "json":
        click.echo(dumps(forecast.as_dict()))
        return
    rows: list[dict[str, Any]] = []
    for f in forecast.forecasts:
        rows += [{"scan": f.kind, "method": m, "calls": n, "units": f.units[m], "minimum_minutes": None}
                 for m, n in f.calls.items()]
        rows.append({"scan": f.kind, "method": "total", "calls": sum(f.calls.values()), "units": f.total_units,
                     "minimum_minutes": round(f.minimum_minutes, 2)})
    render(rows, ESTIMATE_COLUMNS, fmt, title=(
        f"forecast for {forecast.files:,} files, {forecast.users} users, {forecast.shared_drives} shared drives "
        f"at {forecast.project_units_per_minute:,} units/min ({forecast.user_units_per_minute:,} per user)"))


@click.command()
@click.option("--full", is_flag=True, help="Re-crawl everything instead of only what changed since the last run.")
@click.option("--apply/--dry-run", "apply", default=None,
              help="Enforce remediation for this run (--apply) or only record what would be done (--dry-run). "
                   "Default: [remediation] mode and each rule's mode.")
@click.option("--progress/--no-progress", "show_progress", default=None,
              help="Progress on stderr: a live display on a terminal, otherwise a plain log line every "
                   "--progress-interval seconds (default: on).")
@click.option("--progress-interval", type=click.FloatRange(min=0.01), default=30.0, show_default=True,
              help="Seconds between plain progress lines when stderr is not a terminal.")
@click.option("--fail-on", type=click.Choice(SEVERITY_CHOICES), default=None,
              help="Exit 10 when open findings at or above this severity remain after the run.")
@click.option("--metrics-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write Prometheus metrics here after the run (atomically; for node_exporter's textfile "
                   "collector, name it *.prom).")
@click.option("--estimate", is_flag=True,
              help="Scan nothing: forecast the quota units and the minimum time of a full and an incremental "
                   "scan from the stored inventory ([limits] quota budget), per API method.")
@click.option("--estimate-changed", type=click.FloatRange(min=0.0, max=100.0), default=1.0, show_default=True,
              help="With --estimate: the percentage of files changed for the incremental forecast.")
@click.option("--executor", type=click.Choice(["in-process", "celery"]), default=None,
              help="Where the crawl and the analysis run: this process (threads and an analysis process "
                   "pool) or `sharescan worker` processes over [executor] broker_url. Default: [executor] kind.")
@format_option(choices=("table", "json", "csv"))
@pass_app
def scan(app: App, full: bool, apply: bool | None, show_progress: bool | None, progress_interval: float,
         fail_on: str | None, metrics_file: Path | None, estimate: bool, estimate_changed: float,
         executor: str | None, fmt: str) -> None:
    """Scan the domain: crawl (incremental unless --full), analyse exposed files, record findings,
    remediate per policy and notify owners.

    \b
    Scopes: the scanning key needs drive.metadata.readonly, drive.readonly,
    admin.directory.user.readonly and admin.directory.domain.readonly (+ group.member.readonly
    with [google] groups); enforcing (--apply or mode = "enforce") also uses the remediation key
    (scope drive).
    \b
    Exit codes: 0 done; 9 partial (a user or drive failed, or files a rule needed could not be
    read: see `sharescan scans show RUN`); 10 open findings at or above --fail-on; 11 remediation
    stopped early (error-rate breaker, kill switch); 5 remediation refused by a safety limit;
    75 another scan (or remediate --apply / restore) holds the run lock (see `sharescan --help`).
    """
    if estimate:
        show_estimate(app, estimate_changed / 100.0, fmt)
        return
    if fmt == "csv":
        raise click.UsageError("--format csv: only with --estimate (a scan's result is table or json)")
    from scanner.ops.outcome import open_findings_at_or_above, scan_exit_code
    from scanner.run import run_scan

    with metrics_after(app, metrics_file) as outcome:
        with progress_for(show_progress, progress_interval) as progress:
            result = run_scan(app, full=full, apply=apply, progress=progress, executor=executor)
        outcome.run_id = result.run_id
        over = 0
        if fail_on is not None:
            with app.sessions() as session:
                over = open_findings_at_or_above(session, fail_on)
        code = scan_exit_code(result, findings_at_or_above=over)
        outcome.exit_code = int(code)
    if not sys.stderr.isatty():  # unattended: the log gets the summary too (JSON with --log-format json)
        log_summary(result, code)
    if fmt == "json":
        click.echo(dumps({**result.as_dict(), "exit_code": int(code)}))
    else:
        click.echo(summary_line(result))
    blocked = (result.domain_check or {}).get("blocked")
    if blocked:
        log.warning("enforcement stopped (nothing was changed in Drive): %s", display(blocked))
    if result.status == "partial":
        log.warning("partial run: a user or drive failed, or %d file(s) are pending and %d unreadable (see "
                    "`sharescan scans show %s`); nothing about them was resolved", result.files_pending,
                    result.files_unreadable, result.run_id)
    if result.remediation_stopped:
        click.echo(f"remediation stopped: {result.remediation_stopped}", err=True)
    if over:
        log.warning("%d open finding(s) at or above %s (exit %d)", over, fail_on, int(ExitCode.FINDINGS))
    if code != ExitCode.OK:
        raise click.exceptions.Exit(int(code))


COMMANDS: list[click.Command] = [scan]
