"""The run lock: at most one scan per database at a time.

PostgreSQL: a session-level ``pg_try_advisory_lock`` held on a dedicated connection for the
whole run. The server releases it when that connection ends, so a killed process never leaves
a lock behind. A row in ``run_locks`` only records who holds it (for the error message).

SQLite (no advisory locks): the ``run_locks`` row *is* the lock. Taking it is one write
transaction (``BEGIN IMMEDIATE``, so two contenders queue) that inserts the row, or replaces it
when it is stale: the holder's heartbeat is older than ``stale_after``, or the holder ran on this
host and its pid is gone. The primary key makes a lost race an insert failure, never two holders.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from sqlalchemy import Connection, Engine, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from scanner.app import App
from scanner.core.errors import RunLockedError
from scanner.store.models import RunLock as RunLockRow
from scanner.store.models import utcnow

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def advisory_key(name: str, schema: str = "public") -> int:
    """A stable signed 64-bit key for ``pg_try_advisory_lock`` derived from the lock name and the schema
    sharescan's tables live in (advisory locks are per database: two installations in two schemas of
    one database must not block each other)."""
    digest = hashlib.sha256(f"sharescan:run-lock:{schema}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


@dataclass(frozen=True)
class LockHolder:
    holder: str
    run_id: int | None
    acquired_at: dt.datetime
    heartbeat_at: dt.datetime

    def describe(self, now: dt.datetime) -> str:
        age = int((now - self.heartbeat_at).total_seconds())
        return (f"held by {self.holder} since {self.acquired_at.isoformat(timespec='seconds')}"
                f" (last heartbeat {age}s ago)")


class RunLock:
    """``with RunLock(engine, holder=..., stale_after=...):`` — or acquire()/heartbeat()/release()."""

    def __init__(self, engine: Engine, name: str = "scan", *, holder: str | None = None,
                 stale_after: dt.timedelta = dt.timedelta(seconds=900), run_id: int | None = None,
                 clock: Clock = utcnow) -> None:
        self.engine = engine
        self.name = name
        self.holder = holder or default_holder()
        self.stale_after = stale_after
        self.run_id = run_id
        self._clock = clock
        self._conn: Connection | None = None  # PostgreSQL: the connection that holds the lock
        self._key = 0  # PostgreSQL: the advisory key, set when taken (it depends on the schema)
        self._held = False

    # ------------------------------------------------------------------ public
    @property
    def held(self) -> bool:
        return self._held

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def acquire(self) -> None:
        """Take the lock or raise :class:`RunLockedError` naming the holder and since when."""
        if self._held:
            raise RuntimeError(f"run lock {self.name!r} already held by this RunLock")
        if self.is_postgres:
            self._acquire_postgres()
        else:
            self._acquire_table()
        self._held = True
        log.info("run lock %r acquired by %s", self.name, self.holder)

    def heartbeat(self, run_id: int | None = None) -> None:
        """Record that the holder is alive (call it at least every ``stale_after``/3).

        Raises :class:`RunLockedError` if the lock was taken over (our heartbeat was too old).
        """
        if not self._held:
            raise RuntimeError(f"run lock {self.name!r} is not held")
        if run_id is not None:
            self.run_id = run_id
        now = self._clock()
        if self.is_postgres:
            assert self._conn is not None
            self._conn.execute(text("SELECT 1"))  # fails loudly if the lock's connection is gone
            self._conn.commit()
            self._write_info_postgres(now, replace=False)
            return
        with self.engine.begin() as conn:
            result = conn.execute(
                update(RunLockRow).where(RunLockRow.name == self.name, RunLockRow.holder == self.holder)
                .values(heartbeat_at=now, run_id=self.run_id)
            )
            if result.rowcount == 0:
                self._held = False
                raise RunLockedError(f"run lock {self.name!r} was lost by {self.holder} (taken over as stale)")

    def release(self) -> None:
        if not self._held:
            return
        self._held = False
        try:
            if self.is_postgres:
                self._release_postgres()
            else:
                with self.engine.begin() as conn:
                    conn.execute(delete(RunLockRow).where(RunLockRow.name == self.name,
                                                          RunLockRow.holder == self.holder))
        finally:
            log.info("run lock %r released by %s", self.name, self.holder)

    def current_holder(self) -> LockHolder | None:
        with self.engine.connect() as conn:
            return self._read(conn)

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    # ------------------------------------------------------------------ helpers
    def _read(self, conn: Connection) -> LockHolder | None:
        row = conn.execute(
            select(RunLockRow.holder, RunLockRow.run_id, RunLockRow.acquired_at, RunLockRow.heartbeat_at)
            .where(RunLockRow.name == self.name)
        ).first()
        return LockHolder(row[0], row[1], row[2], row[3]) if row else None

    def _locked_error(self, holder: LockHolder | None, now: dt.datetime) -> RunLockedError:
        who = holder.describe(now) if holder else "held by another process"
        return RunLockedError(f"another scan or remediation is running: run lock {self.name!r} {who}")

    def _is_stale(self, holder: LockHolder, now: dt.datetime) -> str | None:
        if now - holder.heartbeat_at > self.stale_after:
            return f"heartbeat older than {int(self.stale_after.total_seconds())}s"
        host, _, pid = holder.holder.rpartition(":")
        if host == socket.gethostname() and pid.isdigit() and not pid_alive(int(pid)):
            return f"process {pid} on this host is gone"
        return None

    # SQLite (and any database without advisory locks) ---------------------------------
    def _acquire_table(self) -> None:
        now = self._clock()
        try:
            with self.engine.begin() as conn:  # BEGIN IMMEDIATE on sharescan's SQLite engines
                current = self._read(conn)
                if current is not None:
                    reason = self._is_stale(current, now)
                    if reason is None:
                        raise self._locked_error(current, now)
                    log.warning("run lock %r: taking over stale lock of %s (%s)", self.name, current.holder, reason)
                    conn.execute(delete(RunLockRow).where(RunLockRow.name == self.name,
                                                          RunLockRow.holder == current.holder))
                conn.execute(insert(RunLockRow).values(name=self.name, holder=self.holder, run_id=self.run_id,
                                                       acquired_at=now, heartbeat_at=now))
        except IntegrityError:
            with self.engine.connect() as conn:
                raise self._locked_error(self._read(conn), now) from None

    # PostgreSQL ----------------------------------------------------------------------
    def _acquire_postgres(self) -> None:
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            self._key = advisory_key(self.name, conn.execute(text("SELECT current_schema()")).scalar() or "public")
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}).scalar()
            conn.commit()  # AUTOCOMMIT: ends SQLAlchemy's autobegun Transaction object only
        except Exception:
            conn.close()
            raise
        if not got:
            now = self._clock()
            holder = self._read(conn)
            conn.commit()
            conn.close()
            raise self._locked_error(holder, now)
        self._conn = conn
        try:
            self._write_info_postgres(self._clock(), replace=True)
        except Exception:
            self._release_postgres()
            raise

    def _write_info_postgres(self, now: dt.datetime, *, replace: bool) -> None:
        # Only the advisory-lock holder writes this row, so plain autocommitted statements suffice.
        conn = self._conn
        assert conn is not None
        if replace:
            conn.execute(delete(RunLockRow).where(RunLockRow.name == self.name))
            conn.execute(insert(RunLockRow).values(name=self.name, holder=self.holder, run_id=self.run_id,
                                                   acquired_at=now, heartbeat_at=now))
        else:
            conn.execute(update(RunLockRow).where(RunLockRow.name == self.name)
                         .values(heartbeat_at=now, run_id=self.run_id))
        conn.commit()

    def _release_postgres(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute(delete(RunLockRow).where(RunLockRow.name == self.name, RunLockRow.holder == self.holder))
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
            conn.commit()
        finally:
            conn.close()


class Heartbeat:
    """``with lock, Heartbeat(lock):`` beats the held lock from a background thread (every quarter of
    ``stale_after``, at least every 5 s apart) for as long as the block lasts."""

    def __init__(self, lock: RunLock, *, interval: float | None = None) -> None:
        self.lock = lock
        self.interval = interval if interval is not None else max(5.0, lock.stale_after.total_seconds() / 4)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="run-lock-heartbeat", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.lock.heartbeat()
            except Exception:  # noqa: BLE001 - logged; the work itself decides nothing here
                log.exception("run lock heartbeat failed")

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def run_lock_for(app: App, name: str = "scan", *, holder: str | None = None) -> RunLock:
    """The run lock configured by ``[schedule] stale_lock_seconds`` on the app's database."""
    return RunLock(app.engine, name, holder=holder,
                   stale_after=dt.timedelta(seconds=app.settings.schedule.stale_lock_seconds))
