"""Glue between the scheduler and the scan orchestrator, and the run lock built from settings."""

from __future__ import annotations

import datetime as dt
import logging

from scanner.app import App
from scanner.schedule.lock import RunLock
from scanner.schedule.loop import Job

log = logging.getLogger(__name__)


def run_lock_for(app: App, name: str = "scan", *, holder: str | None = None) -> RunLock:
    """The run lock configured by ``[schedule] stale_lock_seconds`` on the app's database."""
    return RunLock(app.engine, name, holder=holder,
                   stale_after=dt.timedelta(seconds=app.settings.schedule.stale_lock_seconds))


def scan_job(app: App) -> Job:
    """A job that calls ``scanner.run.run_scan(app, full=..., apply=None)`` and logs its summary.

    The orchestrator takes the run lock itself (so ``sharescan scan`` and the scheduler
    exclude each other) and raises RunLockedError when another scan holds it.
    """
    from scanner import run

    def job(full: bool) -> object:
        result = run.run_scan(app, full=full, apply=None)
        if isinstance(result, run.ScanResult):
            log.info("scan %s %s (%s): %s", result.run_id, result.status, result.kind, result.as_dict())
        return result

    return job
