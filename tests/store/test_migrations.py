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
