"""Quota: what each Drive call costs, the scanner's share of the project's budget, and the pacer.

ONE table holds the costs (``METHOD_COSTS``), from Google's published Drive API per-method quota
units (https://developers.google.com/workspace/drive/api/guides/limits#per-method-quota, the
2026 model): a read (``files.get``, ``permissions.get``...) costs 5, a list (``files.list``,
``permissions.list``, ``revisions.list``, ``changes.list``, ``drives.list``) 100, a download or
export 200, an edit (``files.update``, permission writes) 50, anything else 5. The limits from the
same page: 1,000,000 units per minute per project, 325,000 per minute per user (under domain-wide
delegation, per impersonated user), 400,000,000 per day per project.

The pacer's default is the project's real budget divided among the runs that share it
(``[limits] project_quota_units_per_minute / quota_shared_by``), and each impersonated user's
calls are paced to that user's limit divided the same way. ``quota_units_per_minute`` set
explicitly overrides the derived project share.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from scanner.config import LimitsSettings


class CallClass(StrEnum):
    """Google's cost classes."""

    READ = "read"
    LIST = "list"
    MEDIA = "media"  # a download (files.get alt=media) or an export
    EDIT = "edit"
    OTHER = "other"


#: Quota units per cost class (Google's published Drive API table, see the module docstring).
CLASS_COSTS: dict[CallClass, int] = {
    CallClass.READ: 5,
    CallClass.LIST: 100,
    CallClass.MEDIA: 200,
    CallClass.EDIT: 50,
    CallClass.OTHER: 5,
}

#: The class of each Drive method sharescan calls (googleapiclient ``methodId``).
METHOD_CLASSES: dict[str, CallClass] = {
    "drive.files.list": CallClass.LIST,
    "drive.files.get": CallClass.READ,
    "drive.files.export": CallClass.MEDIA,
    "drive.files.update": CallClass.EDIT,
    "drive.changes.list": CallClass.LIST,
    "drive.changes.getStartPageToken": CallClass.READ,
    "drive.drives.list": CallClass.LIST,
    "drive.drives.get": CallClass.READ,
    "drive.permissions.list": CallClass.LIST,
    "drive.permissions.get": CallClass.READ,
    "drive.permissions.create": CallClass.EDIT,
    "drive.permissions.update": CallClass.EDIT,
    "drive.permissions.delete": CallClass.EDIT,
    "drive.revisions.list": CallClass.LIST,
    "drive.revisions.get": CallClass.READ,
    "drive.revisions.update": CallClass.EDIT,
    "drive.about.get": CallClass.READ,
}

#: Quota units per API method, derived from the two tables above.
METHOD_COSTS: dict[str, int] = {method: CLASS_COSTS[cls] for method, cls in METHOD_CLASSES.items()}
#: A download (``files.get`` with ``alt=media``).
MEDIA_COST = CLASS_COSTS[CallClass.MEDIA]
#: Anything not listed (Directory API calls...): Google's "other" class.
DEFAULT_COST = CLASS_COSTS[CallClass.OTHER]
#: The ledger's name for a download (``files.get`` with ``alt=media``), kept apart from metadata reads.
MEDIA_METHOD = "drive.files.get[media]"

#: Google's published Drive API limits (units per minute).
PROJECT_UNITS_PER_MINUTE = 1_000_000
USER_UNITS_PER_MINUTE = 325_000


def method_cost(method_id: str | None, uri: str = "") -> int:
    if method_id == "drive.files.get" and "alt=media" in uri:
        return MEDIA_COST
    return METHOD_COSTS.get(method_id or "", DEFAULT_COST)


def ledger_method(method_id: str | None, uri: str = "") -> str:
    """The name a call is recorded under in the ledger (downloads apart from ``files.get`` reads)."""
    if method_id == "drive.files.get" and "alt=media" in uri:
        return MEDIA_METHOD
    return method_id or uri.split("?", 1)[0]


@dataclass(frozen=True)
class QuotaBudget:
    """The units per minute this scanner may spend: overall, and as any one impersonated user."""

    project_units_per_minute: int
    user_units_per_minute: int

    @classmethod
    def share(cls, *, project: int = PROJECT_UNITS_PER_MINUTE, user: int = USER_UNITS_PER_MINUTE,
              shared_by: int = 1, override: int | None = None) -> QuotaBudget:
        """``project`` and ``user`` divided among ``shared_by`` runs; ``override`` replaces the project share."""
        if shared_by < 1:
            raise ValueError("shared_by must be at least 1")
        per_project = override if override is not None else max(1, project // shared_by)
        return cls(project_units_per_minute=per_project,
                   user_units_per_minute=min(per_project, max(1, user // shared_by)))


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
        self.units_per_minute = units_per_minute
        self.rate = units_per_minute / 60.0
        self.capacity = max(self.rate * burst_seconds, 1.0)
        self._tokens = self.capacity
        self._sleep = sleep
        self._clock = clock
        self._last = clock()
        self._lock = threading.Lock()
        self.waited_seconds = 0.0

    def reserve(self, cost: int = 1) -> float:
        """Take ``cost`` units now; returns the seconds the caller must wait before using them."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= cost
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
            self.waited_seconds += wait
        return wait

    def acquire(self, cost: int = 1) -> float:
        """Take ``cost`` units, sleeping as long as needed; returns the seconds waited."""
        wait = self.reserve(cost)
        if wait > 0:
            self._sleep(wait)
        return wait


class Bucket(Protocol):
    """A token bucket as the pacer uses it (``RateLimiter`` here, a bucket in Redis for Celery workers)."""

    units_per_minute: int
    waited_seconds: float

    def reserve(self, cost: int = 1) -> float: ...


@runtime_checkable
class SharedBuckets(Protocol):
    """A project bucket kept outside this process that also keeps the per-user buckets, so that every
    process of an installation paces each impersonated user against one budget
    (``scanner.scan.celery_exec.RedisRateLimiter``)."""

    units_per_minute: int
    waited_seconds: float

    def reserve(self, cost: int = 1) -> float: ...
    def user_bucket(self, subject: str, units_per_minute: int) -> Bucket: ...


class QuotaPacer:
    """The project bucket plus one bucket per impersonated user, each at its share of Google's limit.

    With a ``project`` bucket that is :class:`SharedBuckets` (Redis), the user buckets are shared too;
    otherwise they are this process's own."""

    def __init__(self, budget: QuotaBudget, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, project: Bucket | None = None) -> None:
        self.budget = budget
        self._sleep = sleep
        self._clock = clock
        self.project: Bucket = project or RateLimiter(budget.project_units_per_minute, sleep=sleep, clock=clock)
        self._users: dict[str, Bucket] = {}
        self._lock = threading.Lock()

    @property
    def waited_seconds(self) -> float:
        return self.project.waited_seconds

    def _user(self, subject: str) -> Bucket | None:
        if not subject or self.budget.user_units_per_minute >= self.project.units_per_minute:
            return None  # the project share is already within one user's limit
        with self._lock:
            bucket = self._users.get(subject)
            if bucket is None:
                if isinstance(self.project, SharedBuckets):
                    bucket = self.project.user_bucket(subject, self.budget.user_units_per_minute)
                else:
                    bucket = RateLimiter(self.budget.user_units_per_minute, sleep=self._sleep, clock=self._clock)
                self._users[subject] = bucket
            return bucket

    def acquire(self, cost: int, subject: str = "") -> float:
        """Take ``cost`` units from the project's and ``subject``'s buckets; sleeps for the longer wait."""
        wait = self.project.reserve(cost)
        user = self._user(subject)
        if user is not None:
            wait = max(wait, user.reserve(cost))
        if wait > 0:
            self._sleep(wait)
        return wait


def budget_for(limits: LimitsSettings) -> QuotaBudget:
    """The pacer's budget from ``[limits]``: ``quota_units_per_minute`` when set, else the project's share."""
    return QuotaBudget.share(project=limits.project_quota_units_per_minute, user=limits.user_quota_units_per_minute,
                             shared_by=limits.quota_shared_by, override=limits.quota_units_per_minute)
