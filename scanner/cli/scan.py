"""``sharescan scan``: one run (crawl → analyse → findings → remediation per policy → notify)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from scanner.app import App
from scanner.cli.context import pass_app
from scanner.cli.render import dumps, format_option
from scanner.drive.crawler import CrawlProgressSnapshot
from scanner.errors import ExitCode
from scanner.run import ScanProgress, ScanResult, run_scan


class RichScanProgress(ScanProgress):
    """Crawl counters (users/drives done, files seen, exposed, API calls, rate), then a bar per phase."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.crawl = progress.add_task("crawling", total=None, stats="")
        self.current: Any = None

    def update(self, snapshot: CrawlProgressSnapshot) -> None:
        stats = (f"targets {snapshot.targets_done}/{snapshot.targets_total} · files {snapshot.files_seen:,} · "
                 f"exposed {snapshot.files_exposed:,} · API calls {snapshot.api_calls:,} · "
                 f"{snapshot.files_per_second:,.0f} files/s")
        self.progress.update(self.crawl, total=snapshot.targets_total or None, completed=snapshot.targets_done,
                             stats=stats)

    def phase(self, name: str, total: int) -> None:
        self.progress.update(self.crawl, completed=self.progress.tasks[self.crawl].total or 0)
        self.current = self.progress.add_task(name, total=total, stats="")

    def advance(self, amount: int = 1) -> None:
        if self.current is not None:
            self.progress.advance(self.current, amount)


@contextmanager
def rich_scan_progress(console: Console) -> Iterator[RichScanProgress]:
    """A live progress display on ``console`` for one scan."""
    columns = (SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("{task.fields[stats]}"))
    with Progress(*columns, console=console) as progress:
        yield RichScanProgress(progress)


def summary_line(r: ScanResult) -> str:
    actions = ", ".join(f"{k} {v}" for k, v in sorted(r.actions.items())) or "none"
    line = (f"run {r.run_id} {r.status} ({r.kind}) in {r.elapsed_seconds:.1f}s: {r.files_seen:,} files seen, "
            f"{r.files_exposed:,} exposed, {r.files_analysed:,} analysed ({r.content_cache_hits:,} unchanged), "
            f"{r.files_not_analysed:,} not analysed, {r.files_pending:,} pending, {r.files_unreadable:,} unreadable, "
            f"{r.findings_new} new findings, {r.findings_active} active, "
            f"{r.findings_resolved} resolved; actions: {actions}; targets skipped {r.targets_skipped}, "
            f"failed {r.targets_failed}; {r.api_calls:,} API calls")
    if r.remediation_refused:
        line += f"; remediation refused: {r.remediation_refused}"
    if r.remediation_stopped:
        line += f"; remediation STOPPED: {r.remediation_stopped}"
    return line


def exit_code(r: ScanResult) -> ExitCode:
    """11 when remediation stopped early, else 9 when the run was partial, else 0."""
    if r.remediation_stopped:
        return ExitCode.REMEDIATION_STOPPED
    if r.status == "partial":
        return ExitCode.PARTIAL
    return ExitCode.OK


@click.command()
@click.option("--full", is_flag=True, help="Re-crawl everything instead of only what changed since the last run.")
@click.option("--apply/--dry-run", "apply", default=None,
              help="Enforce remediation for this run (--apply) or only record what would be done (--dry-run). "
                   "Default: [remediation] mode and each rule's mode.")
@click.option("--progress/--no-progress", "show_progress", default=None,
              help="Show a progress display (default: when stderr is a terminal).")
@format_option(choices=("table", "json"))
@pass_app
def scan(app: App, full: bool, apply: bool | None, show_progress: bool | None, fmt: str) -> None:
    """Scan the domain: crawl (incremental unless --full), analyse exposed files, record findings,
    remediate per policy and notify owners.

    \b
    Scopes: the scanning key needs drive.metadata.readonly, drive.readonly,
    admin.directory.user.readonly and admin.directory.domain.readonly (+ group.member.readonly
    with [google] groups); enforcing (--apply or mode = "enforce") also uses the remediation key
    (scope drive). Exits 75 if another scan (or remediate --apply / restore) holds the run lock,
    9 if the run was partial (a target failed, or files a rule needed could not be read: see
    `sharescan scans show RUN`), 11 if remediation stopped early (error-rate breaker, kill switch).
    """
    console = Console(stderr=True)
    if show_progress is None:
        show_progress = sys.stderr.isatty()
    with rich_scan_progress(console) if show_progress else nullcontext() as progress:
        result = run_scan(app, full=full, apply=apply, progress=progress)
    if fmt == "json":
        click.echo(dumps(result.as_dict()))
    else:
        click.echo(summary_line(result))
    if result.status == "partial":
        console.print(f"[yellow]partial run: a user or drive failed, or {result.files_pending} file(s) are pending "
                      f"and {result.files_unreadable} unreadable (see `sharescan scans show {result.run_id}`); "
                      "nothing about them was resolved[/yellow]")
    if result.remediation_stopped:
        console.print(f"[red]remediation stopped: {result.remediation_stopped}[/red]")
    code = exit_code(result)
    if code != ExitCode.OK:
        raise click.exceptions.Exit(int(code))


COMMANDS: list[click.Command] = [scan]
