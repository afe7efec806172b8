"""Glue between the scheduler and the scan orchestrator (``run_lock_for`` lives in ``schedule.lock``:
the orchestrator imports the lock, the scheduler imports the orchestrator - one direction)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from scanner.app import App

__all__ = ["run_lock_for", "scan_job"]
from scanner.schedule.lock import run_lock_for
from scanner.schedule.loop import Job

log = logging.getLogger(__name__)


def scan_job(app: App, *, progress: Callable[[], AbstractContextManager[Any]] | None = None) -> Job:
    """A job that calls ``scanner.run.run_scan(app, full=..., apply=None)`` and logs its summary.

    The orchestrator takes the run lock itself (so ``sharescan scan`` and the scheduler
    exclude each other) and raises RunLockedError when another scan holds it. ``progress`` makes
    a progress reporter for each run (e.g. plain log lines when nobody watches a terminal).
    """
    from scanner import run

    def job(full: bool) -> object:
        with progress() if progress is not None else nullcontext() as reporter:
            result = run.run_scan(app, full=full, apply=None, progress=reporter)
        if isinstance(result, run.ScanResult):
            log.info("scan %s %s (%s): %s", result.run_id, result.status, result.kind, result.as_dict())
        return result

    return job
