"""Admin SDK Reports API (Drive audit log) through the real googleapiclient.

Shapes checked against the ``admin.reports_v1`` discovery document googleapiclient ships (``activities.list``
parameters, ``Activities``/``Activity`` schemas) and Google's reference pages: "Drive Audit Activity Events"
(event names, ``type=acl_change|access``, parameters ``doc_id``, ``doc_title``, ``doc_type``, ``owner``,
``owner_is_shared_drive``, ``primary_event``, ``billable``, ``visibility``, ``old_visibility``,
``visibility_change``, ``target_user``, ``target_domain``, ``old_value``/``new_value``), the Admin console
message formats of ``change_document_visibility`` ("changed link sharing visibility from {old_value} to
{new_value} for {target_domain}") and ``publish_change``, and the ``Activity.actor`` reference (email "may be
absent if there is no email address associated with the actor"; profileId "may be the number
105250506097979753968 which acts as a placeholder ID").
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httplib2
import pytest
from googleapiclient.errors import HttpError

from scanner.emulator.seeds.demo import ADMIN, EXPECTED, EXTERNAL_USER, JONAS, LIAM, MAYA, PRIYA
from scanner.emulator.seeds.demo_audit import OUTSIDE_DOWNLOADER, ROSTER_ANONYMOUS_VIEWS, ROSTER_EXPOSED_DAYS_AGO
from scanner.emulator.state.audit import PLACEHOLDER_PROFILE_ID

from .conftest import AUDIT_RO, DRIVE_RO

ID = {k: v.file_id for k, v in EXPECTED.items()}


def params(event: dict) -> dict:
    out = {}
    for p in event.get("parameters", []):
        out[p["name"]] = p.get("value", p.get("boolValue", p.get("multiValue")))
    return out


def activities(reports, **kw) -> list[dict]:
    items, token = [], None
    while True:
        resp = reports.activities().list(userKey="all", applicationName="drive", pageToken=token, **kw).execute()
        items.extend(resp.get("items", []))
        token = resp.get("nextPageToken")
        if not token:
            return items


def rfc3339(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def error(exc: HttpError) -> dict:
    return json.loads(exc.content)["error"]


def test_a_link_share_through_drive_appends_googles_activity(client):
    client(subject=PRIYA).permissions().create(fileId=ID["offsite_recipe"], body={"type": "anyone", "role": "reader"},
                                               ).execute()  # already anyone-with-link: replaced, no change
    client(subject=PRIYA).permissions().create(fileId=ID["blog_draft"], body={"type": "domain", "role": "commenter",
                                                                               "domain": "tessera-labs.com"}).execute()
    unchanged = client("reports").activities().list(userKey="all", applicationName="drive",
                                                    filters=f"doc_id=={ID['offsite_recipe']}").execute()
    assert "items" not in unchanged  # re-granting the same link changes nothing, logs nothing
    resp = client("reports").activities().list(userKey="all", applicationName="drive",
                                               filters=f"doc_id=={ID['blog_draft']}").execute()
    assert resp["kind"] == "admin#reports#activities" and resp["etag"].startswith('"')
    item = resp["items"][0]
    assert item["kind"] == "admin#reports#activity"
    assert set(item["id"]) == {"time", "uniqueQualifier", "applicationName", "customerId"}
    assert item["id"]["applicationName"] == "drive" and item["id"]["customerId"] == "C03tessera"
    assert int(item["id"]["uniqueQualifier"]) != 0
    assert item["actor"]["email"] == PRIYA and item["actor"]["callerType"] == "USER" and item["actor"]["profileId"]
    assert item["actor"]["applicationInfo"]["impersonation"] is True  # made through the API with the key
    assert item["ipAddress"] and item["ownerDomain"] == "tessera-labs.com"
    assert [(e["type"], e["name"]) for e in item["events"]] == [
        ("acl_change", "change_document_visibility"), ("acl_change", "change_document_access_scope")]
    visibility, scope = (params(e) for e in item["events"])
    common = {"doc_id": ID["blog_draft"], "doc_title": "Blog draft: quality in data labelling",
              "doc_type": "document", "owner": PRIYA, "owner_is_shared_drive": False, "primary_event": True,
              "billable": True, "visibility": "people_with_link", "old_visibility": "people_with_link",
              "visibility_change": "internal", "target_domain": "tessera-labs.com",
              "originating_app_id": "691301496089"}
    assert visibility == {**common, "old_value": ["private"], "new_value": ["people_within_domain_with_link"]}
    assert scope == {**common, "old_value": ["none"], "new_value": ["can_comment"]}


@pytest.mark.parametrize(("change", "name", "expected"), [
    ("share_external_user", "change_user_access",
     {"target_user": "new.partner@example.net", "old_value": ["none"], "new_value": ["can_view"],
      "visibility": "shared_externally", "old_visibility": "private", "visibility_change": "external"}),
    ("make_public", "change_document_visibility",
     {"target_domain": "all", "old_value": ["private"], "new_value": ["public_on_the_web"],
      "visibility": "public_on_the_web", "old_visibility": "private", "visibility_change": "external"}),
    ("upgrade_user", "change_user_access",
     {"target_user": EXTERNAL_USER, "old_value": ["can_edit"], "new_value": ["can_comment"],
      "visibility": "shared_externally", "old_visibility": "shared_externally", "visibility_change": "external"}),
    ("revoke_link", "change_document_visibility",
     {"target_domain": "all", "old_value": ["people_with_link"], "new_value": ["private"],
      "visibility": "private", "old_visibility": "people_with_link", "visibility_change": "external"}),
    ("unpublish", "publish_change",
     {"old_value": ["published"], "new_value": ["unpublished"], "old_publish_visibility": "public_on_the_web",
      "new_publish_visibility": "private", "visibility": "private"}),
])
def test_each_sharing_change_appends_its_event(client, change, name, expected):
    liam = client(subject=LIAM)
    if change == "share_external_user":
        file_id = ID["client_brief_published"]
        liam.permissions().create(fileId=file_id, sendNotificationEmail=False,
                                  body={"type": "user", "role": "reader", "emailAddress": "new.partner@example.net"}
                                  ).execute()
    elif change == "make_public":
        file_id = ID["client_brief_published"]
        liam.permissions().create(fileId=file_id, body={"type": "anyone", "role": "reader",
                                                        "allowFileDiscovery": True}).execute()
    elif change == "upgrade_user":
        file_id = ID["bluefin_guidelines"]
        perm = next(p for p in liam.permissions().list(fileId=file_id).execute()["permissions"]
                    if p.get("emailAddress") == EXTERNAL_USER)
        liam.permissions().update(fileId=file_id, permissionId=perm["id"], body={"role": "commenter"}).execute()
    elif change == "revoke_link":
        file_id = ID["sow_pdf"]
        liam.permissions().delete(fileId=file_id, permissionId="anyoneWithLink").execute()
    else:
        file_id = ID["client_brief_published"]
        liam.revisions().update(fileId=file_id, revisionId="2", body={"published": False}).execute()
    newest = client("reports").activities().list(userKey="all", applicationName="drive", maxResults=1,
                                                 filters=f"doc_id=={file_id}").execute()["items"][0]
    event = next(e for e in newest["events"] if e["name"] == name)
    assert event["type"] == "acl_change"
    got = params(event)
    assert {k: got[k] for k in expected} == expected
    assert newest["actor"]["email"] == LIAM


def test_a_folder_share_reaches_its_items_as_hierarchy_reconciled(client):
    client(subject=MAYA).permissions().create(fileId=ID["recruiting_folder"], body={
        "type": "user", "role": "reader", "emailAddress": "scout@talent.example"}).execute()
    reports = client("reports")
    kid = activities(reports, filters=f"doc_id=={ID['candidate_shortlist']}",
                     eventName="change_user_access_hierarchy_reconciled")
    assert len(kid) == 1
    p = params(kid[0]["events"][0])
    assert p["primary_event"] is False and p["target_user"] == "scout@talent.example"
    assert kid[0]["actor"]["email"] == MAYA


def test_demo_history_dates_the_roster_exposure_and_counts_outside_access(client):
    """The demo's story: the roster made public 40 days before the first scan, then read from outside."""
    items = activities(client("reports"), filters=f"doc_id=={ID['roster_sheet']}")
    times = [i["id"]["time"] for i in items]
    assert times == sorted(times, reverse=True)  # newest first
    oldest = items[-1]
    assert [e["name"] for e in oldest["events"]] == ["change_document_visibility", "change_document_access_scope"]
    assert oldest["actor"]["email"] == MAYA
    assert params(oldest["events"][0])["new_value"] == ["people_with_link"]
    age = datetime.now(UTC) - datetime.fromisoformat(oldest["id"]["time"].replace("Z", "+00:00"))
    assert timedelta(days=ROSTER_EXPOSED_DAYS_AGO) < age < timedelta(days=ROSTER_EXPOSED_DAYS_AGO + 1)
    anonymous = [i for i in items if i["events"][0]["name"] == "view" and "email" not in i["actor"]]
    assert len(anonymous) == ROSTER_ANONYMOUS_VIEWS
    assert all(i["actor"] == {"profileId": PLACEHOLDER_PROFILE_ID} for i in anonymous)
    assert all(params(i["events"][0])["visibility"] == "people_with_link" for i in anonymous)
    downloads = [i for i in items if i["events"][0]["name"] == "download"]
    assert [i["actor"]["email"] for i in downloads] == [OUTSIDE_DOWNLOADER]
    assert "profileId" not in downloads[0]["actor"]  # not a Google Workspace user of this customer
    assert params(downloads[0]["events"][0])["billable"] is False


def test_retention_hides_what_is_older_than_180_days(client):
    reports = client("reports")
    now = datetime.now(UTC)
    old = activities(reports, filters=f"doc_id=={ID['old_roster_suspended']}")
    assert [e["name"] for i in old for e in i["events"]] == ["view", "view"]  # the 2024 share is gone
    # a start older than the retention reads from its boundary (the discovery document says so)
    since_2024 = activities(reports, startTime="2024-01-01T00:00:00Z", filters=f"doc_id=={ID['old_roster_suspended']}")
    assert since_2024 == old
    # a window entirely outside retention is refused, as Google does
    with pytest.raises(HttpError) as err:
        reports.activities().list(userKey="all", applicationName="drive", startTime="2024-04-01T00:00:00Z",
                                  endTime="2024-06-01T00:00:00Z").execute()
    assert err.value.status_code == 400 and "Start time is after end time" in error(err.value)["message"]
    with pytest.raises(HttpError) as err:
        reports.activities().list(userKey="all", applicationName="drive", startTime=rfc3339(now),
                                  endTime=rfc3339(now - timedelta(days=1))).execute()
    assert err.value.status_code == 400


def test_time_window_event_name_filters_and_actor(client):
    reports = client("reports")
    now = datetime.now(UTC)
    window = activities(reports, startTime=rfc3339(now - timedelta(days=12, hours=8)),
                        endTime=rfc3339(now - timedelta(days=12, hours=6)))
    assert {i["actor"].get("email") for i in window} == {OUTSIDE_DOWNLOADER}
    downloads = activities(reports, eventName="download")
    assert {params(i["events"][0])["doc_id"] for i in downloads} == {ID["roster_sheet"], ID["roster_csv"]}
    assert all([e["name"] for e in i["events"]] == ["download"] for i in downloads)
    link_only = activities(reports, eventName="view", filters=f"doc_id=={ID['roster_sheet']},visibility==people_with_link")
    assert len(link_only) == ROSTER_ANONYMOUS_VIEWS + 2
    not_roster = activities(reports, eventName="download", filters=f"doc_id<>{ID['roster_sheet']}")
    assert {params(i["events"][0])["doc_id"] for i in not_roster} == {ID["roster_csv"]}
    by_ip = activities(reports, actorIpAddress="203.0.113.77")
    assert len(by_ip) == 2 and {i["ipAddress"] for i in by_ip} == {"203.0.113.77"}
    roster = activities(reports, filters=f"doc_id=={ID['roster_sheet']}")
    maya_only = [i for i in roster if i["actor"].get("email") == MAYA]
    assert len(maya_only) == 2
    assert reports.activities().list(userKey=MAYA, applicationName="drive",
                                     filters=f"doc_id=={ID['roster_sheet']}").execute()["items"] == maya_only
    # a parameter the event does not carry matches nothing: an empty report
    assert "items" not in reports.activities().list(userKey="all", applicationName="drive",
                                                    filters="no_such_param==1").execute()
    with pytest.raises(HttpError) as err:
        reports.activities().list(userKey="nobody@tessera-labs.com", applicationName="drive").execute()
    assert err.value.status_code == 404


def test_paging_is_newest_first_without_gaps(client):
    reports = client("reports")
    everything = reports.activities().list(userKey="all", applicationName="drive").execute()["items"]
    pages, token, seen = 0, None, []
    while True:
        resp = reports.activities().list(userKey="all", applicationName="drive", maxResults=4,
                                         pageToken=token).execute()
        seen.extend(resp["items"])
        pages += 1
        token = resp.get("nextPageToken")
        if not token:
            break
    assert seen == everything and pages == -(-len(everything) // 4)
    with pytest.raises(HttpError) as err:  # a token belongs to its query
        reports.activities().list(userKey="all", applicationName="drive", eventName="view", pageToken=(
            reports.activities().list(userKey="all", applicationName="drive", maxResults=1).execute()[
                "nextPageToken"])).execute()
    assert err.value.status_code == 400
    with pytest.raises(HttpError) as err:
        reports.activities().list(userKey="all", applicationName="drive", maxResults=1001).execute()
    assert err.value.status_code == 400


def test_fields_mask_applies(client):
    resp = client("reports").activities().list(userKey="all", applicationName="drive", maxResults=2,
                                               fields="items(id(time),events(name))").execute()
    assert set(resp) == {"items"} and all(set(i) == {"id", "events"} and set(i["id"]) == {"time"}
                                          for i in resp["items"])


def test_scope_and_admin_are_enforced(client, emulator):
    with pytest.raises(HttpError) as err:  # a Drive token is not an audit token
        client("reports", subject=ADMIN, scopes=DRIVE_RO).activities().list(userKey="all",
                                                                           applicationName="drive").execute()
    assert err.value.status_code == 403 and error(err.value)["errors"][0]["reason"] == "insufficientPermissions"
    with pytest.raises(HttpError) as err:  # the scope is not enough: only admins read the audit log
        client("reports", subject=JONAS, scopes=AUDIT_RO).activities().list(userKey="all",
                                                                           applicationName="drive").execute()
    assert err.value.status_code == 401
    assert error(err.value)["message"] == "Access denied. You are not authorized to read activity records."


def test_reporting_lag_delays_new_activities_only(client, emulator):
    emulator.settings.reports_lag_seconds = 3600
    client(subject=JONAS).permissions().delete(fileId=ID["deploy_notes_txt"], permissionId="anyoneWithLink").execute()
    items = activities(client("reports"), filters=f"doc_id=={ID['deploy_notes_txt']}")
    assert [e["name"] for i in items for e in i["events"]] == ["view", "change_document_visibility",
                                                               "change_document_access_scope"]  # history only
    emulator.settings.reports_lag_seconds = 0
    items = activities(client("reports"), filters=f"doc_id=={ID['deploy_notes_txt']}")
    assert params(items[0]["events"][0])["new_value"] == ["private"]


def test_control_api_appends_access_events(client, emulator):
    http = httplib2.Http(proxy_info=None)
    when = rfc3339(datetime.now(UTC) - timedelta(days=2))
    resp, content = http.request(emulator.endpoint + "/_emulator/audit", "POST", body=json.dumps({
        "access": [{"fileId": ID["sow_pdf"], "name": "download", "actor": "anonymous", "time": when},
                   {"fileId": ID["sow_pdf"], "name": "view", "actor": "buyer@competitor.example"}]}))
    assert resp.status == 200 and json.loads(content) == {"appended": 2}
    items = activities(client("reports"), filters=f"doc_id=={ID['sow_pdf']}")
    assert [(i["events"][0]["name"], i["actor"].get("email")) for i in items[:2]] == [
        ("view", "buyer@competitor.example"), ("download", None)]
    resp, _ = http.request(emulator.endpoint + "/_emulator/audit", "POST", body=json.dumps({
        "access": [{"fileId": ID["sow_pdf"], "name": "teleport", "actor": "anonymous"}]}))
    assert resp.status == 400
    resp, content = http.request(emulator.endpoint + "/_emulator/audit", "POST", body=json.dumps({
        "editors": [{"fileId": ID["sow_pdf"], "actor": LIAM, "time": when, "oldValue": "writers",
                     "newValue": "owner"}],
        "sharing": [{"fileId": ID["sow_pdf"], "actor": LIAM, "time": when, "after": {
            "type": "user", "role": "reader", "emailAddress": "auditor@tessera-labs.com"}, "oldVisibility":
            "people_with_link"}]}))
    assert json.loads(content) == {"appended": 2}
    editors = activities(client("reports"), eventName="change_acl_editors")
    assert [(params(i["events"][0])["old_value"], params(i["events"][0])["new_value"]) for i in editors] == [
        (["writers"], ["owner"])]
    granted = activities(client("reports"), eventName="change_user_access", filters=f"doc_id=={ID['sow_pdf']}")
    assert params(granted[0]["events"][0])["target_user"] == "auditor@tessera-labs.com"


def test_synthetic_seed_has_history_within_retention(sa_key):
    from scanner.emulator import Emulator

    from .conftest import build_client

    with Emulator(seed="synthetic:10:3000:3", key=sa_key) as emu:
        stored = emu.workspace.audit.activities
        cutoff = rfc3339(datetime.now(UTC) - timedelta(days=180))
        assert any(a.time < cutoff for a in stored) and any(a.time >= cutoff for a in stored)
        reports = build_client("reports", emu.endpoint, emu.service_account_info(), "admin@synthlabs.example",
                               AUDIT_RO)
        items = activities(reports)
        assert len(items) == sum(a.time >= cutoff for a in stored)
        names = {e["name"] for i in items for e in i["events"]}
        assert {"change_document_visibility", "change_user_access", "view"} <= names
        assert any("email" not in i["actor"] for i in items)  # anonymous viewers
