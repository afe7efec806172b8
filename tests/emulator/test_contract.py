"""Contract tests: the real googleapiclient + google-auth (service account + with_subject) against the emulator."""

from __future__ import annotations

import io
import json
import threading

import httplib2
import pytest
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaIoBaseDownload

from scanner.emulator import Emulator, FaultRule
from scanner.emulator.seeds.demo import (
    ADMIN,
    CLIENT_DELIVERY,
    DELIVERY_GROUP,
    EXPECTED,
    EXTERNAL_USER,
    JONAS,
    LIAM,
    MAYA,
    OPERATIONS,
    PRIYA,
)
from scanner.emulator.state import mutate

from .conftest import DRIVE_RO

ID = {k: v.file_id for k, v in EXPECTED.items()}


def reason(exc: HttpError) -> str:
    return json.loads(exc.content)["error"]["errors"][0]["reason"]


def list_all(drive, **kw):
    items, token = [], None
    while True:
        resp = drive.files().list(pageToken=token, **kw).execute()
        items.extend(resp.get("files", []))
        token = resp.get("nextPageToken")
        if not token:
            return items


# ---- auth -------------------------------------------------------------------------------------
def test_token_flow_with_subject_acts_as_user(client, emulator):
    about = client(subject=MAYA).about().get(fields="user(emailAddress,me)").execute()
    assert about == {"user": {"emailAddress": MAYA, "me": True}}
    assert emulator.counters["oauth.token"] == 1


def test_missing_token_gives_google_401(emulator):
    http = httplib2.Http(proxy_info=None)
    resp, content = http.request(emulator.endpoint + "/drive/v3/files")
    body = json.loads(content)
    assert resp.status == 401
    assert body["error"]["status"] == "UNAUTHENTICATED"
    assert body["error"]["errors"][0]["reason"] == "authError"


def test_wrong_key_is_refused(emulator):
    from google.auth.exceptions import RefreshError

    from scanner.emulator import ServiceAccountKey

    from .conftest import build_client

    other = ServiceAccountKey.generate(bits=1024).info(emulator.token_uri)
    other["client_email"] = emulator.key.client_email
    drive = build_client("drive", emulator.endpoint, other, MAYA, DRIVE_RO)
    with pytest.raises(RefreshError):
        drive.files().list().execute()


def test_suspended_user_cannot_be_impersonated(client):
    from google.auth.exceptions import RefreshError

    with pytest.raises(RefreshError, match="invalid_grant"):
        client(subject="sam.ortiz@tessera-labs.com").files().list().execute()


def test_readonly_scope_refuses_writes(client):
    drive = client(subject=MAYA, scopes=DRIVE_RO)
    drive.files().get(fileId=ID["roster_sheet"]).execute()
    with pytest.raises(HttpError) as err:
        drive.permissions().delete(fileId=ID["roster_sheet"], permissionId="anyoneWithLink").execute()
    assert err.value.status_code == 403 and reason(err.value) == "insufficientPermissions"


def test_expired_tokens_are_refreshed_transparently(client, emulator):
    drive = client(subject=MAYA)
    drive.files().list(pageSize=1).execute()
    assert emulator.expire_tokens() >= 1
    drive.files().list(pageSize=1).execute()
    assert emulator.counters["oauth.token"] == 2


# ---- directory --------------------------------------------------------------------------------
def test_users_list_paging_and_fields(client):
    admin = client("admin", subject=ADMIN)
    first = admin.users().list(customer="my_customer", maxResults=4, orderBy="email").execute()
    assert len(first["users"]) == 4 and "nextPageToken" in first
    rest = admin.users().list(customer="my_customer", maxResults=4, orderBy="email",
                              pageToken=first["nextPageToken"]).execute()
    users = first["users"] + rest["users"]
    assert [u["primaryEmail"] for u in users] == sorted(u["primaryEmail"] for u in users)
    sam = next(u for u in users if u["primaryEmail"].startswith("sam."))
    assert sam["suspended"] is True and sam["orgUnitPath"] == "/Former staff"
    slim = admin.users().list(domain="tessera-labs.com", fields="users(primaryEmail,isAdmin)").execute()
    assert slim["users"][0] == {"primaryEmail": ADMIN, "isAdmin": True}
    domains = admin.domains().list(customer="my_customer").execute()
    assert {d["domainName"] for d in domains["domains"]} >= {"tessera-labs.com"}


def test_users_list_needs_admin(client):
    with pytest.raises(HttpError) as err:
        client("admin", subject=MAYA).users().list(customer="my_customer").execute()
    assert err.value.status_code == 403 and reason(err.value) == "forbidden"


GROUP_RO = ["https://www.googleapis.com/auth/admin.directory.group.member.readonly"]


def test_members_list_paging_nesting_and_errors(client, emulator: Emulator):
    emulator.workspace.add_group("leads@tessera-labs.com", "Leads", [DELIVERY_GROUP, PRIYA, "ext@partner.example"])
    admin = client("admin", subject=ADMIN, scopes=GROUP_RO)
    direct = admin.members().list(groupKey="leads@tessera-labs.com").execute()
    assert direct["kind"] == "admin#directory#members"
    assert [(m["email"], m["type"]) for m in direct["members"]] == [
        (DELIVERY_GROUP, "GROUP"), (PRIYA, "USER"), ("ext@partner.example", "USER")]
    first = admin.members().list(groupKey="leads@tessera-labs.com", includeDerivedMembership=True,
                                 maxResults=4, fields="nextPageToken,members(email)").execute()
    rest = admin.members().list(groupKey="leads@tessera-labs.com", includeDerivedMembership=True,
                                maxResults=4, fields="nextPageToken,members(email)",
                                pageToken=first["nextPageToken"]).execute()
    assert set(first) == {"members", "nextPageToken"} and set(rest) == {"members"}
    assert [m["email"] for m in first["members"] + rest["members"]] == [
        DELIVERY_GROUP, PRIYA, "ext@partner.example", MAYA, LIAM, JONAS]
    with pytest.raises(HttpError) as err:
        admin.members().list(groupKey="nobody@tessera-labs.com").execute()
    assert err.value.status_code == 404 and reason(err.value) == "notFound"
    with pytest.raises(HttpError) as err:  # the user-directory scope alone does not read groups
        client("admin", subject=ADMIN).members().list(groupKey=DELIVERY_GROUP).execute()
    assert err.value.status_code == 403


# ---- files ------------------------------------------------------------------------------------
def test_files_list_default_fields_and_masks(client):
    drive = client(subject=MAYA)
    resp = drive.files().list(pageSize=2).execute()
    assert set(resp) == {"kind", "incompleteSearch", "nextPageToken", "files"}
    assert set(resp["files"][0]) == {"kind", "id", "name", "mimeType"}
    masked = drive.files().list(pageSize=2, fields="files(id,owners(emailAddress))").execute()
    assert set(masked) == {"files"}  # nextPageToken only when asked for
    assert masked["files"][0]["owners"] == [{"emailAddress": MAYA}]
    with pytest.raises(HttpError) as err:
        drive.files().list(fields="files(idd)").execute()
    assert err.value.status_code == 400


def test_files_list_paging_caps_and_visibility(client):
    drive = client(subject=MAYA)
    names = {f["name"] for f in list_all(drive, pageSize=3, fields="nextPageToken,files(name)")}
    assert "Contractor roster — March 2026" in names
    assert "Client brief — KESTREL (internal copy)" in names  # via delivery-team group
    assert "Team offsite — shakshuka recipe" not in names  # anyone-with-link, but not Maya's
    assert "Client brief — KESTREL" not in names


def test_files_list_query_parser(client):
    drive = client(subject=LIAM)
    q = ("mimeType = 'application/vnd.google-apps.document' and not name contains 'internal' "
         "and (trashed = false or 'x' in parents) and modifiedTime > '2026-01-01T00:00:00'")
    names = {f["name"] for f in list_all(drive, q=q)}
    assert "Client brief — KESTREL" in names and "Client brief — KESTREL (internal copy)" not in names
    owned = list_all(drive, q=f"'{LIAM}' in owners and visibility = 'anyoneWithLink'", fields="files(name)")
    assert {f["name"] for f in owned} == {"KESTREL_statement_of_work.pdf"}
    # 'me' stands for the caller, as in Drive's query language.
    mine = list_all(drive, q="'me' in owners and visibility = 'anyoneWithLink'", fields="files(name)")
    assert mine == owned
    kids = list_all(client(subject=MAYA), q=f"'{ID['recruiting_folder']}' in parents")
    assert [f["name"] for f in kids] == ["Candidate shortlist"]
    with pytest.raises(HttpError) as err:
        drive.files().list(q="name contains").execute()
    assert err.value.status_code == 400 and reason(err.value) == "invalid"


def test_shared_drive_listing_and_permissions(client):
    drive = client(subject=LIAM)
    with pytest.raises(HttpError):
        drive.files().list(corpora="drive", driveId=CLIENT_DELIVERY).execute()
    files = list_all(drive, corpora="drive", driveId=CLIENT_DELIVERY, includeItemsFromAllDrives=True,
                     supportsAllDrives=True, fields="nextPageToken,files(id,name,driveId,permissions)")
    notes = next(f for f in files if f["id"] == ID["kestrel_qa_notes"])
    assert notes["driveId"] == CLIENT_DELIVERY and "permissions" not in notes
    perms = drive.permissions().list(fileId=ID["kestrel_qa_notes"], supportsAllDrives=True,
                                     fields="permissions(id,type,role,permissionDetails)").execute()["permissions"]
    anyone = next(p for p in perms if p["type"] == "anyone")
    assert anyone["permissionDetails"] == [{"permissionType": "file", "role": "reader", "inherited": True,
                                            "inheritedFrom": ID["kestrel_folder"]}]
    with pytest.raises(HttpError) as err:
        drive.permissions().delete(fileId=ID["kestrel_qa_notes"], permissionId=anyone["id"],
                                   supportsAllDrives=True).execute()
    assert reason(err.value) == "cannotModifyInheritedTeamDrivePermission"
    # without supportsAllDrives the item does not exist
    with pytest.raises(HttpError) as err:
        drive.files().get(fileId=ID["kestrel_qa_notes"]).execute()
    assert err.value.status_code == 404 and reason(err.value) == "notFound"


def test_drives_list_and_domain_admin_access(client):
    assert {d["name"] for d in client(subject=LIAM).drives().list().execute()["drives"]} == {"Client Delivery"}
    admin = client(subject=ADMIN)
    all_drives = admin.drives().list(useDomainAdminAccess=True).execute()["drives"]
    assert {d["id"] for d in all_drives} == {CLIENT_DELIVERY, OPERATIONS}
    members = admin.permissions().list(fileId=CLIENT_DELIVERY, useDomainAdminAccess=True, supportsAllDrives=True,
                                       fields="permissions(emailAddress,role)").execute()["permissions"]
    assert {"emailAddress": LIAM, "role": "organizer"} in members
    assert admin.drives().get(driveId=CLIENT_DELIVERY, useDomainAdminAccess=True).execute()["name"]
    with pytest.raises(HttpError) as err:
        client(subject=MAYA).drives().list(useDomainAdminAccess=True).execute()
    assert err.value.status_code == 403


def test_files_get_fields_and_404(client):
    drive = client(subject=MAYA)
    f = drive.files().get(fileId=ID["roster_csv"], fields="id,size,md5Checksum,owners,permissions(type,role),"
                                                        "capabilities(canShare),webViewLink").execute()
    assert int(f["size"]) > 0 and len(f["md5Checksum"]) == 32 and f["capabilities"] == {"canShare": True}
    assert {"type": "anyone", "role": "reader"} in f["permissions"]
    # anyone-with-link: others can open it by id but do not see the permissions
    other = client(subject=PRIYA).files().get(fileId=ID["roster_csv"], fields="id,permissions").execute()
    assert other == {"id": ID["roster_csv"]}
    with pytest.raises(HttpError) as err:
        client(subject=PRIYA).files().get(fileId=ID["client_brief_internal"]).execute()
    assert err.value.status_code == 404 and reason(err.value) == "notFound"
    assert json.loads(err.value.content)["error"]["status"] == "NOT_FOUND"
    sc = client(subject=PRIYA).files().get(fileId=ID["one_pager_shortcut"], fields="shortcutDetails").execute()
    assert sc["shortcutDetails"]["targetId"] == ID["marketing_one_pager"]


def test_export_and_download_with_range(client, emulator):
    drive = client(subject=MAYA)
    csv = drive.files().export(fileId=ID["roster_sheet"], mimeType="text/csv").execute()
    assert csv.splitlines()[0] == b"Name,Email,Phone,Hourly rate (USD),Project"
    text = client(subject=LIAM).files().export(fileId=ID["client_brief_published"], mimeType="text/plain").execute()
    assert "Project KESTREL" in text.decode("utf-8-sig")
    xlsx = drive.files().export(fileId=ID["roster_sheet"], mimeType=(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")).execute()
    assert xlsx[:2] == b"PK"
    buf = io.BytesIO()
    dl = MediaIoBaseDownload(buf, drive.files().get_media(fileId=ID["roster_xlsx"]), chunksize=1000)
    done = False
    while not done:
        _, done = dl.next_chunk()
    assert buf.getvalue() == emulator.workspace.files[ID["roster_xlsx"]].content
    assert emulator.counters["drive.files.download"] > 1
    with pytest.raises(HttpError) as err:
        drive.files().get_media(fileId=ID["roster_sheet"]).execute()
    assert reason(err.value) == "fileNotDownloadable"
    emulator.settings.export_limit = 100
    with pytest.raises(HttpError) as err:
        drive.files().export(fileId=ID["roster_sheet"], mimeType="text/csv").execute()
    assert err.value.status_code == 403 and reason(err.value) == "exportSizeLimitExceeded"


def test_export_of_a_shared_drive_doc_needs_no_supports_all_drives(client):
    # files.export has no supportsAllDrives parameter (see the discovery document): a member can
    # export a shared-drive Doc without it, while files.get without it is a 404.
    member = client(subject=LIAM)
    text = member.files().export(fileId=ID["kestrel_qa_notes"], mimeType="text/plain").execute()
    assert "KESTREL batch 14" in text.decode("utf-8-sig")
    with pytest.raises(HttpError) as err:
        member.files().get(fileId=ID["kestrel_qa_notes"]).execute()
    assert err.value.status_code == 404


# ---- permissions write, events, changes -------------------------------------------------------------
def test_permission_lifecycle_changes_and_events(client, emulator):
    maya = client(subject=MAYA)
    priya = client(subject=PRIYA)
    start = priya.changes().getStartPageToken().execute()["startPageToken"]
    created = maya.permissions().create(fileId=ID["roster_csv"], sendNotificationEmail=False,
                                        body={"type": "user", "role": "reader", "emailAddress": PRIYA}).execute()
    assert created["type"] == "user" and created["role"] == "reader"
    updated = maya.permissions().update(fileId=ID["roster_csv"], permissionId=created["id"],
                                        body={"role": "writer"}, fields="id,role").execute()
    assert updated == {"id": created["id"], "role": "writer"}
    maya.permissions().delete(fileId=ID["roster_csv"], permissionId="anyoneWithLink").execute()
    with pytest.raises(HttpError) as err:  # already gone
        maya.permissions().get(fileId=ID["roster_csv"], permissionId="anyoneWithLink").execute()
    assert err.value.status_code == 404
    owner = next(p for p in maya.permissions().list(fileId=ID["roster_csv"]).execute()["permissions"]
                 if p["role"] == "owner")
    with pytest.raises(HttpError) as err:
        maya.permissions().delete(fileId=ID["roster_csv"], permissionId=owner["id"]).execute()
    assert reason(err.value) == "cannotRemoveOwner"
    kinds = [e["kind"] for e in emulator.events]
    assert kinds == ["permission.created", "permission.updated", "permission.deleted"]
    deleted = emulator.events[-1]
    assert deleted["actor"] == MAYA and deleted["before"]["type"] == "anyone" and deleted["after"] is None
    changes = priya.changes().list(pageToken=start).execute()
    assert [c["fileId"] for c in changes["changes"]] == [ID["roster_csv"]]
    assert changes["changes"][0]["removed"] is False and "newStartPageToken" in changes
    # Priya loses access: the next change says removed
    maya.permissions().delete(fileId=ID["roster_csv"], permissionId=created["id"]).execute()
    later = priya.changes().list(pageToken=changes["newStartPageToken"]).execute()
    assert later["changes"][0]["removed"] is True and "file" not in later["changes"][0]


def test_changes_paging_and_shared_drive(client, emulator):
    liam = client(subject=LIAM)
    token = liam.changes().getStartPageToken(driveId=CLIENT_DELIVERY, supportsAllDrives=True).execute()
    for i in range(3):
        emulator_edit(emulator, ID["kestrel_qa_notes"], f"v{i}")
        emulator_edit(emulator, ID["bluefin_kickoff"], f"v{i}")
    emulator_edit(emulator, ID["kestrel_labels_csv"], "x")
    page = liam.changes().list(pageToken=token["startPageToken"], driveId=CLIENT_DELIVERY, pageSize=2,
                               supportsAllDrives=True, includeItemsFromAllDrives=True).execute()
    assert len(page["changes"]) == 2 and "nextPageToken" in page and "newStartPageToken" not in page
    rest = liam.changes().list(pageToken=page["nextPageToken"], driveId=CLIENT_DELIVERY, pageSize=2,
                               supportsAllDrives=True, includeItemsFromAllDrives=True).execute()
    ids = [c["fileId"] for c in page["changes"] + rest["changes"]]
    assert sorted(ids) == sorted({ID["kestrel_qa_notes"], ID["bluefin_kickoff"], ID["kestrel_labels_csv"]})
    assert "newStartPageToken" in rest


def emulator_edit(emu: Emulator, file_id: str, text: str) -> None:
    from scanner.emulator.state import mutate

    with emu.workspace.lock:
        mutate.edit_content(emu.workspace, file_id, LIAM, text=text)


def test_revisions_published_and_unpublish(client, emulator):
    liam = client(subject=LIAM)
    revs = liam.revisions().list(fileId=ID["client_brief_published"],
                                 fields="revisions(id,published,publishAuto,publishedOutsideDomain)").execute()
    head = revs["revisions"][-1]
    assert head == {"id": "2", "published": True, "publishAuto": True, "publishedOutsideDomain": True}
    liam.revisions().update(fileId=ID["client_brief_published"], revisionId="2",
                            body={"published": False}).execute()
    got = liam.revisions().get(fileId=ID["client_brief_published"], revisionId="2", fields="published").execute()
    assert got == {"published": False}
    assert emulator.events[-1]["kind"] == "revision.unpublished"


def test_revisions_of_shared_drive_items_need_no_supports_all_drives(client):
    """revisions.* have no supportsAllDrives parameter in the discovery document; they must work on
    shared-drive items regardless (an emulator that 404s here hides published shared-drive Docs)."""
    liam = client(subject=LIAM)
    revs = liam.revisions().list(fileId=ID["kestrel_qa_notes"], fields="revisions(id,published)").execute()
    assert revs["revisions"] and all(r["published"] is False for r in revs["revisions"])
    rev_id = revs["revisions"][-1]["id"]
    liam.revisions().update(fileId=ID["kestrel_qa_notes"], revisionId=rev_id, body={"published": True}).execute()
    got = liam.revisions().get(fileId=ID["kestrel_qa_notes"], revisionId=rev_id, fields="published").execute()
    assert got == {"published": True}
    with pytest.raises(HttpError) as err:  # a reader of the shared drive cannot read revisions
        client(subject=PRIYA).revisions().list(fileId=ID["kestrel_qa_notes"]).execute()
    assert err.value.status_code == 403 and reason(err.value) == "insufficientFilePermissions"


# ---- batch --------------------------------------------------------------------------------------
def test_batch_with_a_failing_part(client, emulator):
    drive = client(subject=MAYA)
    results: dict[str, object] = {}

    def cb(request_id, response, exception):
        results[request_id] = exception if exception is not None else response

    batch = drive.new_batch_http_request(callback=cb)
    assert batch._batch_uri == emulator.endpoint + "/batch/drive/v3"
    batch.add(drive.files().get(fileId=ID["roster_csv"], fields="id,name"), request_id="ok")
    batch.add(drive.files().get(fileId="does-not-exist"), request_id="missing")
    batch.add(drive.permissions().delete(fileId=ID["roster_sheet"], permissionId="anyoneWithLink"), request_id="del")
    batch.execute()
    assert results["ok"] == {"id": ID["roster_csv"], "name": "contractor_contacts.csv"}
    assert isinstance(results["missing"], HttpError) and results["missing"].status_code == 404
    assert results["del"] == ""
    assert emulator.counters["batch"] == 1 and emulator.counters["drive.permissions.delete"] == 1


def test_batch_drop_fault_fails_only_its_part(client, emulator):
    """Google fails a part, not the batch: a dropped backend call is that part's 503, the others answer."""
    drive = client(subject=MAYA)
    results: dict[str, object] = {}

    def cb(request_id, response, exception):
        results[request_id] = exception if exception is not None else response

    emulator.set_faults([FaultRule(endpoint="drive.files.get", sequence=["ok", "drop", "ok"])])
    emulator.reset_counters()
    batch = drive.new_batch_http_request(callback=cb)
    for i in range(3):
        batch.add(drive.files().get(fileId=ID["roster_csv"], fields="id"), request_id=str(i))
    batch.execute()
    assert results["0"] == results["2"] == {"id": ID["roster_csv"]}
    assert isinstance(results["1"], HttpError) and results["1"].status_code == 503
    assert reason(results["1"]) == "backendError"
    assert (emulator.counters["batch"], emulator.counters["drive.files.get"]) == (1, 3)


def test_batch_over_100_is_refused(client):
    drive = client(subject=MAYA)
    batch = drive.new_batch_http_request()
    for _ in range(101):
        batch.add(drive.files().get(fileId=ID["roster_csv"]))
    with pytest.raises(HttpError) as err:
        batch.execute()
    assert err.value.status_code == 400


# ---- faults -------------------------------------------------------------------------------------
def test_fault_plan_429_then_success_with_retries(client, emulator, monkeypatch):
    monkeypatch.setattr("googleapiclient.http.time.sleep", lambda s: None)
    drive = client(subject=MAYA)
    emulator.set_faults([FaultRule(endpoint="drive.files.list", sequence=["429", "userRateLimitExceeded", "503"])])
    resp = drive.files().list(pageSize=1).execute(num_retries=3)
    assert resp["files"]
    assert emulator.counters["drive.files.list"] == 4
    emulator.set_faults([FaultRule(endpoint="drive.files.get", kind="rateLimitExceeded", times=1)])
    with pytest.raises(HttpError) as err:
        drive.files().get(fileId=ID["roster_csv"]).execute()
    assert err.value.status_code == 403 and reason(err.value) == "rateLimitExceeded"


@pytest.mark.parametrize(("kind", "status", "reason_", "domain"), [
    ("429", 429, "rateLimitExceeded", "usageLimits"),
    ("rateLimitExceeded", 403, "rateLimitExceeded", "usageLimits"),
    ("userRateLimitExceeded", 403, "userRateLimitExceeded", "usageLimits"),
    ("sharingRateLimitExceeded", 403, "sharingRateLimitExceeded", "global"),
    ("500", 500, "backendError", "global"),
])
def test_fault_errors_carry_googles_domain(client, emulator, kind, status, reason_, domain):
    emulator.set_faults([FaultRule(endpoint="drive.about.get", kind=kind, times=1)])
    with pytest.raises(HttpError) as err:
        client(subject=MAYA).about().get(fields="user").execute()
    item = json.loads(err.value.content)["error"]["errors"][0]
    assert (err.value.status_code, item["reason"], item["domain"]) == (status, reason_, domain)


def test_fault_drop_and_expire_token(client, emulator):
    drive = client(subject=MAYA)
    drive.files().list(pageSize=1).execute()
    emulator.set_faults([FaultRule(endpoint="drive.files.list", sequence=["expire_token"])])
    drive.files().list(pageSize=1).execute()  # 401 → google-auth refreshes → success
    emulator.set_faults([FaultRule(endpoint="drive.files.list", kind="drop", times=5)])
    with pytest.raises((httplib2.HttpLib2Error, ConnectionError, OSError)):
        drive.files().list(pageSize=1).execute()  # httplib2 retries a dropped keep-alive once by itself
    emulator.set_faults(None)
    assert drive.files().list(pageSize=1).execute()["files"]


# ---- control API, state, threads ---------------------------------------------------------------------
def test_admin_http_api_and_state_roundtrip(emulator, tmp_path):
    http = httplib2.Http(proxy_info=None)
    base = emulator.endpoint + "/_emulator"
    resp, content = http.request(base + "/mutate", "POST", body=json.dumps({
        "op": "share", "fileId": ID["offsite_recipe"], "actor": PRIYA,
        "permission": {"type": "user", "role": "reader", "emailAddress": EXTERNAL_USER}}))
    assert resp.status == 200, content
    events = json.loads(http.request(base + "/events")[1])["events"]
    assert events[-1]["kind"] == "permission.created" and events[-1]["after"]["emailAddress"] == EXTERNAL_USER
    http.request(base + "/faults", "POST", body=json.dumps({"rules": [{"endpoint": "x", "kind": "500"}]}))
    assert emulator.faults.rules[0].endpoint == "x"
    assert json.loads(http.request(base + "/counters")[1])["counters"] == {}
    path = tmp_path / "state.json"
    emulator.save_state(path)
    with Emulator(seed="empty", key=emulator.key) as other:
        other.load_state(path)
        assert len(other.workspace.files) == len(emulator.workspace.files)
        assert other.workspace.files[ID["roster_xlsx"]].content == emulator.workspace.files[ID["roster_xlsx"]].content


def test_key_file_mode(emulator, tmp_path):
    path = emulator.write_key_file(tmp_path / "key.json")
    assert path.stat().st_mode & 0o777 == 0o600
    assert json.loads(path.read_text())["token_uri"] == emulator.endpoint + "/token"


def test_stop_cleans_up_threads(sa_key, client):
    before = threading.active_count()
    with Emulator(seed="empty", key=sa_key) as emu:
        http = httplib2.Http(proxy_info=None)
        http.request(emu.endpoint + "/_emulator/health")  # keep-alive connection stays open
    assert threading.active_count() <= before


@pytest.mark.parametrize(("page_size", "pages"), [(None, [130]), (100, [100, 30]), (1000, [100, 30]), (50, [50, 50, 30])])
def test_my_drive_permissions_page_only_when_asked(client, emulator, page_size, pages):
    """permissions.list: the whole list by default on My Drive, at most 100 a page once pageSize is given."""
    with emulator.workspace.lock:
        ws = emulator.workspace
        for n in range(130 - len(ws.effective_permissions(ws.files[ID["offsite_recipe"]]))):
            perm = mutate.make_permission(ws, {"type": "user", "role": "reader", "emailAddress": f"p{n}@example.org"})
            mutate.add_permission(ws, ID["offsite_recipe"], PRIYA, perm)
    drive, token, seen = client(subject=PRIYA), None, []
    while True:
        resp = drive.permissions().list(fileId=ID["offsite_recipe"], pageSize=page_size, pageToken=token).execute()
        seen.append(len(resp["permissions"]))
        token = resp.get("nextPageToken")
        if not token:
            break
    assert seen == pages


def test_writer_can_share_reader_cannot(client):
    with pytest.raises(HttpError) as err:
        client(subject=JONAS).permissions().create(
            fileId=ID["offsite_recipe"], body={"type": "anyone", "role": "reader"}).execute()
    assert err.value.status_code == 403 and reason(err.value) == "insufficientFilePermissions"


def test_synthetic_seed_serves_lazy_content(sa_key):
    from .conftest import build_client

    with Emulator(seed="synthetic:12:2000:3", key=sa_key) as emu:
        ws = emu.workspace
        f = next(x for x in ws.files.values() if x.mime_type == "text/plain" and x.owner)
        drive = build_client("drive", emu.endpoint, emu.service_account_info(), f.owner, DRIVE_RO)
        meta = drive.files().get(fileId=f.id, fields="size,md5Checksum").execute()
        data = drive.files().get_media(fileId=f.id).execute()
        assert len(data) == int(meta["size"]) > 0 and f.content is None
        files = list_all(drive, corpora="allDrives", includeItemsFromAllDrives=True, supportsAllDrives=True,
                         pageSize=1000, fields="nextPageToken,files(id)")
        assert len({x["id"] for x in files}) == len(files) > 0
