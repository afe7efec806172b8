"""The emulator serves the discovery documents googleapiclient ships, pointed at itself, so
``googleapiclient.discovery.build(..., discoveryServiceUrl=...)`` reaches it like ``build_from_document``."""

from __future__ import annotations

import json

import google_auth_httplib2
import httplib2
import pytest
from google.oauth2 import service_account
from googleapiclient.discovery import build

from scanner.emulator.seeds.demo import ADMIN

from .conftest import AUDIT_RO, LABELS_RO, POLICIES_RO


@pytest.mark.parametrize(("api", "version", "document"), [
    ("drive", "v3", "drive.v3"), ("admin", "directory_v1", "admin.directory_v1"),
    ("admin", "reports_v1", "admin.reports_v1"), ("cloudidentity", "v1", "cloudidentity.v1"),
    ("drivelabels", "v2", "drivelabels.v2")])
def test_documents_are_served_without_a_token(emulator, api, version, document):
    resp, content = httplib2.Http(proxy_info=None).request(f"{emulator.endpoint}/discovery/v1/apis/{api}/{version}/rest")
    doc = json.loads(content)
    assert resp.status == 200 and doc["id"] == f"{api}:{version}" and doc["rootUrl"] == emulator.endpoint + "/"
    assert doc["baseUrl"] == emulator.endpoint + "/" + doc["servicePath"]


def test_unknown_document_is_404(emulator):
    resp, _ = httplib2.Http(proxy_info=None).request(f"{emulator.endpoint}/discovery/v1/apis/gmail/v1/rest")
    assert resp.status == 404


@pytest.mark.parametrize(("api", "version", "scopes", "call"), [
    ("admin", "reports_v1", AUDIT_RO,
     lambda s: s.activities().list(userKey="all", applicationName="drive", maxResults=1)),
    ("cloudidentity", "v1", POLICIES_RO, lambda s: s.policies().list(pageSize=1)),
    ("drivelabels", "v2", LABELS_RO, lambda s: s.labels().list()),
])
def test_build_with_the_discovery_service(emulator, api, version, scopes, call):
    creds = service_account.Credentials.from_service_account_info(
        emulator.service_account_info(), scopes=scopes).with_subject(ADMIN)
    http = google_auth_httplib2.AuthorizedHttp(creds, http=httplib2.Http(proxy_info=None, timeout=10))
    service = build(api, version, http=http, static_discovery=False,
                    discoveryServiceUrl=emulator.endpoint + "/discovery/v1/apis/{api}/{apiVersion}/rest")
    assert call(service).execute()
