"""Append-only, keyed hash chain of audit events.

Each event links to the previous one through its hash:

* ``chain_version`` 1 (events written before the chain was keyed): ``sha256(prev_hash || body)``;
* ``chain_version`` 2: ``HMAC-SHA256(audit key, prev_hash || body)`` — someone with write access to
  the database but not to the key (kept outside it, like the evidence key) cannot re-chain edited events.

``body`` is the canonical JSON of seq, timestamp, actor, type, subject and data (and, from version 2,
the version itself). Version-1 events are accepted only as the prefix of the log: an unkeyed event
after a keyed one is a downgrade and breaks the chain.

What the chain alone cannot show is its own tail being cut: anchors (signed checkpoints written
outside the database, export manifests) record the head; see :mod:`scanner.export.anchors`.

Appends serialise on the chain head: on SQLite every write transaction is ``BEGIN IMMEDIATE``;
on PostgreSQL a transaction-level advisory lock is taken before reading the head.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, func, select, text
from sqlalchemy.orm import Session

from scanner.store.models import AuditEvent, utcnow

GENESIS = "0" * 64
PG_AUDIT_LOCK = 0x5348_4152_4155_4454  # "SHARAUDT"
#: Unkeyed SHA-256 links (the log's legacy prefix) and HMAC-SHA256 links under the audit key.
LEGACY_VERSION, KEYED_VERSION = 1, 2
#: ``Session.info`` keys a sessionmaker carries (see :func:`scanner.store.db.make_sessionmaker`).
AUDIT_KEY_INFO = "sharescan.audit_key"
AUDIT_ACTOR_INFO = "sharescan.actor"


def iso(ts: dt.datetime) -> str:
    return ts.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def event_hash(prev_hash: str, *, seq: int, ts: dt.datetime, actor: str, event_type: str,
               subject_type: str, subject_id: str, data: dict[str, Any], version: int = LEGACY_VERSION,
               key: bytes | None = None) -> str:
    """The link of one event: SHA-256 (version 1) or HMAC-SHA256 under ``key`` (version 2)."""
    fields: dict[str, Any] = {"seq": seq, "ts": iso(ts), "actor": actor, "type": event_type,
                              "subject_type": subject_type, "subject_id": subject_id, "data": data}
    if version == LEGACY_VERSION:
        return hashlib.sha256((prev_hash + canonical_json(fields)).encode()).hexdigest()
    if version != KEYED_VERSION:
        raise ValueError(f"unknown audit chain version {version}")
    if key is None:
        raise ValueError("keyed audit events need the audit key")
    body = canonical_json(fields | {"v": version})
    return hmac.new(key, (prev_hash + body).encode(), hashlib.sha256).hexdigest()


def audit_key(session: Session) -> bytes | None:
    key = session.info.get(AUDIT_KEY_INFO)
    return key if isinstance(key, bytes) else None


def lock_head(session: Session) -> None:
    """Serialise appends for the rest of this transaction (SQLite: the writer already holds the
    database write lock from ``BEGIN IMMEDIATE``)."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_AUDIT_LOCK})


@dataclass(frozen=True)
class NewEvent:
    """One event to append (see :func:`append_many`)."""

    event_type: str
    actor: str
    subject_type: str = ""
    subject_id: str = ""
    data: dict[str, Any] | None = None
    ts: dt.datetime | None = None


_HEAD = select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
_INSERT = cast(Table, AuditEvent.__table__).insert()


def append_many(session: Session, events: Sequence[NewEvent]) -> list[tuple[int, str]]:
    """Append events in order with Core statements on the session's connection (safe inside flush hooks):
    the head is read once, under the lock, and the rows are inserted in one executemany.

    Keyed (version 2) when the session carries the audit key, else legacy version-1 events.
    Returns (seq, hash) of each."""
    if not events:
        return []
    conn = session.connection()
    lock_head(session)
    head = conn.execute(_HEAD).first()
    seq, prev = (int(head[0]), str(head[1])) if head else (0, GENESIS)
    key = audit_key(session)
    version = KEYED_VERSION if key is not None else LEGACY_VERSION
    rows: list[dict[str, Any]] = []
    for e in events:
        seq += 1
        # Round-trip through JSON so what is hashed is exactly what is stored.
        payload = json.loads(json.dumps(e.data or {}, default=str))
        when = e.ts or utcnow()
        digest = event_hash(prev, seq=seq, ts=when, actor=e.actor, event_type=e.event_type,
                            subject_type=e.subject_type, subject_id=str(e.subject_id), data=payload, version=version,
                            key=key)
        rows.append({"seq": seq, "ts": when, "actor": e.actor, "event_type": e.event_type,
                     "subject_type": e.subject_type, "subject_id": str(e.subject_id), "data": payload,
                     "prev_hash": prev, "hash": digest, "chain_version": version})
        prev = digest
    conn.execute(_INSERT, rows)
    return [(r["seq"], r["hash"]) for r in rows]


def append(session: Session, event_type: str, *, actor: str, subject_type: str = "", subject_id: str = "",
           data: dict[str, Any] | None = None, ts: dt.datetime | None = None) -> tuple[int, str]:
    """Append one event (see :func:`append_many`); returns its (seq, hash)."""
    return append_many(session, [NewEvent(event_type, actor, subject_type, str(subject_id), data, ts)])[0]


def record(session: Session, event_type: str, *, actor: str, subject_type: str = "", subject_id: str = "",
           data: dict[str, Any] | None = None, ts: dt.datetime | None = None) -> AuditEvent:
    """Append one event in the caller's transaction (it commits with what it describes).

    Pending changes are flushed first, so the state events they cause precede this event."""
    session.flush()
    seq, _ = append(session, event_type, actor=actor, subject_type=subject_type, subject_id=subject_id,
                    data=data, ts=ts)
    event = session.scalars(select(AuditEvent).where(AuditEvent.seq == seq)).one()
    return event


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    event_id: int
    problem: str


@dataclass(frozen=True)
class ChainReport:
    events: int
    head_hash: str
    problem: ChainProblem | None
    head_seq: int = 0
    keyed_events: int = 0
    legacy_events: int = 0

    @property
    def ok(self) -> bool:
        return self.problem is None


def events_in_order(session: Session, batch: int = 1000) -> Iterator[AuditEvent]:
    """Every event in insertion order, ``batch`` rows per query."""
    last_id = 0
    while True:
        query = select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        rows = session.scalars(query).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id


def _check(event: AuditEvent, prev: str, expected_seq: int, keyed_seen: bool, key: bytes | None) -> str | None:
    if event.seq != expected_seq:
        kind = "missing or reordered events" if event.seq > expected_seq else "reordered or duplicated event"
        return f"{kind}: expected seq {expected_seq}"
    if event.prev_hash != prev:
        return "prev_hash does not match the previous event"
    version = event.chain_version
    if version == LEGACY_VERSION and keyed_seen:
        return "unkeyed event after keyed events (the chain was re-written without the audit key)"
    if version not in (LEGACY_VERSION, KEYED_VERSION):
        return f"unknown chain version {version}"
    if version == KEYED_VERSION and key is None:
        return "keyed event, but no audit key to check it with ([audit] key_file)"
    computed = event_hash(prev, seq=event.seq, ts=event.ts, actor=event.actor, event_type=event.event_type,
                          subject_type=event.subject_type, subject_id=event.subject_id, data=event.data,
                          version=version, key=key)
    if not hmac.compare_digest(computed, event.hash):
        if version == KEYED_VERSION:
            return "content was edited or the event was forged (HMAC mismatch under the audit key)"
        return "content was edited (hash mismatch)"
    return None


def verify_chain(session: Session, *, key: bytes | None = None,
                 on_event: Callable[[AuditEvent], None] | None = None) -> ChainReport:
    """Walk the log in insertion order; name the first event that does not fit the chain.

    ``key`` defaults to the session's audit key. ``on_event`` sees every event that fits (for
    checks built on the chain, such as the state digests)."""
    key = key if key is not None else audit_key(session)
    prev, expected_seq, count, keyed, legacy = GENESIS, 1, 0, 0, 0
    for event in events_in_order(session):
        count += 1
        problem = _check(event, prev, expected_seq, keyed > 0, key)
        if problem is not None:
            return ChainReport(count, prev, ChainProblem(event.seq, event.id, problem), expected_seq - 1, keyed, legacy)
        if event.chain_version == KEYED_VERSION:
            keyed += 1
        else:
            legacy += 1
        if on_event is not None:
            on_event(event)
        prev, expected_seq = event.hash, expected_seq + 1
    return ChainReport(count, prev, None, expected_seq - 1, keyed, legacy)


def head(session: Session) -> tuple[int, str]:
    """(seq, hash) of the newest event; (0, GENESIS) for an empty log."""
    row = session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS)


def head_hash(session: Session) -> str:
    return head(session)[1]


def hash_at(session: Session, seq: int) -> str | None:
    """The stored hash of event ``seq`` (None when there is no such event)."""
    return session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == seq))


def genesis_hash(session: Session) -> str | None:
    """The hash of the first event: names this log in its anchors."""
    return hash_at(session, 1)


def max_seq(session: Session) -> int:
    return int(session.scalar(select(func.max(AuditEvent.seq))) or 0)
