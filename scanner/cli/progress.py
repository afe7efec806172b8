"""The interactive scan display: one line per phase with bar, counts, elapsed and ETA, and a line of
crawl counters under it that is cut (not wrapped) to the terminal, so 80 columns keep bar and counts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, SpinnerColumn, Task, TextColumn
from rich.table import Column
from rich.text import Text

from scanner.drive.crawler import CrawlProgressSnapshot
from scanner.ops.progress import ProgressTracker, eta_seconds, format_duration

#: Short names for the phases, so the bar keeps its room at 80 columns.
PHASE_LABELS = {"crawling": "crawl", "analysing exposed files": "analyse"}
BAR_WIDTH = 24


class EtaColumn(ProgressColumn):
    """``42s ETA 3m12s``: the phase's elapsed time and the time left at its pace so far."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        if task.finished:
            return Text(f"{format_duration(elapsed)} done", no_wrap=True)
        total = int(task.total) if task.total else None
        eta = eta_seconds(int(task.completed), total, elapsed)
        return Text(f"{format_duration(elapsed)} ETA {format_duration(eta)}", no_wrap=True)


class ScanDisplay(Progress):
    """Rich progress whose rows are followed by one status line cut to the width."""

    status_line = ""

    def get_renderables(self) -> Iterable[RenderableType]:
        yield self.make_tasks_table(self.tasks)
        if self.status_line:
            yield Text(self.status_line, no_wrap=True, overflow="ellipsis", style="dim")


class RichScanProgress(ProgressTracker):
    """Feeds a :class:`ScanDisplay` from the tracker: a row per phase, crawl counters under them."""

    def __init__(self, display: ScanDisplay) -> None:
        super().__init__()
        self.display = display
        self.task: Any = display.add_task(PHASE_LABELS["crawling"], total=None)

    def _refresh(self) -> None:
        status = self.status()
        self.display.update(self.task, total=status.total, completed=status.done)

    def update(self, snapshot: CrawlProgressSnapshot) -> None:
        super().update(snapshot)
        self.display.status_line = (
            f"files {snapshot.files_seen:,} · exposed {snapshot.files_exposed:,} · API calls {snapshot.api_calls:,}"
            f" · {snapshot.files_per_second:,.0f} files/s · users {snapshot.users_done:,}"
            f" · shared drives {snapshot.drives_done:,}")
        self._refresh()

    def phase(self, name: str, total: int) -> None:
        status = self.status()
        self.display.update(self.task, total=status.total or status.done, completed=status.total or status.done)
        super().phase(name, total)
        self.task = self.display.add_task(PHASE_LABELS.get(name, name), total=total)

    def advance(self, amount: int = 1) -> None:
        super().advance(amount)
        self._refresh()


def scan_display(console: Console) -> ScanDisplay:
    columns = (SpinnerColumn(), TextColumn("[bold]{task.description}", table_column=Column(width=7, no_wrap=True)),
               BarColumn(bar_width=BAR_WIDTH), MofNCompleteColumn(), EtaColumn())
    return ScanDisplay(*columns, console=console)


@contextmanager
def rich_scan_progress(console: Console) -> Iterator[RichScanProgress]:
    """A live progress display on ``console`` for one scan."""
    with scan_display(console) as display:
        yield RichScanProgress(display)
