"""The client builds the same requests for Google and for the emulator (only the root differs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.config import Settings
from scanner.connectors.google.client import DRIVE_READ_SCOPES, DRIVE_WRITE_SCOPES, GoogleClients, load_discovery
from scanner.connectors.google.quota import RateLimiter, method_cost
from scanner.emulator.auth import ServiceAccountKey

ENDPOINT = "http://127.0.0.1:8765"


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("key") / "sa.json"
    ServiceAccountKey.generate(bits=1024).write(path, "https://oauth2.googleapis.com/token")
    return str(path)


def _clients(key_file: str, endpoint: str) -> GoogleClients:
    settings = Settings.model_validate({"google": {"service_account_file": key_file, "endpoint": endpoint}})
    return GoogleClients(settings)


@pytest.mark.parametrize(
    "make",
    [
        lambda c: c.drive("ana@tessera-labs.com").files().list(
            corpora="user", q="'me' in owners and trashed=false", pageSize=1000, fields="nextPageToken,files(id)",
            pageToken="t1"),
        lambda c: c.drive("ana@tessera-labs.com").permissions().list(
            fileId="F1", supportsAllDrives=True, pageSize=100, useDomainAdminAccess=True),
        lambda c: c.drive("ana@tessera-labs.com").changes().list(
            pageToken="42", includeRemoved=True, includeItemsFromAllDrives=True, supportsAllDrives=True,
            driveId="D1"),
        lambda c: c.drive("ana@tessera-labs.com").files().get_media(fileId="F1"),
        lambda c: c.drive("ana@tessera-labs.com").files().export(fileId="F1", mimeType="text/plain"),
        lambda c: c.drive("ana@tessera-labs.com", write=True).permissions().delete(fileId="F1", permissionId="P1"),
        lambda c: c.directory("admin@tessera-labs.com").users().list(
            customer="my_customer", maxResults=500, pageToken="x"),
        lambda c: c.directory("admin@tessera-labs.com").domains().list(customer="my_customer"),
    ],
)
def test_same_paths_and_params(key_file: str, make) -> None:  # type: ignore[no-untyped-def]
    google = make(_clients(key_file, ""))
    emulated = make(_clients(key_file, ENDPOINT))
    assert google.method == emulated.method
    assert google.methodId == emulated.methodId
    g_root = "https://www.googleapis.com/" if google.methodId.startswith("drive") else "https://admin.googleapis.com/"
    assert google.uri.startswith(g_root)
    assert emulated.uri.startswith(ENDPOINT + "/")
    assert google.uri[len(g_root):] == emulated.uri[len(ENDPOINT) + 1:]


def test_paths_match_the_emulator_layout(key_file: str) -> None:
    c = _clients(key_file, ENDPOINT)
    assert c.drive("a@x.com").files().list().uri.startswith(f"{ENDPOINT}/drive/v3/files?")
    assert c.directory("a@x.com").users().list().uri.startswith(f"{ENDPOINT}/admin/directory/v1/users")
    assert c.batch_uri("drive") == f"{ENDPOINT}/batch/drive/v3"
    assert _clients(key_file, "").batch_uri("drive") == "https://www.googleapis.com/batch/drive/v3"
    assert load_discovery("drive.v3", ENDPOINT)["mtlsRootUrl"] == ENDPOINT + "/"


def test_credentials_are_delegated_scoped_and_cached(key_file: str) -> None:
    c = _clients(key_file, ENDPOINT)
    read = c.credentials("ana@tessera-labs.com", DRIVE_READ_SCOPES)
    assert read is c.credentials("ana@tessera-labs.com", DRIVE_READ_SCOPES)
    assert read._subject == "ana@tessera-labs.com"
    assert read._token_uri == f"{ENDPOINT}/token"
    write = c.credentials("ana@tessera-labs.com", DRIVE_WRITE_SCOPES)
    assert write is not read and tuple(write.scopes) == DRIVE_WRITE_SCOPES
    assert c.drive("ana@tessera-labs.com") is c.drive("ana@tessera-labs.com")
    google = _clients(key_file, "")
    assert google.credentials("a@x.com", DRIVE_READ_SCOPES)._token_uri == "https://oauth2.googleapis.com/token"


@pytest.mark.parametrize(
    ("method", "uri", "cost"),
    [("drive.files.list", "", 100), ("drive.files.get", "x?alt=json", 5), ("drive.files.get", "x?alt=media", 200),
     ("drive.files.export", "", 200), ("drive.permissions.list", "", 5), ("nope", "", 10)],
)
def test_method_costs(method: str, uri: str, cost: int) -> None:
    assert method_cost(method, uri) == cost


def test_rate_limiter_paces_to_the_quota() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    limiter = RateLimiter(6000, burst_seconds=1.0, sleep=sleep, clock=lambda: now[0])  # 100 units/s
    assert limiter.acquire(100) == 0.0  # the burst
    assert limiter.acquire(100) == pytest.approx(1.0)
    assert limiter.acquire(50) == pytest.approx(0.5)
    now[0] += 10  # idle: refills only up to capacity
    assert limiter.acquire(100) == 0.0
    assert limiter.acquire(200) == pytest.approx(2.0)
    assert sum(slept) == pytest.approx(3.5)


def test_missing_key_file_is_a_config_error(tmp_path: Path) -> None:
    from scanner.core.errors import ConfigError

    c = GoogleClients(Settings.model_validate({"google": {"service_account_file": str(tmp_path / "none.json")}}))
    with pytest.raises(ConfigError, match="not found"):
        c.drive("a@x.com")
