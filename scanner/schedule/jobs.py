"""Glue between the scheduler and the scan orchestrator, and the run lock built from settings."""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable

from scanner.app import App
from scanner.errors import ConfigError
from scanner.schedule.lock import RunLock
from scanner.schedule.loop import Job


def run_lock_for(app: App, name: str = "scan", *, holder: str | None = None) -> RunLock:
    """The run lock configured by ``[schedule] stale_lock_seconds`` on the app's database."""
    return RunLock(app.engine, name, holder=holder,
                   stale_after=dt.timedelta(seconds=app.settings.schedule.stale_lock_seconds))


def scan_job(app: App) -> Job:
    """A job that calls ``scanner.run.run_scan(app, full=..., apply=None)``.

    The orchestrator takes the run lock itself (so ``sharescan scan`` and the scheduler
    exclude each other) and raises RunLockedError when another scan holds it.
    """
    try:
        module = importlib.import_module("scanner.run")
    except ModuleNotFoundError as exc:
        raise ConfigError(f"the scan orchestrator is not available ({exc})") from None
    run_scan: Callable[..., object] = module.run_scan

    def job(full: bool) -> object:
        return run_scan(app, full=full, apply=None)

    return job
