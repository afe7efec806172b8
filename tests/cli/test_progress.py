"""The progress shown during a scan: ETA from the pace so far, and an interactive layout that keeps bar,
counts and ETA on one line at 80 columns."""

from __future__ import annotations

import pytest
from rich.console import Console, Group

from scanner.cli.progress import RichScanProgress, scan_display
from scanner.drive.crawler import CrawlProgressSnapshot
from scanner.ops.progress import ProgressTracker, eta_seconds, format_duration

SNAPSHOT = CrawlProgressSnapshot(targets_total=120, targets_done=30, users_done=25, drives_done=5,
                                 files_seen=123_456, files_exposed=789, api_calls=45_678, elapsed_seconds=60.0)


@pytest.mark.parametrize(("done", "total", "elapsed", "eta"), [
    (30, 120, 60.0, 180.0), (0, 120, 60.0, None), (5, None, 10.0, None), (120, 120, 60.0, 0.0), (1, 4, 0.0, None),
])
def test_eta_at_the_pace_so_far(done: int, total: int | None, elapsed: float, eta: float | None) -> None:
    assert eta_seconds(done, total, elapsed) == eta


@pytest.mark.parametrize(("seconds", "text"), [(None, "?"), (0.4, "0s"), (45, "45s"), (192, "3m12s"),
                                               (3720, "1h02m")])
def test_durations(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


def test_tracker_reads_crawl_then_phases() -> None:
    now = [100.0]
    tracker = ProgressTracker(clock=lambda: now[0])
    tracker.update(SNAPSHOT)
    now[0] = 160.0
    status = tracker.status()
    assert (status.phase, status.done, status.total, status.unit) == ("crawling", 30, 120, "targets")
    assert status.eta_seconds == 180.0
    assert status.details == {"files_seen": 123_456, "exposed": 789, "api_calls": 45_678}
    tracker.phase("analysing exposed files", 40)
    now[0] = 170.0
    tracker.advance(10)
    status = tracker.status()
    assert (status.done, status.total, status.rate, status.eta_seconds) == (10, 40, 1.0, 30.0)
    assert status.line() == "analysing exposed files: 10/40 files (25%), 1 files/s, elapsed 10s, ETA 30s"


@pytest.mark.parametrize("width", [80, 60])
def test_interactive_display_keeps_bar_counts_and_eta_on_one_line(width: int) -> None:
    console = Console(width=width, record=True, color_system=None, force_terminal=True)
    display = scan_display(console)
    progress = RichScanProgress(display)
    progress.update(SNAPSHOT)
    console.print(Group(*display.get_renderables()))
    lines = console.export_text().splitlines()
    assert len(lines) == 2 and all(len(line) <= width for line in lines), lines
    assert "crawl" in lines[0] and "━" in lines[0] and "30/120" in lines[0] and "ETA" in lines[0]
    assert lines[1].startswith("files 123,456 · exposed 789")  # counters below, cut to the width
