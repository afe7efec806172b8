"""The current state of findings, remediation actions and exemptions, provable from the audit chain.

Every change to a *covered* field of those rows — whoever makes it, through any code path that goes
through the ORM — appends a state event (``finding.state``, ``action.state``, ``exemption.state``) in
the same transaction, carrying the new state and its digest. :func:`verify_states` recomputes the
digests from the tables and compares them with the newest state event of each row, so a direct edit
of the database (a failed action marked ``verified``, a critical finding marked ``resolved``, a
deleted or inserted row) is reported.

The mechanism is a pair of session hooks (``after_flush`` collects what changed, comparing the old
and new states; ``after_flush_postexec`` appends the events), so new code that changes a status needs
nothing extra. Scan bookkeeping (``last_seen``, ``last_run_id``, titles…) is not covered: unchanged
nights add no events. Bulk ``UPDATE``/``DELETE`` statements bypass the ORM and therefore the hook:
never use them on covered tables.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.base import NO_VALUE

from scanner.store import audit
from scanner.store.models import AuditEvent, Base, Exemption, Finding, PostureFinding, RemediationAction


@dataclass(frozen=True)
class Coverage:
    """Which fields of one table the chain proves."""

    model: type[Base]
    #: Audit event type of its state events, and the subject type they name.
    event_type: str
    subject_type: str
    #: Fields carried in clear in the state.
    fields: tuple[str, ...]
    #: Larger fields carried as one digest each (named ``<field>_digest`` in the state).
    digested: tuple[str, ...] = ()
    #: Groups of large fields carried as one digest (name → fields).
    grouped: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def columns(self) -> tuple[str, ...]:
        return self.fields + self.digested + tuple(f for _, group in self.grouped for f in group)


COVERAGE: tuple[Coverage, ...] = (
    Coverage(Finding, "finding.state", "finding",
             fields=("fingerprint", "rule_id", "file_id", "severity", "status", "detection_state", "exposure",
                     "exposure_after", "exposed_since", "remediated_at", "resolved_at", "accepted_until",
                     "recurrence_count"),
             grouped=(("evidence", ("matched_permissions", "detectors", "data_categories")),)),
    Coverage(RemediationAction, "action.state", "remediation_action",
             fields=("finding_id", "file_id", "action", "permission_id", "target_file_id", "mode", "status",
                     "actor", "completed_at", "restores_action_id"),
             digested=("before", "after", "detail")),
    Coverage(Exemption, "exemption.state", "exemption",
             fields=("finding_id", "rule_id", "file_id", "folder_id", "actor", "expires_at", "revoked_at"),
             digested=("reason",)),
    Coverage(PostureFinding, "posture_finding.state", "posture_finding",
             fields=("fingerprint", "check_id", "org_unit_id", "severity", "status", "detection_state",
                     "resolved_at", "accepted_until", "recurrence_count"),
             grouped=(("evidence", ("observed", "applies_to", "is_default")),)),
)
BY_MODEL: dict[type[Base], Coverage] = {c.model: c for c in COVERAGE}
BY_SUBJECT: dict[str, Coverage] = {c.subject_type: c for c in COVERAGE}
STATE_EVENT_TYPES = frozenset(c.event_type for c in COVERAGE)

_PENDING = "sharescan.state_events"


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return audit.iso(value if value.tzinfo else value.replace(tzinfo=dt.UTC))
    return json.loads(json.dumps(value, default=str)) if isinstance(value, dict | list | tuple) else value


def _digest(value: Any) -> str:
    return hashlib.sha256(audit.canonical_json(value).encode()).hexdigest()


def state_of(coverage: Coverage, get: Callable[[str], Any]) -> dict[str, Any]:
    """The covered state of one row, as JSON (``get`` reads a field)."""
    state: dict[str, Any] = {f: _plain(get(f)) for f in coverage.fields}
    for f in coverage.digested:
        state[f"{f}_digest"] = _digest(_plain(get(f)))
    for name, group in coverage.grouped:
        state[f"{name}_digest"] = _digest({f: _plain(get(f)) for f in group})
    return state


def state_digest(state: dict[str, Any]) -> str:
    return _digest(state)


def _old_state(cov: Coverage, obj: Any) -> dict[str, Any] | None:
    """The covered state as last loaded or flushed (None when a field's old value was never loaded)."""
    st = inspect(obj)
    old: dict[str, Any] = {}
    for name in cov.columns():
        value = st.committed_state[name] if name in st.committed_state else st.dict.get(name, NO_VALUE)
        if value is NO_VALUE:
            return None
        old[name] = value
    return state_of(cov, old.__getitem__)


def _current(obj: Any) -> Callable[[str], Any]:
    return lambda name: getattr(obj, name)


def _collect(session: Session, flush_context: Any) -> None:
    """after_flush: the new state of each covered row this flush created, changed (in a covered field) or
    deleted (rows are written by now: ids and defaults are set)."""
    pending: list[tuple[str, Coverage, str, dict[str, Any] | None, dict[str, Any] | None]] = \
        session.info.setdefault(_PENDING, [])
    for obj in session.new:
        cov = BY_MODEL.get(type(obj))
        if cov is not None:
            pending.append(("created", cov, str(obj.id), None, state_of(cov, _current(obj))))
    for obj in session.dirty:
        cov = BY_MODEL.get(type(obj))
        if cov is None or not session.is_modified(obj, include_collections=False):
            continue
        before = _old_state(cov, obj)
        after = state_of(cov, _current(obj))
        if before is None or state_digest(before) != state_digest(after):
            pending.append(("changed", cov, str(obj.id), before, after))
    for obj in session.deleted:
        cov = BY_MODEL.get(type(obj))
        if cov is not None:
            pending.append(("deleted", cov, str(obj.id), None, None))


def _append(session: Session, flush_context: Any) -> None:
    """after_flush_postexec: one state event per collected row, in the same transaction."""
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    actor = str(session.info.get(audit.AUDIT_ACTOR_INFO) or "sharescan")
    events = []
    for change, cov, subject_id, before, state in pending:
        if state is None:
            data: dict[str, Any] = {"change": change, "digest": None, "state": None}
        else:
            data = {"change": change, "digest": state_digest(state), "state": state}
            if before is not None:
                data["changed"] = sorted(k for k in state if state[k] != before.get(k))
        events.append(audit.NewEvent(cov.event_type, actor, cov.subject_type, subject_id, data))
    audit.append_many(session, events)


def _discard(session: Session, *args: Any) -> None:
    session.info.pop(_PENDING, None)


def install() -> None:
    """Register the session hooks (idempotent; done when this module is imported)."""
    if not event.contains(Session, "after_flush", _collect):
        event.listen(Session, "after_flush", _collect)
        event.listen(Session, "after_flush_postexec", _append)
        event.listen(Session, "after_rollback", _discard)


def uninstall() -> None:
    """Remove the hooks (benchmarks compare the store with and without state events)."""
    if event.contains(Session, "after_flush", _collect):
        event.remove(Session, "after_flush", _collect)
        event.remove(Session, "after_flush_postexec", _append)
        event.remove(Session, "after_rollback", _discard)


install()


# --------------------------------------------------------------------------- verification
@dataclass(frozen=True)
class StateProblem:
    subject_type: str
    subject_id: str
    problem: str

    def __str__(self) -> str:
        return f"{self.subject_type} {self.subject_id}: {self.problem}"


class StateTracker:
    """Fed every event of a verified chain: the newest state event of each row (seq and digest only)."""

    def __init__(self) -> None:
        self.latest: dict[tuple[str, str], tuple[int, str | None]] = {}

    def __call__(self, ev: AuditEvent) -> None:
        if ev.event_type in STATE_EVENT_TYPES:
            data = ev.data or {}
            self.latest[(ev.subject_type, ev.subject_id)] = (ev.seq, data.get("digest"))


def _rows(session: Session, cov: Coverage, batch: int = 1000) -> Iterator[tuple[str, dict[str, Any]]]:
    model: Any = cov.model
    columns = [getattr(model, c) for c in ("id", *cov.columns())]
    last = 0
    while True:
        rows = session.execute(select(*columns).where(model.id > last).order_by(model.id).limit(batch)).all()
        if not rows:
            return
        for row in rows:
            yield str(row.id), state_of(cov, row._mapping.__getitem__)
        last = rows[-1].id


def _differences(session: Session, seq: int, state: dict[str, Any]) -> str:
    recorded = session.scalar(select(AuditEvent.data).where(AuditEvent.seq == seq)) or {}
    was = recorded.get("state") or {}
    parts = [f"{k} {_show(state.get(k))} in the table, {_show(was.get(k))} in the chain"
             for k in sorted(set(state) | set(was)) if state.get(k) != was.get(k)]
    return "; ".join(parts) or "digest differs"


def _show(value: Any) -> str:
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return value[:12] + "…"
    return json.dumps(value) if value is not None else "empty"


def verify_states(session: Session, tracker: StateTracker, limit: int = 100) -> tuple[list[StateProblem], int]:
    """Compare every covered row with its newest state event. Returns (problems — at most ``limit``, rows checked)."""
    problems: list[StateProblem] = []
    checked = 0

    def add(p: StateProblem) -> None:
        if len(problems) < limit:
            problems.append(p)

    for cov in COVERAGE:
        seen: set[str] = set()
        for subject_id, state in _rows(session, cov):
            checked += 1
            seen.add(subject_id)
            latest = tracker.latest.get((cov.subject_type, subject_id))
            if latest is None:
                add(StateProblem(cov.subject_type, subject_id, "row has no state event in the audit chain "
                                                              "(inserted outside sharescan)"))
            elif latest[1] is None:
                add(StateProblem(cov.subject_type, subject_id, f"row exists but the chain recorded its deletion "
                                                              f"(seq {latest[0]})"))
            elif latest[1] != state_digest(state):
                diff = _differences(session, latest[0], state)
                add(StateProblem(cov.subject_type, subject_id,
                                 f"row differs from its last state event (seq {latest[0]}): {diff}"))
        for (subject_type, subject_id), (seq, digest) in tracker.latest.items():
            if subject_type == cov.subject_type and digest is not None and subject_id not in seen:
                add(StateProblem(subject_type, subject_id, f"row deleted from the table (its last state event is "
                                                          f"seq {seq})"))
    return problems, checked
