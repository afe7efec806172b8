"""Synthetic files: ``size``/``md5Checksum`` in listings are derived without building content, and equal
what a download returns (Drive v3 ``File.size``/``md5Checksum`` describe the file's binary content)."""

from __future__ import annotations

import hashlib

import pytest

from scanner.connectors.google.drive_api import FILES_LIST_FIELDS, owned_by_query
from scanner.emulator import Emulator
from scanner.emulator.seeds.synthetic import BODY_VARIANTS, generate_lazy, lazy_digest

from .conftest import DRIVE_RO, build_client

BINARY_KINDS = ["txt", "csv", "pdf", "docx", "xlsx", "pptx"]


@pytest.mark.parametrize("kind", [k + s for k in BINARY_KINDS for s in ("", ":s")])
def test_derived_digest_equals_the_bytes(kind):
    seeds = range(3 * BODY_VARIANTS)
    for seed in seeds:
        data = generate_lazy(kind, seed)
        assert isinstance(data, bytes)
        assert lazy_digest(kind, seed) == (len(data), hashlib.md5(data).hexdigest())
    # files sharing a body still differ: every file ends with its own tag
    assert len({lazy_digest(kind, s)[1] for s in seeds}) == len(seeds)


def test_listing_digests_match_downloads_through_googleapiclient(sa_key):
    with Emulator(seed="synthetic:6:600:5", key=sa_key) as emu:
        ws = emu.workspace
        owner = max({f.owner for f in ws.files.values() if f.owner and not ws.users[f.owner].suspended},
                    key=lambda o: sum(f.owner == o for f in ws.files.values()))
        drive = build_client("drive", emu.endpoint, emu.service_account_info(), owner, DRIVE_RO)
        listed = drive.files().list(corpora="user", spaces="drive", q=owned_by_query(owner), pageSize=1000,
                                    fields=FILES_LIST_FIELDS).execute()["files"]
        binaries = [f for f in listed if "size" in f]
        kinds = {ws.files[f["id"]].lazy[0].partition(":")[0] for f in binaries}
        assert kinds == set(BINARY_KINDS)
        for item in binaries:
            data = drive.files().get_media(fileId=item["id"]).execute()
            assert (int(item["size"]), item["md5Checksum"]) == (len(data), hashlib.md5(data).hexdigest())
            assert ws.files[item["id"]].content is None  # nothing was stored by listing or downloading
        natives = [f for f in listed if f["mimeType"].startswith("application/vnd.google-apps.")]
        assert natives and all("size" not in f and "md5Checksum" not in f for f in natives)
