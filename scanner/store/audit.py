"""Append-only, hash-chained audit log.

Each event's hash is ``sha256(prev_hash || canonical_json(event))`` where the canonical JSON
covers seq, timestamp, actor, type, subject and data. Editing, deleting or reordering any
row breaks the chain at that row, which :func:`verify_chain` names.

Appends serialise on the chain head: on SQLite every write transaction is ``BEGIN IMMEDIATE``;
on PostgreSQL a transaction-level advisory lock is taken before reading the head.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from scanner.store.models import AuditEvent, utcnow

GENESIS = "0" * 64
_PG_AUDIT_LOCK = 0x5348_4152_4155_4454  # "SHARAUDT"


def _iso(ts: dt.datetime) -> str:
    return ts.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(prev_hash: str, *, seq: int, ts: dt.datetime, actor: str, event_type: str,
               subject_type: str, subject_id: str, data: dict[str, Any]) -> str:
    body = json.dumps(
        {"seq": seq, "ts": _iso(ts), "actor": actor, "type": event_type, "subject_type": subject_type,
         "subject_id": subject_id, "data": data},
        sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str,
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def record(session: Session, event_type: str, *, actor: str, subject_type: str = "", subject_id: str = "",
           data: dict[str, Any] | None = None, ts: dt.datetime | None = None) -> AuditEvent:
    """Append one event in the caller's transaction (it commits with what it describes)."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
    head = session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
    # Round-trip through JSON so what is hashed is exactly what is stored.
    payload = json.loads(json.dumps(data or {}, default=str))
    when = ts or utcnow()
    event = AuditEvent(
        seq=seq, ts=when, actor=actor, event_type=event_type, subject_type=subject_type,
        subject_id=str(subject_id), data=payload, prev_hash=prev,
        hash=event_hash(prev, seq=seq, ts=when, actor=actor, event_type=event_type,
                        subject_type=subject_type, subject_id=str(subject_id), data=payload),
    )
    session.add(event)
    session.flush()
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

    @property
    def ok(self) -> bool:
        return self.problem is None


def _events(session: Session, batch: int = 1000) -> Iterator[AuditEvent]:
    last_id = 0
    while True:
        query = select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        rows = session.scalars(query).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id


def verify_chain(session: Session) -> ChainReport:
    """Walk the log in insertion order; name the first event that does not fit the chain."""
    prev, expected_seq, count = GENESIS, 1, 0
    for event in _events(session):
        count += 1
        if event.seq != expected_seq:
            kind = "missing or reordered events" if event.seq > expected_seq else "reordered or duplicated event"
            return ChainReport(count, prev, ChainProblem(event.seq, event.id, f"{kind}: expected seq {expected_seq}"))
        if event.prev_hash != prev:
            problem = ChainProblem(event.seq, event.id, "prev_hash does not match the previous event")
            return ChainReport(count, prev, problem)
        computed = event_hash(prev, seq=event.seq, ts=event.ts, actor=event.actor, event_type=event.event_type,
                              subject_type=event.subject_type, subject_id=event.subject_id, data=event.data)
        if computed != event.hash:
            return ChainReport(count, prev, ChainProblem(event.seq, event.id, "content was edited (hash mismatch)"))
        prev, expected_seq = event.hash, expected_seq + 1
    return ChainReport(count, prev, None)


def head_hash(session: Session) -> str:
    row = session.execute(select(AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    return row[0] if row else GENESIS
