"""Bulk snapshot writes (scanner.store.snapshot.upsert_files) on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scanner.core.exposure import classify
from scanner.core.models import DriveFile, Permission
from scanner.store import snapshot
from scanner.store.models import DriveFileRow, PermissionRow

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(days=1)
ORG = frozenset({"tessera-labs.com"})
OWNER = Permission(id="p-owner", type="user", role="owner", email_address="ana@tessera-labs.com")
LINK = Permission(id="p-link", type="anyone", role="reader", raw={"id": "p-link", "type": "anyone"})
OUTSIDER = Permission(id="p-out", type="user", role="reader", email_address="x@elsewhere.example")


def doc(*perms: Permission, md5: str = "m1", name: str = "plan.pdf") -> DriveFile:
    return DriveFile(id="f1", name=name, mime_type="application/pdf", owner_email="ana@tessera-labs.com",
                     md5_checksum=md5, permissions=perms)


def upsert(sessions: sessionmaker[Session], *files: DriveFile, now: dt.datetime) -> list[snapshot.FileChange]:
    with sessions.begin() as s:
        return snapshot.upsert_files(s, [classify(f, ORG) for f in files], run_id=None, now=now)


def test_new_changed_and_unchanged_files_and_their_permissions(sessions: sessionmaker[Session]) -> None:
    [first] = upsert(sessions, doc(OWNER, LINK), now=T0)
    assert (first.is_new, first.exposure_changed, first.revision_changed) == (True, True, True)
    [same] = upsert(sessions, doc(OWNER, LINK), now=T1)
    assert (same.is_new, same.exposure_changed, same.revision_changed) == (False, False, False)
    [moved] = upsert(sessions, doc(OWNER, OUTSIDER, md5="m2", name="plan v2.pdf"), now=T1)
    assert (moved.is_new, moved.exposure_changed, moved.revision_changed) == (False, True, True)
    with sessions() as s:
        row = s.get(DriveFileRow, "f1")
        assert row is not None
        assert (row.name, row.md5_checksum, row.exposure, row.first_seen, row.content_status) == (
            "plan v2.pdf", "m2", "external_user", T0, "pending")
        assert row.exposed_since == T0  # still exposed outside since the first sighting
        perms = {p.permission_id: (p.exposure, p.first_seen) for p in s.scalars(select(PermissionRow))}
        assert perms == {"p-owner": ("internal", T0), "p-out": ("external_user", T1)}  # the link is gone


def test_a_file_listed_twice_in_a_page_is_stored_once_as_last_listed(sessions: sessionmaker[Session]) -> None:
    changes = upsert(sessions, doc(OWNER, LINK), doc(OWNER), now=T0)
    assert [c.is_new for c in changes] == [True, False]
    with sessions() as s:
        row = s.get(DriveFileRow, "f1")
        assert row is not None and row.exposure == "internal" and row.exposed_since is None
        assert [p.permission_id for p in s.scalars(select(PermissionRow))] == ["p-owner"]


def test_orm_objects_loaded_before_are_not_left_stale(sessions: sessionmaker[Session]) -> None:
    upsert(sessions, doc(OWNER), now=T0)
    with sessions.begin() as s:
        row = s.get(DriveFileRow, "f1")
        assert row is not None and row.exposure == "internal"
        snapshot.upsert_files(s, [classify(doc(OWNER, LINK), ORG)], run_id=None, now=T1)
        assert row.exposure == "anyone_with_link"
        assert sorted(p.permission_id for p in row.permissions) == ["p-link", "p-owner"]
