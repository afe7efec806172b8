"""Glue between the scheduler and the scan orchestrator (passed in, never imported: no cycle)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from scanner.app import App
from scanner.schedule.loop import Job

log = logging.getLogger(__name__)


def scan_job(app: App, run_scan: Callable[..., Any], *,
             progress: Callable[[], AbstractContextManager[Any]] | None = None) -> Job:
    """A job that calls ``run_scan(app, full=..., apply=None, progress=...)`` (the orchestrator's
    ``scanner.run.run_scan``, passed in: the scheduler sits below the orchestrator) and logs its summary.

    The orchestrator takes the run lock itself (so ``sharescan scan`` and the scheduler
    exclude each other) and raises RunLockedError when another scan holds it. ``progress`` makes
    a progress reporter for each run (e.g. plain log lines when nobody watches a terminal).
    """

    def job(full: bool) -> object:
        with progress() if progress is not None else nullcontext() as reporter:
            result = run_scan(app, full=full, apply=None, progress=reporter)
        if hasattr(result, "as_dict"):
            log.info("scan %s %s (%s): %s", result.run_id, result.status, result.kind, result.as_dict())
        return result

    return job
