"""The foreground scheduler (``sharescan schedule run``) for systemd or Kubernetes.

It computes the next fire time from ``schedule.cron`` and ``schedule.full_scan_cron`` in
``schedule.timezone`` (croniter; when both fire at the same minute the full scan wins), sleeps
interruptibly until then (SIGTERM/SIGINT → clean exit), and calls the injected job with
``full=True|False``. A job that finds another scan running (:class:`RunLockedError`) is logged
and skipped; any other failure is logged and the loop goes on to the next fire time. Fire times
missed while a job ran long are skipped, not queued (a missed full scan makes the next
scan a full one).
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from scanner.config import ScheduleSettings
from scanner.core.errors import ConfigError, RunLockedError, SharescanError

log = logging.getLogger(__name__)

#: The job: run one scan (full crawl or incremental). Its return value is only logged.
Job = Callable[[bool], object]

#: Longest single sleep: wall-clock jumps (suspend, NTP) are noticed within this.
MAX_SLEEP_SECONDS = 60.0


@dataclass(frozen=True)
class Fire:
    at: dt.datetime  # aware, in the schedule's time zone
    full: bool

    @property
    def kind(self) -> str:
        return "full" if self.full else "incremental"


class Schedule:
    """Incremental and full-scan cron expressions in one time zone."""

    def __init__(self, cron: str, full_cron: str = "", timezone: str = "UTC") -> None:
        for expr in (cron, full_cron):
            if expr and not croniter.is_valid(expr):
                raise ConfigError(f"[schedule] {expr!r} is not a cron expression")
        if not cron and not full_cron:
            raise ConfigError("[schedule] cron: empty, nothing to schedule")
        try:
            self.tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"[schedule] timezone: unknown time zone {timezone!r} (expected e.g. 'Europe/Paris')"
                              ) from None
        self.cron, self.full_cron, self.timezone = cron, full_cron, timezone

    @classmethod
    def from_settings(cls, settings: ScheduleSettings) -> Schedule:
        return cls(settings.cron, settings.full_scan_cron, settings.timezone)

    def _next(self, expr: str, after: dt.datetime) -> dt.datetime:
        value = croniter(expr, after.astimezone(self.tz)).get_next(dt.datetime)
        assert isinstance(value, dt.datetime)
        return value

    def next_fire(self, after: dt.datetime) -> Fire:
        """The first fire strictly after ``after`` (an aware datetime)."""
        if after.tzinfo is None:
            raise ValueError("after must be timezone-aware")
        candidates: list[Fire] = []
        if self.cron:
            candidates.append(Fire(self._next(self.cron, after), False))
        if self.full_cron:
            candidates.append(Fire(self._next(self.full_cron, after), True))
        earliest = min(c.at for c in candidates)
        return Fire(earliest, any(c.full for c in candidates if c.at == earliest))

    def fires(self, after: dt.datetime) -> Iterator[Fire]:
        while True:
            fire = self.next_fire(after)
            yield fire
            after = fire.at

    def next_fires(self, after: dt.datetime, count: int) -> list[Fire]:
        out: list[Fire] = []
        for fire in self.fires(after):
            if len(out) >= count:
                break
            out.append(fire)
        return out


class Clock(Protocol):
    def now(self) -> dt.datetime: ...

    def sleep(self, seconds: float, stop: threading.Event) -> None: ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        stop.wait(max(0.0, seconds))


@dataclass
class LoopStats:
    runs: int = 0
    succeeded: int = 0
    skipped_locked: int = 0
    failed: int = 0
    missed_fires: int = 0
    history: list[tuple[Fire, str]] = field(default_factory=list)


class Scheduler:
    """Runs ``job`` at each fire time until :meth:`stop` (or a signal) or ``max_runs``."""

    def __init__(self, schedule: Schedule, job: Job, *, clock: Clock | None = None,
                 stop_event: threading.Event | None = None) -> None:
        self.schedule = schedule
        self.job = job
        self.clock = clock or SystemClock()
        self.stop_event = stop_event or threading.Event()
        self.stats = LoopStats()

    def stop(self) -> None:
        self.stop_event.set()

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT end the loop cleanly (a running job is not interrupted here)."""

        def _handler(signum: int, _frame: FrameType | None) -> None:
            log.warning("schedule: %s received, stopping after the current step", signal.Signals(signum).name)
            self.stop()

        signal.signal(signal.SIGTERM, _handler)
        signal.signal(signal.SIGINT, _handler)

    def run_job(self, fire: Fire) -> str:
        """Run one job; return its outcome: ok | locked | failed. Never raises SharescanError."""
        self.stats.runs += 1
        log.info("schedule: starting %s scan (fire time %s)", fire.kind, fire.at.isoformat())
        try:
            result = self.job(fire.full)
        except RunLockedError as exc:
            self.stats.skipped_locked += 1
            log.warning("schedule: skipped %s scan: %s", fire.kind, exc)
            outcome = "locked"
        except SharescanError as exc:
            self.stats.failed += 1
            log.error("schedule: %s scan failed: %s", fire.kind, exc)
            outcome = "failed"
        except Exception:
            self.stats.failed += 1
            log.exception("schedule: %s scan crashed", fire.kind)
            outcome = "failed"
        else:
            self.stats.succeeded += 1
            log.info("schedule: %s scan finished: %s", fire.kind, result)
            outcome = "ok"
        self.stats.history.append((fire, outcome))
        return outcome

    def run(self, *, max_runs: int | None = None) -> LoopStats:
        """Sleep until each fire time and run the job; returns when stopped."""
        fire = self.schedule.next_fire(self.clock.now())
        log.info("schedule: next %s scan at %s", fire.kind, fire.at.isoformat())
        while not self.stop_event.is_set():
            remaining = (fire.at - self.clock.now()).total_seconds()
            if remaining > 0:
                self.clock.sleep(min(remaining, MAX_SLEEP_SECONDS), self.stop_event)
                continue
            self.run_job(fire)
            if max_runs is not None and self.stats.runs >= max_runs:
                break
            now = self.clock.now()
            following = self.schedule.next_fire(fire.at)
            missed_full = False
            while following.at <= now:  # fire times that passed while the job ran: skip them
                self.stats.missed_fires += 1
                missed_full = missed_full or following.full
                log.warning("schedule: missed %s scan at %s (previous scan still running)",
                            following.kind, following.at.isoformat())
                following = self.schedule.next_fire(following.at)
            # A skipped full crawl is not lost: the next scan becomes a full one.
            fire = Fire(following.at, following.full or missed_full)
            log.info("schedule: next %s scan at %s", fire.kind, fire.at.isoformat())
        return self.stats
