"""The schema: migrations agree with the models, and go up, down and up again, on every backend."""

from __future__ import annotations

import stat
from pathlib import Path

from sqlalchemy import inspect, text

from scanner.store import migrate
from scanner.store.db import make_engine
from scanner.store.models import Base


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

    from scanner.errors import DatabaseError

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    engine = make_engine(url)
    with pytest.raises(DatabaseError, match="not initialised: run `sharescan init`"):
        migrate.ensure_at_head(engine, url)
    engine.dispose()
