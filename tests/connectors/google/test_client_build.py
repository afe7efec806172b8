"""The client builds the same requests for Google and for the emulator (only the root differs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.config import Settings
from scanner.connectors.google.client import DRIVE_READ_SCOPES, DRIVE_WRITE_SCOPES, GoogleClients, load_discovery
from scanner.connectors.google.quota import QuotaBudget, QuotaPacer, RateLimiter, budget_for, method_cost
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


def test_the_key_is_parsed_once_for_every_subject_and_scope(key_file: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from google.oauth2 import service_account

    parsed: list[object] = []
    original = service_account.Credentials.from_service_account_info

    def counting(info: dict[str, object], **kwargs: object) -> service_account.Credentials:
        parsed.append(info)
        return original(info, **kwargs)

    monkeypatch.setattr(service_account.Credentials, "from_service_account_info", counting)
    c = _clients(key_file, ENDPOINT)
    creds = [c.credentials(f"user{i}@tessera-labs.com", scopes) for i in range(5)
             for scopes in (DRIVE_READ_SCOPES, DRIVE_WRITE_SCOPES)]
    assert len(parsed) == 1
    assert len({id(x) for x in creds}) == 10 and len({id(x.signer) for x in creds}) == 1
    assert [(x._subject, tuple(x.scopes)) for x in creds[:2]] == [
        ("user0@tessera-labs.com", DRIVE_READ_SCOPES), ("user0@tessera-labs.com", DRIVE_WRITE_SCOPES)]
    assert all(x._token_uri == f"{ENDPOINT}/token" for x in creds)


@pytest.mark.parametrize(
    ("method", "uri", "cost"),
    [("drive.files.list", "", 100), ("drive.files.get", "x?alt=json", 5), ("drive.files.get", "x?alt=media", 200),
     ("drive.files.export", "", 200), ("drive.permissions.list", "", 100), ("drive.revisions.list", "", 100),
     ("drive.permissions.delete", "", 50), ("nope", "", 5)],
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



def test_nested_resources_are_built_once_and_still_build_requests(key_file: str) -> None:
    drive = _clients(key_file, ENDPOINT).drive("ana@tessera-labs.com")
    assert drive.files() is drive.files() and drive.permissions() is drive.permissions()
    request = drive.files().list(pageSize=10, fields="files(id)")
    assert request.methodId == "drive.files.list" and request.uri.startswith(f"{ENDPOINT}/drive/v3/files?")


def test_nested_resources_are_built_when_first_used(key_file: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from googleapiclient import discovery

    built: list[str] = []
    original = discovery.createMethod

    def counting(method_name: str, *args: object, **kwargs: object) -> object:
        built.append(method_name)
        return original(method_name, *args, **kwargs)

    monkeypatch.setattr(discovery, "createMethod", counting)
    drive = _clients(key_file, ENDPOINT).drive("ana@tessera-labs.com")
    before = len(built)
    assert before == len(load_discovery("drive.v3", ENDPOINT).get("methods", {}))  # no nested resource yet
    files = drive.files()
    after_files = len(built)
    assert after_files > before and drive.files() is files and len(built) == after_files
    drive.permissions()
    assert len(built) > after_files
    assert drive.permissions().list(fileId="F1").methodId == "drive.permissions.list"


def test_the_pacer_holds_each_user_to_their_share_of_the_limit() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    budget = QuotaBudget.share(project=6000, user=1200, shared_by=2)  # 3000/min overall, 600/min per user
    assert (budget.project_units_per_minute, budget.user_units_per_minute) == (3000, 600)
    pacer = QuotaPacer(budget, sleep=sleep, clock=lambda: now[0])
    assert pacer.acquire(50, "ana@x.com") == 0.0  # within both bursts (250 overall, 50 per user)
    assert pacer.acquire(50, "ana@x.com") == pytest.approx(5.0)  # ana's bucket: 10 units/s
    assert pacer.acquire(50, "ben@x.com") == 0.0  # another user is not held by ana's bucket


def test_the_default_budget_is_the_project_limit_shared_among_runs() -> None:
    limits = Settings.model_validate({}).limits
    assert budget_for(limits) == QuotaBudget(500_000, 162_500)
    assert budget_for(limits.model_copy(update={"quota_units_per_minute": 9000})).project_units_per_minute == 9000


class _Captured(Exception):
    pass


class _CapturingHttp:
    def __init__(self, http: object) -> None:
        self.http = http
        self.sent: list[tuple[str, dict[str, str]]] = []

    def request(self, uri: str, method: str = "GET", body: str = "", headers: dict[str, str] | None = None,
                **_: object) -> None:
        self.sent.append((body, dict(headers or {})))
        raise _Captured()


def _parts(body: str, content_type: str) -> list[tuple[str, str, list[tuple[str, str]], str]]:
    """A batch body as (Content-ID suffix, request line, inner headers, inner body) per part."""
    from email.parser import Parser
    from email.policy import compat32

    message = Parser(policy=compat32).parsestr(f"Content-Type: {content_type}\n\n{body}")
    out = []
    for part in message.get_payload():
        assert part["Content-Type"] == "application/http" and part["Content-Transfer-Encoding"] == "binary"
        head, _, inner = str(part.get_payload()).replace("\r\n", "\n").partition("\n\n")
        line, *header_lines = head.split("\n")
        headers = sorted((k.strip().lower(), v.strip()) for k, _, v in (h.partition(":") for h in header_lines))
        out.append((" ".join(part["Content-ID"].split())[-6:], line, headers, inner.rstrip("\n")))
    return out


def test_the_fast_batch_body_is_the_stock_body(key_file: str) -> None:
    from googleapiclient.http import BatchHttpRequest

    from scanner.connectors.google.client import FastBatchHttpRequest

    c = _clients(key_file, ENDPOINT)
    creds = c.credentials("ana@tessera-labs.com", DRIVE_WRITE_SCOPES)
    creds.token = "tok"  # no refresh: the Authorization header goes into each part
    creds.expiry = None
    drive = c.drive("ana@tessera-labs.com", write=True)
    requests = [drive.permissions().list(fileId="F1", fields="permissions(id,role)", pageSize=100),
                drive.revisions().list(fileId="F é 2", fields="revisions(id,published)"),
                drive.permissions().create(fileId="F3", body={"type": "user", "role": "reader",
                                                               "emailAddress": "zoë@example.org"},
                                           sendNotificationEmail=False)]
    bodies = []
    for cls in (BatchHttpRequest, FastBatchHttpRequest):
        batch = cls(batch_uri=c.batch_uri())
        batch._base_id = "fixed-base-id"
        for i, r in enumerate(requests):
            batch.add(r, request_id=str(i))
        http = _CapturingHttp(None)
        with pytest.raises(_Captured):
            batch._execute(http, batch._order, batch._requests)
        (body, headers), = http.sent
        bodies.append(_parts(body, headers["content-type"]))
    assert bodies[0] == bodies[1]
    assert [p[1].split(" ")[0] for p in bodies[1]] == ["GET", "GET", "POST"]
    assert ("authorization", "Bearer tok") in bodies[1][0][2]
    assert json.loads(bodies[1][2][3])["emailAddress"] == "zoë@example.org"
