"""The schema: migrations agree with the models, and go up, down and up again, on every backend."""

from __future__ import annotations

import stat
from pathlib import Path

from sqlalchemy import inspect, select, text

from scanner.store import migrate
from scanner.store.db import make_engine
from scanner.store.models import AuditEvent, Base


def test_upgrade_downgrade_upgrade_and_check(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate.upgrade(db_url)
        assert migrate.current_revision(engine) == migrate.head_revision(db_url)
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
        migrate.check(db_url)  # raises when models and migrations disagree

        migrate.downgrade(db_url, "base")
        assert migrate.current_revision(engine) is None
        assert not set(Base.metadata.tables) & set(inspect(engine).get_table_names())

        migrate.upgrade(db_url)
        migrate.check(db_url)
        migrate.ensure_at_head(engine, db_url)
    finally:
        engine.dispose()


def test_sqlite_file_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'sharescan.db'}"
    migrate.upgrade(url)
    path = tmp_path / "sub" / "sharescan.db"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
    finally:
        engine.dispose()


def test_uninitialised_database_is_a_clear_error(tmp_path: Path) -> None:
    import pytest

    from scanner.core.errors import DatabaseError

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    engine = make_engine(url)
    with pytest.raises(DatabaseError, match="not initialised: run `sharescan init`"):
        migrate.ensure_at_head(engine, url)
    engine.dispose()


def test_upgrade_baselines_existing_rows_in_the_chain(db_url: str, tmp_path: Path) -> None:
    """A database from before the keyed chain: its events keep verifying (unkeyed prefix), each existing
    finding and action gets a baseline state event, and keyed events continue the chain."""
    import datetime as dt

    from scanner.export.auditlog import verify_log
    from scanner.store import audit
    from scanner.store.db import make_sessionmaker

    migrate.upgrade(db_url, "0001")
    engine = make_engine(db_url)
    now = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    try:
        with engine.begin() as conn:
            prev = audit.GENESIS
            for seq in (1, 2):
                digest = audit.event_hash(prev, seq=seq, ts=now, actor="old", event_type="scan.completed",
                                          subject_type="", subject_id="", data={})
                conn.execute(text("INSERT INTO audit_events (seq, ts, actor, event_type, subject_type, subject_id, "
                                  "data, prev_hash, hash) VALUES (:seq, :ts, 'old', 'scan.completed', '', '', '{}', "
                                  ":prev, :hash)"), {"seq": seq, "ts": now, "prev": prev, "hash": digest})
                prev = digest
            # rows as a 0001 database holds them: only the columns that schema had (the ORM models
            # know columns later revisions add)
            conn.execute(text("INSERT INTO files (id, name, mime_type, parents, exposure, exposure_classes, first_seen, "
                              "last_seen, trashed, published, content_status, data_categories, content_hits) VALUES "
                              "('F1', 'f', '', '[]', 'public', '[]', :now, :now, false, false, 'pending', '[]', '{}')"),
                         {"now": now})
            conn.execute(text("INSERT INTO findings (fingerprint, rule_id, title, severity, file_id, detection_state, "
                              "status, exposure, matched_permissions, detectors, data_categories, first_seen, "
                              "last_seen, status_changed_at, recurrence_count) VALUES (:fp, 'r', '', 'high', 'F1', "
                              "'active', 'open', 'public', '[]', '{}', '[]', :now, :now, :now, 0)"),
                         {"fp": "f" * 64, "now": now})
            conn.execute(text("INSERT INTO remediation_actions (file_id, action, mode, status, actor, created_at) "
                              "VALUES ('F1', 'revoke', 'enforce', 'verified', 'a', :now)"), {"now": now})
        migrate.upgrade(db_url)
        sessions = make_sessionmaker(engine, audit_key=b"k" * 32)
        with sessions.begin() as s:
            audit.record(s, "scan.completed", actor="new")
        with sessions() as s:
            result = verify_log(s, anchor_dir=tmp_path / "none", trusted=None)
            kinds = [e.event_type for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
        assert result.ok, result.problems()
        assert (result.chain.legacy_events, result.chain.keyed_events, result.rows_checked) == (4, 1, 2)
        assert kinds == ["scan.completed", "scan.completed", "finding.state", "action.state", "scan.completed"]
    finally:
        engine.dispose()


def test_provider_column_leaves_existing_rows_as_they_were(db_url: str) -> None:
    """0006 adds ``provider`` to targets, files and findings: existing rows become 'google' and keep their
    fingerprints (a Google finding's fingerprint has no provider in it)."""
    from scanner.core.fingerprint import finding_fingerprint

    migrate.upgrade(db_url, "0005")
    engine = make_engine(db_url)
    fp = finding_fingerprint("r", "F1")
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO crawl_targets (kind, key, name, active) VALUES ('user', 'a@x.com', '', true)"))
            conn.execute(text("INSERT INTO files (id, name, mime_type, parents, exposure, exposure_classes, first_seen, "
                              "last_seen, trashed, published, content_status, data_categories, content_hits) VALUES "
                              "('F1', 'f', '', '[]', 'public', '[]', :now, :now, false, false, 'pending', '[]', '{}')"),
                         {"now": "2026-03-01 00:00:00"})
            conn.execute(text("INSERT INTO findings (fingerprint, rule_id, title, severity, file_id, detection_state, "
                              "status, exposure, matched_permissions, detectors, data_categories, first_seen, "
                              "last_seen, status_changed_at, recurrence_count) VALUES (:fp, 'r', '', 'high', 'F1', "
                              "'active', 'open', 'public', '[]', '{}', '[]', :now, :now, :now, 0)"),
                         {"fp": fp, "now": "2026-03-01 00:00:00"})
        migrate.upgrade(db_url, "0006_provider_column")
        with engine.connect() as conn:
            for table in ("crawl_targets", "files", "findings"):
                assert conn.execute(text(f"SELECT provider FROM {table}")).scalars().all() == ["google"]  # noqa: S608
            assert conn.execute(text("SELECT fingerprint FROM findings")).scalar_one() == fp
        migrate.downgrade(db_url, "0005")
        assert "provider" not in {c["name"] for c in inspect(engine).get_columns("findings")}
    finally:
        engine.dispose()


def test_neutral_items_fill_kinds_and_grant_columns_from_what_rows_hold(db_url: str) -> None:
    """0011 stores an item's kind and a grant's view / deletion / "every grant inherited" as columns, filled
    for existing rows from their MIME type and raw Drive JSON, so the store never parses Drive JSON again."""
    import json

    from scanner.store.snapshot import row_to_file

    migrate.upgrade(db_url, "0010_scan_units")
    engine = make_engine(db_url)
    folder, form, blob = ("application/vnd.google-apps.folder", "application/vnd.google-apps.form", "text/csv")
    perms = [("F1", "inh", {"id": "inh", "type": "anyone", "role": "reader",
                            "permissionDetails": [{"inherited": True, "inheritedFrom": "F0"}]}, True),
             ("F2", "resp", {"id": "resp", "type": "anyone", "role": "reader", "view": "published"}, False),
             ("F3", "own", {"id": "own", "type": "user", "role": "owner", "emailAddress": "a@x.com"}, False)]
    try:
        with engine.begin() as conn:
            for file_id, mime in (("F1", folder), ("F2", form), ("F3", blob)):
                conn.execute(text("INSERT INTO files (id, name, mime_type, parents, exposure, exposure_classes, "
                                  "first_seen, last_seen, trashed, published, content_status, data_categories, "
                                  "content_hits) VALUES (:id, 'f', :mime, '[]', 'public', '[]', :now, :now, false, "
                                  "false, 'pending', '[]', '{}')"),
                             {"id": file_id, "mime": mime, "now": "2026-03-01 00:00:00"})
            for file_id, pid, raw, inherited in perms:
                conn.execute(text("INSERT INTO permissions (file_id, permission_id, type, role, email_address, "
                                  "inherited, exposure, raw, first_seen, last_seen) VALUES (:f, :p, :t, :r, :e, :i, "
                                  "'public', :raw, :now, :now)"),
                             {"f": file_id, "p": pid, "t": raw["type"], "r": raw["role"],
                              "e": raw.get("emailAddress"), "i": inherited, "raw": json.dumps(raw),
                              "now": "2026-03-01 00:00:00"})
        migrate.upgrade(db_url, "0011_neutral_items")
        with engine.connect() as conn:
            kinds = dict(conn.execute(text("SELECT id, item_kind FROM files")).all())
            grants = {r[0]: tuple(r[1:]) for r in conn.execute(text(
                "SELECT permission_id, view, deleted, inherited_only FROM permissions")).all()}
        assert kinds == {"F1": "folder", "F2": "form", "F3": "file"}
        assert grants == {"inh": (None, False, True), "resp": ("published", False, False),
                          "own": (None, False, False)}
        from scanner.store.db import make_sessionmaker
        from scanner.store.models import DriveFileRow

        with make_sessionmaker(engine)() as s:
            f1, f2 = row_to_file(s.get(DriveFileRow, "F1")), row_to_file(s.get(DriveFileRow, "F2"))
            assert f1.is_folder and f1.permissions[0].inherited_only and f1.permissions[0].inherited_from is None
            assert f2.is_form and f2.permissions[0].view == "published"
        migrate.downgrade(db_url, "0010_scan_units")
        assert "item_kind" not in {c["name"] for c in inspect(engine).get_columns("files")}
    finally:
        engine.dispose()
