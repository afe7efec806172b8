"""Per-file serialisation of permission changes (docs/ARCHITECTURE.md, "Remediation safety").

Drive applies only the last of concurrent permission changes on one file, so within one process
every change to a file's sharing — remediation or restore — holds that file's lock. Share one
:class:`FileLocks` between the Remediator and the Restorer (``Remediator.restorer()`` does).
"""

from __future__ import annotations

import threading


class FileLocks:
    """One lock per file id."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def lock(self, file_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(file_id, threading.Lock())
