"""Quota pacing: a thread-safe token bucket shared by every worker, and per-method costs.

Google meters the Drive API in quota units per minute (docs/ARCHITECTURE.md, "Google's quotas":
1,000,000/min/project, 325,000/min/user; ``files.list`` 100 units, a download or export 200, ``files.get`` 5). Costs of
methods Google does not publish individually are our conservative estimates (marked below).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: Quota units per API method (googleapiclient ``methodId``).
METHOD_COSTS: dict[str, int] = {
    "drive.files.list": 100,
    "drive.files.get": 5,
    "drive.files.export": 200,
    "drive.changes.list": 100,  # estimate: a listing, like files.list
    "drive.changes.getStartPageToken": 5,  # estimate: a get
    "drive.drives.list": 100,  # estimate: a listing
    "drive.drives.get": 5,
    "drive.permissions.list": 5,  # estimate: a small per-file get
    "drive.permissions.get": 5,
    "drive.revisions.get": 5,
    "drive.revisions.list": 5,
    "drive.about.get": 5,
}
#: A download (``files.get`` with ``alt=media``).
MEDIA_COST = 200
#: Anything not listed (writes, Directory API calls...).
DEFAULT_COST = 10


def method_cost(method_id: str | None, uri: str = "") -> int:
    if method_id == "drive.files.get" and "alt=media" in uri:
        return MEDIA_COST
    return METHOD_COSTS.get(method_id or "", DEFAULT_COST)


class RateLimiter:
    """Token bucket: ``units_per_minute`` refilled continuously, bursts up to ``burst_seconds``.

    ``acquire`` reserves the units immediately (the balance may go negative) and sleeps for the
    deficit outside the lock, so waiters are served in arrival order and never spin.
    """

    def __init__(
        self,
        units_per_minute: int,
        *,
        burst_seconds: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if units_per_minute <= 0:
            raise ValueError("units_per_minute must be positive")
        self.rate = units_per_minute / 60.0
        self.capacity = max(self.rate * burst_seconds, 1.0)
        self._tokens = self.capacity
        self._sleep = sleep
        self._clock = clock
        self._last = clock()
        self._lock = threading.Lock()
        self.waited_seconds = 0.0

    def acquire(self, cost: int = 1) -> float:
        """Take ``cost`` units, sleeping as long as needed; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= cost
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
            self.waited_seconds += wait
        if wait > 0:
            self._sleep(wait)
        return wait
