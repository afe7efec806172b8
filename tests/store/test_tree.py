"""The stored tree (scanner.store.tree): the ancestry of many files read level by level, each file's own."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session, sessionmaker

from scanner.store.models import DriveFileRow
from scanner.store.tree import MAX_ANCESTRY, ancestors_of, ancestors_of_many

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def row(item_id: str, *parents: str, drive_id: str | None = None) -> DriveFileRow:
    return DriveFileRow(id=item_id, name=item_id, mime_type="application/pdf", owner_email="ana@tessera-labs.com",
                        drive_id=drive_id, parents=list(parents), exposure="internal", first_seen=T0, last_seen=T0)


def test_bulk_ancestry_is_each_files_own(sessions: sessionmaker[Session]) -> None:
    # two parents (breadth first), a loop, a parent not in the snapshot, a shared drive, a deep chain
    deep = [row(f"d{i}", f"d{i + 1}") for i in range(MAX_ANCESTRY + 5)]
    rows = [row("root"), row("a", "root"), row("b", "a", "gone"), row("loop1", "loop2"), row("loop2", "loop1"),
            row("f1", "b", "a"), row("f2", "loop1"), row("f3", "sd-folder", drive_id="sd1"),
            row("sd-folder", "sd1", drive_id="sd1"), row("f4", "d0"), row("f5"), *deep]
    with sessions.begin() as s:
        s.add_all(rows)
    files = ["f1", "f2", "f3", "f4", "f5", "b"]
    with sessions() as s:
        got = ancestors_of_many(s, [r for r in (s.get(DriveFileRow, f) for f in files) if r is not None])
        one = {f: ancestors_of(s, r) for f in files if (r := s.get(DriveFileRow, f)) is not None}
    assert got == one  # the one-file form is the bulk one's answer
    assert got["f1"] == ("b", "a", "gone", "root")  # breadth first, each folder once, a missing one kept
    assert got["b"] == ("a", "gone", "root")
    assert got["f2"] == ("loop1", "loop2")  # a loop ends
    assert got["f3"] == ("sd-folder", "sd1")  # the shared drive once, last
    assert got["f4"] == tuple(f"d{i}" for i in range(MAX_ANCESTRY))  # capped
    assert got["f5"] == ()
