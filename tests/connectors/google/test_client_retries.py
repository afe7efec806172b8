"""Retry policy and batches against the emulator's fault injection (real googleapiclient)."""

from __future__ import annotations

import httplib2
import pytest
from googleapiclient.errors import HttpError

from scanner.config import Settings
from scanner.connectors.google.client import RETRY_AFTER_CAP_SECONDS, GoogleCallError, GoogleClients
from scanner.emulator import Emulator, FaultRule

LIAM = "liam.novak@tessera-labs.com"


def _list(clients: GoogleClients) -> object:
    return clients.drive(LIAM).files().list(pageSize=5, fields="files(id)")


@pytest.mark.parametrize(
    ("sequence", "calls"),
    [(["429", "ok"], 2), (["503", "500", "ok"], 3), (["rateLimitExceeded", "userRateLimitExceeded", "ok"], 3),
     # below our counter: httplib2 re-sends once on a dropped connection, AuthorizedHttp refreshes on 401
     (["drop", "ok"], 1), (["expire_token", "ok"], 1), (["drop", "drop", "ok"], 2)],
)
def test_transient_errors_are_retried(emulator: Emulator, settings: Settings, sequence: list[str],
                                      calls: int) -> None:
    slept: list[float] = []
    clients = GoogleClients(settings, sleep=slept.append)
    emulator.set_faults([FaultRule(endpoint="drive.files.list", sequence=sequence)])
    body = clients.execute(_list(clients))  # type: ignore[arg-type]
    assert len(body["files"]) == 5
    assert clients.stats.calls == calls
    assert all(0 <= s <= 64 for s in slept)


@pytest.mark.parametrize(("kind", "status", "reason"), [("sharingRateLimitExceeded", 403, "sharingRateLimitExceeded")])
def test_non_retryable_errors_raise_typed(emulator: Emulator, clients: GoogleClients, kind: str, status: int,
                                          reason: str) -> None:
    emulator.set_faults([FaultRule(endpoint="drive.files.list", sequence=[kind, "ok"])])
    with pytest.raises(GoogleCallError) as info:
        clients.execute(_list(clients))  # type: ignore[arg-type]
    assert (info.value.status, info.value.reason, info.value.method) == (status, reason, "drive.files.list")
    assert clients.stats.calls == 1


def test_gives_up_after_max_retries(emulator: Emulator, settings: Settings) -> None:
    clients = GoogleClients(settings.with_overrides(limits={"max_retries": 2}), sleep=lambda _s: None)
    emulator.set_faults([FaultRule(endpoint="drive.files.list", kind="503")])
    with pytest.raises(GoogleCallError) as info:
        clients.execute(_list(clients))  # type: ignore[arg-type]
    assert info.value.status == 503 and clients.stats.calls == 3


def test_batch_retries_only_failed_parts(emulator: Emulator, clients: GoogleClients) -> None:
    drive = clients.drive(LIAM)
    ids = [f["id"] for f in clients.execute(drive.files().list(pageSize=6, fields="files(id)"))["files"]]
    emulator.set_faults([FaultRule(endpoint="drive.permissions.list", sequence=["429", "ok", "503", "ok"])])
    emulator.reset_counters()
    results = clients.execute_batch([drive.permissions().list(fileId=i, fields="permissions(id)") for i in ids])
    assert all(r.ok for r in results) and len(results) == len(ids)
    assert emulator.counters["batch"] == 2
    assert emulator.counters["drive.permissions.list"] == len(ids) + 2


def test_a_dropped_batch_part_is_re_sent_alone(emulator: Emulator, clients: GoogleClients) -> None:
    """One dropped part costs one more call, not a re-send of the whole batch."""
    drive = clients.drive(LIAM)
    ids = [f["id"] for f in clients.execute(drive.files().list(pageSize=6, fields="files(id)"))["files"]]
    emulator.set_faults([FaultRule(endpoint="drive.permissions.list", sequence=["ok", "ok", "drop", "ok"])])
    emulator.reset_counters()
    results = clients.execute_batch([drive.permissions().list(fileId=i, fields="permissions(id)") for i in ids])
    assert all(r.ok for r in results) and len(results) == len(ids) == 6
    assert (emulator.counters["batch"], emulator.counters["drive.permissions.list"]) == (2, 7)


def test_batches_are_split_at_100(emulator: Emulator, clients: GoogleClients) -> None:
    drive = clients.drive(LIAM)
    emulator.reset_counters()
    results = clients.execute_batch([drive.about().get(fields="user") for _ in range(250)])
    assert len(results) == 250 and all(r.ok for r in results)
    assert emulator.counters["batch"] == 3


def test_suspended_user_token_is_a_typed_error(clients: GoogleClients) -> None:
    with pytest.raises(GoogleCallError) as info:
        clients.execute(clients.drive("sam.ortiz@tessera-labs.com").files().list(pageSize=1))
    assert info.value.status is None and info.value.reason in ("invalid_grant", "unauthorized_client")


@pytest.mark.parametrize(
    ("retry_after", "delay"),
    [("30", 30.0), ("-5", 0.0), ("100000", RETRY_AFTER_CAP_SECONDS), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
     # malformed: the jittered exponential backoff (rng 0.5 → half of 2**attempt seconds)
     ("soon", 2.0), ("", 2.0)],
)
def test_retry_after_header_sets_the_delay(settings: Settings, retry_after: str, delay: float) -> None:
    clients = GoogleClients(settings, rng=lambda: 0.5)
    resp = httplib2.Response({"status": "429", "retry-after": retry_after})
    assert clients._backoff(2, HttpError(resp, b"{}")) == delay
