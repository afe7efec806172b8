"""Every Google failure names what to change: the setting or the Admin console step. Retries are logged
at WARNING with the endpoint and the wait; a refused connection fails at once (no minute of silent
backoff)."""

from __future__ import annotations

import logging

import pytest

from scanner.config import Settings
from scanner.connectors.google.client import GoogleCallError, GoogleClients
from scanner.connectors.google.hints import DWD_CONSOLE
from scanner.emulator import Emulator, FaultRule

ADMIN = "admin@tessera-labs.com"
LIAM = "liam.novak@tessera-labs.com"


def test_refused_connection_fails_fast_and_names_the_endpoint_setting(emulator: Emulator, settings: Settings) -> None:
    slept: list[float] = []
    clients = GoogleClients(settings, sleep=slept.append)
    request = clients.drive(LIAM).files().list(pageSize=1)
    emulator.stop()
    with pytest.raises(GoogleCallError) as info:
        clients.execute(request)
    assert slept == [] and clients.stats.calls == 1
    message = str(info.value)
    assert f"connection refused by {settings.google.endpoint}" in message
    assert "[google] endpoint (SHARESCAN_GOOGLE_ENDPOINT)" in message


def test_each_retry_is_a_warning_with_endpoint_and_wait(emulator: Emulator, settings: Settings,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    clients = GoogleClients(settings.with_overrides(limits={"max_retries": 7}), sleep=lambda _s: None, rng=lambda: 0.5)
    emulator.set_faults([FaultRule(endpoint="drive.files.list", sequence=["503", "429", "ok"])])
    with caplog.at_level(logging.WARNING, logger="scanner.connectors.google.client"):
        clients.execute(clients.drive(LIAM).files().list(pageSize=1))
    host = settings.google.endpoint.removeprefix("http://")
    assert [r.getMessage() for r in caplog.records] == [
        f"retrying drive.files.list on {host} in 0.5s after backendError (retry 1 of 7)",
        f"retrying drive.files.list on {host} in 1.0s after rateLimitExceeded (retry 2 of 7)",
    ]


def test_wrong_admin_subject_names_the_setting(settings: Settings) -> None:
    clients = GoogleClients(settings, sleep=lambda _s: None)
    with pytest.raises(GoogleCallError) as info:
        clients.execute(clients.directory("nobody@tessera-labs.com").users().list(customer="my_customer"))
    message = str(info.value)
    assert info.value.reason == "invalid_grant"
    assert "(nobody@tessera-labs.com) must be an existing, active user" in message
    assert "[google] admin_subject" in message


def test_missing_delegated_scope_gives_the_admin_console_line(emulator: Emulator, settings: Settings) -> None:
    emulator.delegation.refuse("https://www.googleapis.com/auth/admin.directory.domain.readonly", ADMIN)
    clients = GoogleClients(settings, sleep=lambda _s: None)
    with pytest.raises(GoogleCallError) as info:
        clients.execute(clients.directory(ADMIN).domains().list(customer="my_customer"))
    assert info.value.reason == "unauthorized_client"
    assert (f"{DWD_CONSOLE}: client ID {emulator.key.client_id}, scopes "
            "https://www.googleapis.com/auth/admin.directory.user.readonly,"
            "https://www.googleapis.com/auth/admin.directory.domain.readonly") in str(info.value)


def test_directory_refused_to_a_non_admin_names_the_admin_role(settings: Settings) -> None:
    clients = GoogleClients(settings, sleep=lambda _s: None)
    with pytest.raises(GoogleCallError) as info:
        clients.execute(clients.directory(LIAM).users().list(customer="my_customer"))
    assert info.value.status == 403
    assert "[google] admin_subject must be a Workspace administrator" in str(info.value)
