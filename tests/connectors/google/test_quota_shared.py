"""Google's per-user quota holds across processes: with the project bucket in Redis, each impersonated
user's bucket is in Redis too, so two scan/worker processes acting as one user share that user's budget.

Two pacers stand for two processes (each its own ``RedisRateLimiter``, one Redis); the waits are what
the buckets compute (nothing sleeps). Redis db 12 (``SHARESCAN_TEST_QUOTA_REDIS_URL`` to change it)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from scanner.connectors.google.quota import QuotaBudget, QuotaPacer, RateLimiter

URL = os.environ.get("SHARESCAN_TEST_QUOTA_REDIS_URL", "redis://127.0.0.1:6379/12")
USER, OTHER = "ann@example.org", "bob@example.org"
#: A project budget no test reaches (1,000 units/s) and one user's: 1 unit/s, a burst of 5.
BUDGET = QuotaBudget(project_units_per_minute=60_000, user_units_per_minute=60)


@pytest.fixture()
def key() -> Iterator[str]:
    pytest.importorskip("celery", reason="the celery extra is not installed")
    redis = pytest.importorskip("redis")
    try:
        client = redis.Redis.from_url(URL, socket_connect_timeout=2)
        client.ping()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"Redis at {URL} unreachable: {exc}")
    prefix = f"sharescan:test:{uuid.uuid4().hex}"
    yield prefix
    for k in client.scan_iter(f"{prefix}*"):
        client.delete(k)


def _process(key: str, slept: list[float]) -> QuotaPacer:
    from scanner.scan.celery_exec import RedisRateLimiter

    return QuotaPacer(BUDGET, sleep=slept.append, project=RedisRateLimiter(URL, BUDGET.project_units_per_minute,
                                                                           key=key))


def test_two_processes_acting_as_one_user_share_that_users_budget(key: str) -> None:
    slept_a: list[float] = []
    slept_b: list[float] = []
    a, b = _process(key, slept_a), _process(key, slept_b)
    assert a.acquire(5, USER) == 0.0  # the user's burst, spent by the first process
    waited = b.acquire(5, USER)  # the second process finds it spent: about 5 s at 1 unit/s
    assert waited > 2.0 and slept_b == [waited]
    assert b.acquire(5, OTHER) == 0.0  # another user's bucket is its own


def test_the_user_buckets_are_in_redis_under_a_hash_not_the_address(key: str) -> None:
    import redis

    _process(key, []).acquire(5, USER)
    keys = {k.decode() for k in redis.Redis.from_url(URL).scan_iter(f"{key}*")}
    assert len(keys) == 2 and key in keys  # the project's and the user's
    assert not any("@" in k or "ann" in k for k in keys)


def test_local_buckets_are_per_process() -> None:
    """What the shared buckets replace: each process's own user bucket lets both spend a full burst."""
    project = 60_000
    a = QuotaPacer(BUDGET, sleep=lambda _s: None, project=RateLimiter(project))
    b = QuotaPacer(BUDGET, sleep=lambda _s: None, project=RateLimiter(project))
    assert a.acquire(5, USER) == 0.0 and b.acquire(5, USER) == 0.0
