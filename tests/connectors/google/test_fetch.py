"""Content fetching: exports, capped downloads and skips (emulator, real googleapiclient)."""

from __future__ import annotations

import pytest

from scanner.connectors.google.client import GoogleClients
from scanner.connectors.google.fetch import XLSX, ContentFetcher
from scanner.core.models import DriveFile
from scanner.emulator import Emulator
from scanner.emulator.seeds.demo import LIAM, MAYA, PRIYA, fid


def _file(emulator: Emulator, key: str) -> DriveFile:
    f = emulator.workspace.files[fid(key)]
    return DriveFile(id=f.id, name=f.name, mime_type=f.mime_type, size=None)


@pytest.mark.parametrize(
    ("key", "user", "mime", "needle"),
    [("client_brief_published", LIAM, "text/plain", b"KESTREL"),
     ("roster_sheet", MAYA, XLSX, b"PK"),
     ("allhands_slides", PRIYA, "text/plain", b"Office move"),
     ("roster_csv", MAYA, "text/csv", b"Elena Marchetti")],
)
def test_fetch_exports_and_downloads(emulator: Emulator, clients: GoogleClients, key: str, user: str, mime: str,
                                     needle: bytes) -> None:
    got = ContentFetcher(clients).fetch(_file(emulator, key), as_user=user, max_bytes=1_000_000)
    assert got.ok and got.mime_type == mime and not got.truncated
    assert needle in got.data


def test_download_is_capped(emulator: Emulator, clients: GoogleClients) -> None:
    emulator.reset_counters()
    got = ContentFetcher(clients).fetch(_file(emulator, "roster_csv"), as_user=MAYA, max_bytes=40)
    assert got.ok and got.truncated and len(got.data) == 40


@pytest.mark.parametrize(("key", "reason"), [("recruiting_folder", "folder"), ("one_pager_shortcut", "shortcut")])
def test_skips(emulator: Emulator, clients: GoogleClients, key: str, reason: str) -> None:
    got = ContentFetcher(clients).fetch(_file(emulator, key), as_user=PRIYA, max_bytes=100)
    assert not got.ok and got.skip_reason is not None and got.skip_reason.startswith(reason)


def test_export_size_limit_is_a_recorded_skip(emulator: Emulator, clients: GoogleClients) -> None:
    emulator.settings.export_limit = 10
    got = ContentFetcher(clients).fetch(_file(emulator, "client_brief_published"), as_user=LIAM, max_bytes=100)
    assert got.skip_reason == "export size limit exceeded"
