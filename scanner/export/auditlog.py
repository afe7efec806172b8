"""Read side of the audit log for people: list events; verify the log (chain, anchors, table states)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from scanner.export.anchors import Anchor, AnchorProblem, check_anchor, load_checkpoints, manifest_anchor
from scanner.store import audit
from scanner.store.audit import ChainReport
from scanner.store.models import AuditEvent
from scanner.store.statechain import StateProblem, StateTracker, verify_states


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


@dataclass
class AuditVerification:
    """``audit verify``: the chain itself, against its anchors, and the tables against their state events."""

    chain: ChainReport
    anchor_dir: str
    #: Anchors that were read and checked, the newest checkpoint first among them.
    anchors: list[Anchor] = field(default_factory=list)
    latest: Anchor | None = None
    anchor_problems: list[AnchorProblem] = field(default_factory=list)
    state_problems: list[StateProblem] = field(default_factory=list)
    rows_checked: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.anchor_problems and not self.state_problems

    def problems(self) -> list[str]:
        out = []
        if self.chain.problem is not None:
            out.append(f"chain broken at event seq {self.chain.problem.seq} (id {self.chain.problem.event_id}): "
                       f"{self.chain.problem.problem}")
        out += [str(p) for p in self.anchor_problems] + [str(p) for p in self.state_problems]
        return out


def verify_log(session: Session, *, anchor_dir: Path, trusted: Ed25519PublicKey | None,
               manifests: Sequence[Path] = ()) -> AuditVerification:
    """Walk the chain (HMAC/hash links), compare its head with every checkpoint in ``anchor_dir`` and every
    given export manifest, and the findings/actions/exemptions tables with their newest state events."""
    tracker = StateTracker()
    chain = audit.verify_chain(session, on_event=tracker)
    result = AuditVerification(chain=chain, anchor_dir=str(anchor_dir))
    checkpoints, result.anchor_problems = load_checkpoints(anchor_dir, trusted)
    checkpoints.sort(key=lambda a: (a.seq, a.created_at), reverse=True)
    if not checkpoints:
        result.warnings.append(f"no checkpoint in {anchor_dir}: events cut from the end of the log cannot be "
                               "detected (checkpoints are written after every scan and export)")
    anchors: list[Anchor] = list(checkpoints)
    for path in manifests:
        got = manifest_anchor(path, trusted)
        if isinstance(got, AnchorProblem):
            result.anchor_problems.append(got)
        else:
            anchors.append(got)
    genesis, last_seq = audit.genesis_hash(session), audit.max_seq(session)
    for anchor in anchors:
        problem = check_anchor(session, anchor, genesis=genesis, last_seq=last_seq)
        if problem is not None:
            result.anchor_problems.append(AnchorProblem(anchor.source, problem))
    result.anchors = anchors
    result.latest = checkpoints[0] if checkpoints else None
    if chain.ok:
        result.state_problems, result.rows_checked = verify_states(session, tracker)
    else:
        result.warnings.append("table states not checked: the chain itself is broken")
    if chain.ok and chain.legacy_events and not chain.keyed_events:
        result.warnings.append(f"all {chain.legacy_events} events are unkeyed (written before the audit key): "
                               "only anchors protect them")
    return result


def verification_record(v: AuditVerification) -> dict[str, Any]:
    """A JSON-able summary of :func:`verify_log`."""
    record = report_record(v.chain)
    record["ok"] = v.ok
    record |= {
        "anchor": v.latest.describe() if v.latest else None,
        "anchors_checked": len(v.anchors),
        "anchor_dir": v.anchor_dir,
        "rows_checked": v.rows_checked,
        "problems": v.problems(),
        "warnings": v.warnings,
    }
    return record


def report_record(report: ChainReport) -> dict[str, Any]:
    """A JSON-able summary of a chain verification."""
    problem = report.problem
    return {
        "ok": report.ok,
        "events": report.events,
        "head_seq": report.head_seq,
        "head_hash": report.head_hash,
        "keyed_events": report.keyed_events,
        "legacy_events": report.legacy_events,
        "first_bad_seq": problem.seq if problem else None,
        "first_bad_event_id": problem.event_id if problem else None,
        "problem": problem.problem if problem else None,
    }
