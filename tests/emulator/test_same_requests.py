"""The client code pointed at Google and at the emulator sends the same paths and parameters."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httplib2
from googleapiclient.discovery import build_from_document

from .conftest import discovery_doc


def _requests(root: str) -> list[tuple[str, str, dict]]:
    http = httplib2.Http(proxy_info=None)
    drive = build_from_document(discovery_doc("drive.v3", root), http=http)
    admin = build_from_document(discovery_doc("admin.directory_v1", root), http=http)
    reports = build_from_document(discovery_doc("admin.reports_v1", root), http=http)
    identity = build_from_document(discovery_doc("cloudidentity.v1", root), http=http)
    labels = build_from_document(discovery_doc("drivelabels.v2", root), http=http)
    reqs = [
        drive.files().list(q="trashed = false", corpora="allDrives", includeItemsFromAllDrives=True,
                           supportsAllDrives=True, pageSize=1000, fields="nextPageToken,files(id,permissions)"),
        drive.files().get(fileId="abc", supportsAllDrives=True, fields="id"),
        drive.files().get_media(fileId="abc"),
        drive.files().export(fileId="abc", mimeType="text/plain"),
        drive.permissions().list(fileId="abc", supportsAllDrives=True, useDomainAdminAccess=True),
        drive.permissions().delete(fileId="abc", permissionId="anyoneWithLink", supportsAllDrives=True),
        drive.permissions().create(fileId="abc", sendNotificationEmail=False, body={"type": "anyone"}),
        drive.drives().list(useDomainAdminAccess=True, pageSize=100),
        drive.changes().list(pageToken="12", driveId="0AX", supportsAllDrives=True, includeItemsFromAllDrives=True),
        drive.changes().getStartPageToken(),
        drive.revisions().update(fileId="abc", revisionId="2", body={"published": False}),
        admin.users().list(customer="my_customer", maxResults=500, pageToken="t"),
        admin.domains().list(customer="my_customer"),
        admin.orgunits().list(customerId="my_customer", type="allIncludingParent"),
        admin.groups().get(groupKey="team@example.com"),
        reports.activities().list(userKey="all", applicationName="drive", filters="doc_id==abc", maxResults=1000,
                                  startTime="2026-01-01T00:00:00Z", eventName="view", pageToken="t"),
        identity.policies().list(filter="setting.type.matches('settings/drive_and_docs.*')", pageSize=100),
        identity.policies().get(name="policies/abc"),
        labels.labels().list(view="LABEL_VIEW_FULL", publishedOnly=True),
        labels.labels().get(name="labels/abc@published"),
        drive.files().modifyLabels(fileId="abc", body={"labelModifications": []}),
        drive.files().listLabels(fileId="abc"),
        drive.files().get(fileId="abc", includeLabels="l1,l2", fields="labelInfo"),
        admin.domainAliases().list(customer="my_customer"),
        drive.permissions().list(fileId="abc", includePermissionsForView="published"),
        drive.files().update(fileId="abc", supportsAllDrives=True, body={"inheritedPermissionsDisabled": True}),
    ]
    out = []
    for r in reqs:
        parts = urlsplit(r.uri)
        out.append((r.method, parts.path, parse_qs(parts.query)))
    out.append(("POST", urlsplit(drive.new_batch_http_request()._batch_uri).path, {}))
    return out


def test_same_paths_and_parameters_as_google():
    google = _requests("https://www.googleapis.com/")
    emulator = _requests("http://127.0.0.1:8765/")
    assert google == emulator
    paths = {p for _, p, _ in emulator}
    assert "/drive/v3/files" in paths and "/batch/drive/v3" in paths and "/admin/directory/v1/users" in paths
    assert {"/admin/reports/v1/activity/users/all/applications/drive", "/v1/policies", "/v1/policies/abc",
            "/v2/labels", "/v2/labels/abc@published", "/drive/v3/files/abc/modifyLabels",
            "/admin/directory/v1/customer/my_customer/orgunits"} <= paths
