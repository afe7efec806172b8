"""The audit log's hash chain: every kind of tampering is detected and the first bad event named."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from scanner.cli.main import cli
from scanner.store import audit
from scanner.store.models import AuditEvent

T0 = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)


def _seed(sessions: sessionmaker[Session], n: int = 6) -> list[str]:
    hashes = []
    with sessions.begin() as s:
        for i in range(1, n + 1):
            ev = audit.record(
                s, "finding.opened" if i % 2 else "action.applied", actor=f"scanner@host{i}",
                subject_type="finding", subject_id=str(i), data={"n": i, "name": "Ünïcode ✓", "nested": {"b": [1, 2]}},
                ts=T0 + dt.timedelta(minutes=i),
            )
            hashes.append(ev.hash)
    return hashes


def _verify(sessions: sessionmaker[Session]) -> audit.ChainReport:
    with sessions() as s:
        return audit.verify_chain(s)


def test_empty_chain_is_ok(sessions: sessionmaker[Session]) -> None:
    report = _verify(sessions)
    assert (report.ok, report.events, report.head_hash) == (True, 0, audit.GENESIS)
    with sessions() as s:
        assert audit.head_hash(s) == audit.GENESIS


def test_intact_chain_verifies_and_head_is_last_hash(sessions: sessionmaker[Session]) -> None:
    hashes = _seed(sessions)
    report = _verify(sessions)
    assert report.ok and report.events == 6 and report.head_hash == hashes[-1]
    with sessions() as s:
        assert audit.head_hash(s) == hashes[-1]
        rows = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[0].prev_hash == audit.GENESIS
    assert all(rows[i].prev_hash == rows[i - 1].hash for i in range(1, 6))


def test_chain_continues_across_transactions(sessions: sessionmaker[Session]) -> None:
    _seed(sessions, 2)
    with sessions.begin() as s:
        ev = audit.record(s, "export.created", actor="a", data={"x": 1.5})
    assert ev.seq == 3
    assert _verify(sessions).ok


def test_rolled_back_event_leaves_no_gap(sessions: sessionmaker[Session]) -> None:
    _seed(sessions, 2)
    with sessions() as s:
        audit.record(s, "x", actor="a")
        s.rollback()
    with sessions.begin() as s:
        assert audit.record(s, "y", actor="a").seq == 3
    assert _verify(sessions).ok


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("data", {"n": 3, "name": "tampered"}),
        ("actor", "mallory@example.com"),
        ("event_type", "finding.accepted"),
        ("chain_version", 1),
        ("subject_id", "999"),
        ("subject_type", "action"),
        ("ts", T0 + dt.timedelta(days=1)),
    ],
)
def test_edited_field_is_named(sessions: sessionmaker[Session], column: str, value: object) -> None:
    _seed(sessions)
    with sessions.begin() as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 3).values({column: value}))
    report = _verify(sessions)
    assert not report.ok and report.problem is not None
    assert report.problem.seq == 3
    assert "edited" in report.problem.problem or "unkeyed event after keyed" in report.problem.problem


def test_edit_with_recomputed_hash_is_caught_at_that_event(sessions: sessionmaker[Session]) -> None:
    """Without the audit key, a recomputed link (plain SHA-256, or HMAC under a guessed key) does not fit."""
    _seed(sessions)
    with sessions.begin() as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.seq == 3)).one()
        ev.data = {"n": 3, "forged": True}
        ev.hash = audit.event_hash(ev.prev_hash, seq=ev.seq, ts=ev.ts, actor=ev.actor, event_type=ev.event_type,
                                   subject_type=ev.subject_type, subject_id=ev.subject_id, data=ev.data,
                                   version=2, key=b"guessed key of 32 bytes........")
    report = _verify(sessions)
    assert report.problem is not None
    assert report.problem.seq == 3 and "HMAC mismatch" in report.problem.problem


def test_deleted_event_is_named(sessions: sessionmaker[Session]) -> None:
    _seed(sessions)
    with sessions.begin() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq == 3))
    report = _verify(sessions)
    assert report.problem is not None
    assert report.problem.seq == 4
    assert "missing" in report.problem.problem and "expected seq 3" in report.problem.problem


def test_deleted_first_event_is_named(sessions: sessionmaker[Session]) -> None:
    _seed(sessions)
    with sessions.begin() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq == 1))
    report = _verify(sessions)
    assert report.problem is not None and report.problem.seq == 2


def test_delete_and_renumber_is_caught(sessions: sessionmaker[Session]) -> None:
    """Deleting a row and closing the seq gap still breaks prev_hash."""
    _seed(sessions)
    with sessions.begin() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq == 3))
        for seq in (4, 5, 6):
            s.execute(update(AuditEvent).where(AuditEvent.seq == seq).values(seq=seq - 1))
    report = _verify(sessions)
    assert report.problem is not None
    assert report.problem.seq == 3  # the event that was seq 4
    assert report.problem.problem in ("prev_hash does not match the previous event",
                                      "content was edited (hash mismatch)")


def test_reordered_events_are_named(sessions: sessionmaker[Session]) -> None:
    """Swap the seq numbers of two rows (rows stay in insertion order)."""
    _seed(sessions)
    with sessions.begin() as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(seq=-2))
        s.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(seq=2))
        s.execute(update(AuditEvent).where(AuditEvent.seq == -2).values(seq=3))
    report = _verify(sessions)
    assert report.problem is not None
    assert report.problem.seq == 3 and "expected seq 2" in report.problem.problem


def test_swapped_contents_are_named(sessions: sessionmaker[Session]) -> None:
    """Swap every column of two rows except the primary key: the log reads in a different order."""
    _seed(sessions)
    cols = ["seq", "ts", "actor", "event_type", "subject_type", "subject_id", "data", "prev_hash", "hash"]
    with sessions.begin() as s:
        a, b = (s.scalars(select(AuditEvent).where(AuditEvent.seq == q)).one() for q in (2, 3))
        a_id = a.id
        va, vb = ({c: getattr(a, c) for c in cols}, {c: getattr(b, c) for c in cols})
        s.execute(update(AuditEvent).where(AuditEvent.id == a_id).values(seq=-1, hash="x" * 64))
        s.execute(update(AuditEvent).where(AuditEvent.id == b.id).values(va))
        s.execute(update(AuditEvent).where(AuditEvent.id == a_id).values(vb))
    report = _verify(sessions)
    assert report.problem is not None
    assert report.problem.seq == 3  # the row in position 2 now claims seq 3
    assert report.problem.event_id == a_id


def test_inserted_event_is_named(sessions: sessionmaker[Session]) -> None:
    """Forge an event between 3 and 4: later rows are renumbered, the forged row chains to 3."""
    _seed(sessions)
    with sessions.begin() as s:
        for seq in (6, 5, 4):
            s.execute(update(AuditEvent).where(AuditEvent.seq == seq).values(seq=seq + 1))
        prev = s.scalars(select(AuditEvent).where(AuditEvent.seq == 3)).one()
        ts = T0 + dt.timedelta(minutes=3, seconds=30)
        forged = AuditEvent(seq=4, ts=ts, actor="mallory", event_type="finding.accepted", subject_type="finding",
                            subject_id="1", data={}, prev_hash=prev.hash,
                            hash=audit.event_hash(prev.hash, seq=4, ts=ts, actor="mallory",
                                                  event_type="finding.accepted", subject_type="finding",
                                                  subject_id="1", data={}))
        s.add(forged)
        s.flush()
        forged_id = forged.id
    report = _verify(sessions)
    assert report.problem is not None
    # Rows are walked in insertion (id) order: the renumbered old seq 4 is the first misfit.
    assert report.problem.seq == 5 and "expected seq 4" in report.problem.problem
    assert report.problem.event_id != forged_id


def test_truncated_tail_changes_the_head(sessions: sessionmaker[Session]) -> None:
    """Dropping the newest events keeps the chain consistent; only an anchored head hash (the
    export manifest records it) shows it. verify_chain reports the shorter head."""
    hashes = _seed(sessions)
    with sessions.begin() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq >= 5))
    report = _verify(sessions)
    assert report.ok and report.events == 4
    assert report.head_hash == hashes[3] != hashes[-1]


# --------------------------------------------------------------------------- CLI
@pytest.fixture
def cli_env(sessions: sessionmaker[Session], migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SHARESCAN_DATABASE_URL", migrated_url)
    return migrated_url


def test_cli_verify_ok_json(sessions: sessionmaker[Session], cli_env: str) -> None:
    hashes = _seed(sessions, 3)
    result = CliRunner().invoke(cli, ["audit", "verify", "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert {k: out[k] for k in ("ok", "events", "head_seq", "head_hash", "keyed_events", "first_bad_seq",
                                "problems")} == {"ok": True, "events": 3, "head_seq": 3, "head_hash": hashes[-1],
                                                 "keyed_events": 3, "first_bad_seq": None, "problems": []}


def test_cli_verify_broken_exits_nonzero_naming_event(sessions: sessionmaker[Session], cli_env: str,
                                                      tmp_path: Path) -> None:
    _seed(sessions)
    with sessions.begin() as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 5).values(actor="mallory"))
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", "from scanner.cli.main import main; main()", "audit", "verify",
                           "--format", "json"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 7, proc.stderr
    assert json.loads(proc.stdout)["first_bad_seq"] == 5
    assert "seq 5" in proc.stderr and "edited" in proc.stderr


@pytest.mark.parametrize(
    ("args", "expected_seqs"),
    [
        ([], [1, 2, 3, 4, 5, 6]),
        (["--type", "action.applied"], [2, 4, 6]),
        (["--type", "finding.*"], [1, 3, 5]),
        (["--type", "finding."], [1, 3, 5]),
        (["--since", "2026-03-01T02:04:00Z"], [4, 5, 6]),
        (["--since", "2026-03-01T02:04:00Z", "--type", "finding.opened"], [5]),
        (["--limit", "2"], [1, 2]),
    ],
)
def test_cli_list_filters(sessions: sessionmaker[Session], cli_env: str, args: list[str],
                          expected_seqs: list[int]) -> None:
    _seed(sessions)
    result = CliRunner().invoke(cli, ["audit", "list", "--format", "json", *args])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["seq"] for r in rows] == expected_seqs
    assert all(set(r) == {"seq", "ts", "actor", "type", "subject", "data", "hash"} for r in rows)


def test_cli_list_csv_and_table(sessions: sessionmaker[Session], cli_env: str) -> None:
    with sessions.begin() as s:
        audit.record(s, "finding.opened", actor="=cmd|' /C calc'!A0", subject_type="finding", subject_id="1")
    result = CliRunner().invoke(cli, ["audit", "list", "--format", "csv"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "seq,ts,actor,type,subject,data,hash"
    assert ",'=cmd|' /C calc'!A0," in lines[1]
    table = CliRunner().invoke(cli, ["audit", "list"])
    assert table.exit_code == 0 and "finding.opened" in table.output


def test_cli_list_bad_since(cli_env: str) -> None:
    result = CliRunner().invoke(cli, ["audit", "list", "--since", "yesterday"])
    assert result.exit_code != 0
