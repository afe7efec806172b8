"""Fixtures: one demo emulator per module, and real googleapiclient clients built like sharescan does."""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources
from typing import Any

import google_auth_httplib2
import httplib2
import pytest
from google.oauth2 import service_account
from googleapiclient.discovery import build_from_document

from scanner.emulator import Emulator

DRIVE_RW = ["https://www.googleapis.com/auth/drive"]
DRIVE_RO = ["https://www.googleapis.com/auth/drive.readonly"]
DIRECTORY_RO = ["https://www.googleapis.com/auth/admin.directory.user.readonly"]
AUDIT_RO = ["https://www.googleapis.com/auth/admin.reports.audit.readonly"]
POLICIES_RO = ["https://www.googleapis.com/auth/cloud-identity.policies.readonly"]
LABELS_RO = ["https://www.googleapis.com/auth/drive.labels.readonly"]
API_DOCUMENTS = {"drive": "drive.v3", "admin": "admin.directory_v1", "reports": "admin.reports_v1",
                 "cloudidentity": "cloudidentity.v1", "drivelabels": "drivelabels.v2"}
DEFAULT_SCOPES = {"admin": DIRECTORY_RO, "reports": AUDIT_RO, "cloudidentity": POLICIES_RO, "drivelabels": LABELS_RO}


def discovery_doc(name: str, root_url: str) -> dict[str, Any]:
    ref = resources.files("googleapiclient").joinpath(f"discovery_cache/documents/{name}.json")
    doc: dict[str, Any] = json.loads(ref.read_text(encoding="utf-8"))
    doc["rootUrl"] = root_url.rstrip("/") + "/"
    doc["mtlsRootUrl"] = root_url.rstrip("/") + "/"
    return doc


def build_client(api: str, endpoint: str, info: dict[str, Any], subject: str, scopes: list[str]) -> Any:
    creds = service_account.Credentials.from_service_account_info(info, scopes=scopes).with_subject(subject)
    http = google_auth_httplib2.AuthorizedHttp(creds, http=httplib2.Http(proxy_info=None, timeout=10))
    name = API_DOCUMENTS[api]
    return build_from_document(discovery_doc(name, endpoint), http=http)



@pytest.fixture()
def client(emulator: Emulator) -> Callable[..., Any]:
    def make(api: str = "drive", subject: str = "admin@tessera-labs.com", scopes: list[str] | None = None) -> Any:
        default = DEFAULT_SCOPES.get(api, DRIVE_RW)
        return build_client(api, emulator.endpoint, emulator.service_account_info(), subject, scopes or default)

    return make
