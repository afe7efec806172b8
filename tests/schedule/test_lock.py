"""The run lock: exactly one holder, stale locks recovered, clear errors (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select

from scanner.core.errors import RunLockedError
from scanner.schedule.lock import RunLock, advisory_key
from scanner.store.db import make_engine
from scanner.store.models import RunLock as RunLockRow

HOLDER_SCRIPT = Path(__file__).with_name("lock_holder.py")
STALE = dt.timedelta(seconds=900)


@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    eng = make_engine(migrated_url)
    yield eng
    eng.dispose()


def _spawn(url: str, hold: float, go: Path | None = None) -> subprocess.Popen[str]:
    args = [sys.executable, str(HOLDER_SCRIPT), url, str(hold)] + ([str(go)] if go else [])
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _readline(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    return proc.stdout.readline().strip()


def test_acquire_release_reacquire(engine: Engine) -> None:
    lock = RunLock(engine, holder="host-a:1", stale_after=STALE)
    with lock:
        assert lock.held
        holder = lock.current_holder()
        assert holder is not None and holder.holder == "host-a:1"
    assert not lock.held
    assert lock.current_holder() is None
    with RunLock(engine, holder="host-b:2", stale_after=STALE):
        pass


def test_second_holder_is_refused_with_holder_and_since(engine: Engine) -> None:
    first = RunLock(engine, holder="scanner-1.example:4242", stale_after=STALE)
    first.acquire()
    try:
        with pytest.raises(RunLockedError) as info:
            RunLock(engine, holder="scanner-2.example:99", stale_after=STALE).acquire()
        message = str(info.value)
        assert "scanner-1.example:4242" in message and "since" in message
        assert info.value.exit_code == 75
    finally:
        first.release()


def test_locks_with_different_names_are_independent(engine: Engine) -> None:
    with RunLock(engine, "scan", holder="h:1", stale_after=STALE), \
         RunLock(engine, "remediate", holder="h:2", stale_after=STALE):
        pass


def test_threads_racing_exactly_one_acquires(migrated_url: str) -> None:
    n = 6
    engines = [make_engine(migrated_url) for _ in range(n)]
    barrier = threading.Barrier(n)
    results: list[str] = []
    held = threading.Event()
    done = threading.Event()

    def contender(i: int) -> None:
        lock = RunLock(engines[i], holder=f"thread-host:{10_000 + i}", stale_after=STALE)
        with engines[i].connect():
            pass
        barrier.wait()
        try:
            lock.acquire()
        except RunLockedError:
            results.append("locked")
            return
        results.append("acquired")
        held.set()
        done.wait(10)
        lock.release()

    threads = [threading.Thread(target=contender, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(results) < n and time.monotonic() < deadline:
        time.sleep(0.01)
    done.set()
    for t in threads:
        t.join(10)
    for e in engines:
        e.dispose()
    assert sorted(results) == ["acquired"] + ["locked"] * (n - 1)


def test_two_processes_at_once_exactly_one_acquires(migrated_url: str, tmp_path: Path) -> None:
    go = tmp_path / "go"
    procs = [_spawn(migrated_url, 2.0, go) for _ in range(2)]
    try:
        assert [_readline(p) for p in procs] == ["READY", "READY"]
        go.touch()
        lines = sorted(_readline(p) for p in procs)
        assert lines[0] == "ACQUIRED", lines
        assert lines[1].startswith("LOCKED another scan or remediation is running"), lines
        codes = sorted(p.wait(30) for p in procs)
        assert codes == [0, 75]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def test_lock_of_killed_process_is_recovered(engine: Engine, migrated_url: str) -> None:
    proc = _spawn(migrated_url, 60.0)
    try:
        assert _readline(proc) == "READY"
        assert _readline(proc) == "ACQUIRED"
        with pytest.raises(RunLockedError, match=rf"{socket.gethostname()}:{proc.pid}"):
            RunLock(engine, holder="me:1", stale_after=STALE).acquire()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # PostgreSQL drops the advisory lock when the backend sees the socket close: allow a moment.
    deadline = time.monotonic() + 10
    lock = RunLock(engine, holder=f"{socket.gethostname()}:{os.getpid()}", stale_after=STALE)
    while True:
        try:
            lock.acquire()
            break
        except RunLockedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    assert lock.current_holder() is not None
    lock.release()


def _insert_row(engine: Engine, holder: str, heartbeat: dt.datetime) -> None:
    with engine.begin() as conn:
        conn.execute(insert(RunLockRow).values(name="scan", holder=holder, run_id=7, acquired_at=heartbeat,
                                               heartbeat_at=heartbeat))


def test_sqlite_stale_heartbeat_is_taken_over_fresh_is_not(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the table is the lock only on SQLite (PostgreSQL uses advisory locks)")
    now = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
    _insert_row(engine, "other-host:123", now - dt.timedelta(seconds=60))
    with pytest.raises(RunLockedError, match=r"other-host:123 since 2026-03-01T01:59:00\+00:00 "
                                             r"\(last heartbeat 60s ago\)"):
        RunLock(engine, holder="me:1", stale_after=STALE, clock=lambda: now).acquire()
    later = now + dt.timedelta(seconds=901)
    lock = RunLock(engine, holder="me:1", stale_after=STALE, clock=lambda: later)
    lock.acquire()
    holder = lock.current_holder()
    assert holder is not None and (holder.holder, holder.acquired_at) == ("me:1", later)
    lock.release()


def test_sqlite_dead_pid_on_this_host_is_taken_over(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(proc.stdout)
    _insert_row(engine, f"{socket.gethostname()}:{dead_pid}", dt.datetime.now(dt.UTC))
    with RunLock(engine, holder="me:1", stale_after=STALE) as lock:
        assert lock.current_holder().holder == "me:1"  # type: ignore[union-attr]


def test_sqlite_live_pid_on_this_host_is_respected(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    _insert_row(engine, f"{socket.gethostname()}:{os.getppid()}", dt.datetime.now(dt.UTC))
    with pytest.raises(RunLockedError):
        RunLock(engine, holder="me:1", stale_after=STALE).acquire()


def test_heartbeat_updates_and_detects_takeover(engine: Engine) -> None:
    t = [dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)]
    lock = RunLock(engine, holder="me:1", stale_after=STALE, clock=lambda: t[0])
    lock.acquire()
    t[0] += dt.timedelta(seconds=30)
    lock.heartbeat(run_id=42)
    with engine.connect() as conn:
        row = conn.execute(select(RunLockRow.heartbeat_at, RunLockRow.run_id)).one()
    assert (row[0], row[1]) == (t[0], 42)
    if engine.dialect.name == "sqlite":
        # Someone took the lock over as stale: our next heartbeat says so.
        with engine.begin() as conn:
            conn.execute(RunLockRow.__table__.update().values(holder="thief:9"))
        with pytest.raises(RunLockedError, match="lost"):
            lock.heartbeat()
        assert not lock.held
    else:
        lock.release()


def test_postgres_lock_is_an_advisory_lock(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    from sqlalchemy import text

    with engine.connect() as conn:
        key = advisory_key("scan", conn.execute(text("SELECT current_schema()")).scalar())
    with RunLock(engine, holder="me:1", stale_after=STALE), engine.connect() as conn:
        assert conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar() is False
        # another schema of the same database (another installation, another test) is not blocked
        other = advisory_key("scan", "someone_else")
        assert conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": other}).scalar()
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": other})
    with engine.connect() as conn:
        assert conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})


def test_advisory_key_is_stable_signed_64bit() -> None:
    assert advisory_key("scan") == advisory_key("scan") != advisory_key("remediate")
    assert advisory_key("scan", "a") != advisory_key("scan", "b")
    assert -(2**63) <= advisory_key("scan") < 2**63
