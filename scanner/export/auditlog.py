"""Read side of the audit log for people: list events, summarise a chain verification."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from scanner.store.audit import ChainReport
from scanner.store.models import AuditEvent


@dataclass(frozen=True)
class AuditEventView:
    seq: int
    ts: dt.datetime
    actor: str
    event_type: str
    subject_type: str
    subject_id: str
    data: dict[str, Any]
    hash: str

    def as_row(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "ts": self.ts, "actor": self.actor, "type": self.event_type,
            "subject": f"{self.subject_type}:{self.subject_id}" if self.subject_type else self.subject_id,
            "data": self.data, "hash": self.hash,
        }


def list_events(session: Session, *, since: dt.datetime | None = None, types: Sequence[str] = (),
                limit: int | None = None) -> list[AuditEventView]:
    """Events in chain order; ``types`` matches exactly or by prefix ending in ``.`` / ``*``
    (``finding.`` or ``finding.*`` selects every ``finding.…`` event)."""
    query = select(AuditEvent).order_by(AuditEvent.seq)
    if since is not None:
        query = query.where(AuditEvent.ts >= since)
    if types:
        clauses = []
        for t in types:
            prefix = t[:-1] if t.endswith("*") else t
            clauses.append(AuditEvent.event_type.startswith(prefix) if prefix.endswith(".")
                           else AuditEvent.event_type == t)
        query = query.where(or_(*clauses))
    if limit is not None:
        query = query.limit(limit)
    return [
        AuditEventView(e.seq, e.ts, e.actor, e.event_type, e.subject_type, e.subject_id, dict(e.data or {}), e.hash)
        for e in session.scalars(query)
    ]


def report_record(report: ChainReport) -> dict[str, Any]:
    """A JSON-able summary of a chain verification."""
    problem = report.problem
    return {
        "ok": report.ok,
        "events": report.events,
        "head_hash": report.head_hash,
        "first_bad_seq": problem.seq if problem else None,
        "first_bad_event_id": problem.event_id if problem else None,
        "problem": problem.problem if problem else None,
    }
