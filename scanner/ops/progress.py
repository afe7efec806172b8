"""Where a scan is, how fast it goes and when it will be done: one tracker for every display.

:class:`ProgressTracker` receives the scan's progress (crawl snapshots, then phases with a total) and
answers :meth:`ProgressTracker.status` — phase, done/total, rate and ETA — for the interactive display
and for :class:`LoggedProgress`, which logs a plain line every N seconds when nobody watches a
terminal (cron, systemd, Kubernetes), so a long run is never silent in ``journalctl``/``kubectl logs``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from scanner.drive.crawler import CrawlProgressSnapshot
from scanner.logs import CONTEXT, PROGRESS_LOGGER
from scanner.run import ScanProgress

log = logging.getLogger(PROGRESS_LOGGER)

CRAWL_PHASE = "crawling"


def format_duration(seconds: float | None) -> str:
    """``45s``, ``3m12s``, ``1h02m``; ``?`` when unknown."""
    if seconds is None:
        return "?"
    total = max(0, int(round(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def eta_seconds(done: int, total: int | None, elapsed: float) -> float | None:
    """Time left at the pace so far; None before anything is done or without a total."""
    if not total or done <= 0 or elapsed <= 0:
        return None
    if done >= total:
        return 0.0
    return elapsed * (total - done) / done


@dataclass(frozen=True)
class ProgressStatus:
    """One reading of the progress: what a display shows."""

    phase: str
    done: int
    total: int | None
    unit: str  # what done/total count: targets (users and shared drives) or files
    rate: float  # files per second in this phase
    elapsed_seconds: float  # in this phase
    eta_seconds: float | None
    details: dict[str, int] = field(default_factory=dict)

    @property
    def percent(self) -> float | None:
        return 100.0 * self.done / self.total if self.total else None

    def line(self) -> str:
        """``crawling: 12/100 targets (12%), 1,234 files/s, ETA 3m12s; files seen 45,678, ...``"""
        count = f"{self.done:,}/{self.total:,}" if self.total is not None else f"{self.done:,}"
        percent = f" ({self.percent:.0f}%)" if self.percent is not None else ""
        text = (f"{self.phase}: {count} {self.unit}{percent}, {self.rate:,.0f} files/s, "
                f"elapsed {format_duration(self.elapsed_seconds)}, ETA {format_duration(self.eta_seconds)}")
        if self.details:
            text += "; " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in self.details.items())
        return text

    def fields(self) -> dict[str, Any]:
        """The same reading as structured log fields."""
        return {"event": "progress", "phase": self.phase, "done": self.done, "total": self.total,
                "unit": self.unit, "files_per_second": round(self.rate, 1),
                "elapsed_seconds": round(self.elapsed_seconds, 1),
                "eta_seconds": None if self.eta_seconds is None else round(self.eta_seconds, 1), **self.details}


class ProgressTracker(ScanProgress):
    """The scan's progress, thread-safe (the crawl reports from its worker threads)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._phase = CRAWL_PHASE
        self._phase_started = clock()
        self._done = 0
        self._total: int | None = None
        self._crawl: CrawlProgressSnapshot | None = None

    def update(self, snapshot: CrawlProgressSnapshot) -> None:
        with self._lock:
            self._crawl = snapshot
            if self._phase == CRAWL_PHASE:
                self._done = snapshot.targets_done
                self._total = snapshot.targets_total or None

    def phase(self, name: str, total: int) -> None:
        with self._lock:
            self._phase = name
            self._phase_started = self._clock()
            self._done = 0
            self._total = total

    def advance(self, amount: int = 1) -> None:
        with self._lock:
            self._done += amount

    def status(self) -> ProgressStatus:
        with self._lock:
            elapsed = max(0.0, self._clock() - self._phase_started)
            crawl = self._crawl
            if self._phase == CRAWL_PHASE:
                rate = crawl.files_per_second if crawl is not None else 0.0
                details = {} if crawl is None else {"files_seen": crawl.files_seen, "exposed": crawl.files_exposed,
                                                    "api_calls": crawl.api_calls}
                unit = "targets"
            else:
                rate = self._done / elapsed if elapsed > 0 else 0.0
                details = {}
                unit = "files"
            return ProgressStatus(phase=self._phase, done=self._done, total=self._total, unit=unit, rate=rate,
                                  elapsed_seconds=elapsed, eta_seconds=eta_seconds(self._done, self._total, elapsed),
                                  details=details)


class LoggedProgress(ProgressTracker):
    """Logs the progress every ``interval`` seconds, and at each new phase (use as a context manager)."""

    def __init__(self, interval: float = 30.0, *, logger: logging.Logger = log,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock)
        self.interval = interval
        self.logger = logger
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="progress-log", daemon=True)
        self._run_id: int | None = None

    def emit(self) -> None:
        # the last line comes after the run has unbound its id from the log: it keeps naming the run
        self._run_id = CONTEXT.run_id or self._run_id
        status = self.status()
        self.logger.info(status.line(), extra={**status.fields(), "run_id": self._run_id})

    def phase(self, name: str, total: int) -> None:
        super().phase(name, total)
        self.emit()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.emit()

    def __enter__(self) -> LoggedProgress:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if exc_type is None:
            self.emit()
