"""Engines and sessions.

SQLite: the file is created mode 0600 before SQLAlchemy opens it, runs in WAL mode with a
busy timeout, and every transaction begins with ``BEGIN IMMEDIATE`` (SQLAlchemy's documented
pysqlite workaround) so two writers queue instead of failing on a lock upgrade.
PostgreSQL: plain psycopg 3 (``postgresql+psycopg://``; ``postgresql://`` is rewritten to it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000


_T = TypeVar("_T")

#: Ids per ``IN (...)`` list: SQLite's default host-parameter limit is 32766; stay well below it.
IN_CHUNK = 900


def in_chunks(ids: Sequence[_T], size: int = IN_CHUNK) -> Iterator[Sequence[_T]]:
    """``ids`` in slices of at most ``size``, for ``column.in_(chunk)`` queries."""
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def normalise_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _prepare_sqlite_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    os.chmod(path, 0o600)


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    path = sqlite_path(url)
    if path is not None:
        _prepare_sqlite_file(path)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)
        _configure_sqlite(engine)
        return engine
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front (no deadlock upgrading a read lock); a snapshot
        # reader (``snapshot_reads``) begins deferred: in WAL mode it keeps one consistent view
        # without blocking scans that write meanwhile.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(SNAPSHOT_READ) else "BEGIN IMMEDIATE")


#: Connection execution option marking a read-only session that wants one consistent snapshot.
SNAPSHOT_READ = "sharescan_snapshot_read"


def snapshot_reads(session: Session) -> None:
    """Make ``session`` (before its first query) a read-only snapshot: every query sees the same
    data, and writers elsewhere are not blocked (PostgreSQL REPEATABLE READ; SQLite a deferred
    transaction under WAL). For long reads such as exports; the session must not write."""
    options: dict[str, Any] = {SNAPSHOT_READ: True}
    if session.get_bind().dialect.name == "postgresql":
        options["isolation_level"] = "REPEATABLE READ"
    session.connection(execution_options=options)


def make_sessionmaker(engine: Engine, *, audit_key: bytes | None = None, actor: str = "") -> sessionmaker[Session]:
    """Sessions on ``engine``. ``audit_key`` keys the audit chain (HMAC); without it, events are
    appended unkeyed, which a keyed log refuses after its first keyed event. ``actor`` names who
    made the changes the state events record."""
    from scanner.store import statechain
    from scanner.store.audit import AUDIT_ACTOR_INFO, AUDIT_KEY_INFO

    statechain.install()
    info: dict[str, Any] = {}
    if audit_key is not None:
        info[AUDIT_KEY_INFO] = audit_key
    if actor:
        info[AUDIT_ACTOR_INFO] = actor
    return sessionmaker(engine, expire_on_commit=False, info=info)
