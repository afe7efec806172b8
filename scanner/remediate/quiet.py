"""Quiet nights: what a plan reads from the store before planning, and the actions it leaves out
because the very same plan was recorded before.

An action that would not act (a dry run, a skip, a hold) is recorded once per plan key — its finding,
the file's revision and sharing, the rule, the mode and what it would do, hashed (see
:func:`scanner.remediate.plan.plan_key`) — and stays until one of those changes. A notice is left out
with it unless something acts for its finding in this run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from scanner.policy.schema import Rule
from scanner.remediate.plan import ENFORCE, NOTICE_ACTIONS, PlanContext, PlannedAction, RemediationPlan
from scanner.store.models import Finding, RemediationAction
from scanner.timeparse import TimeParseError, parse_instant

_IN_CHUNK = 900


def _recorded(session: Session, keys: Sequence[str]) -> set[str]:
    out: set[str] = set()
    for start in range(0, len(keys), _IN_CHUNK):
        chunk = list(keys[start:start + _IN_CHUNK])
        out.update(k for k in session.scalars(select(RemediationAction.plan_key)
                                              .where(RemediationAction.plan_key.in_(chunk))) if k)
    return out


def drop_recorded(session: Session, plan: RemediationPlan) -> RemediationPlan:
    """The plan without the actions that would not act and were recorded with the same plan key before."""
    quiet = [a.plan_key for a in plan.actions if not a.will_act and a.plan_key]
    if not quiet:
        return plan
    recorded = _recorded(session, sorted(set(quiet)))
    acting_findings = {a.finding_id for a in plan.actions if a.will_act}
    kept: list[PlannedAction] = []
    dropped = 0
    for action in plan.actions:
        notice_reports_changes = action.action in NOTICE_ACTIONS and action.finding_id in acting_findings
        if not action.will_act and not notice_reports_changes and action.plan_key in recorded:
            dropped += 1
            continue
        kept.append(action)
    return replace(plan, actions=tuple(kept), unchanged=plan.unchanged + dropped)


def _deadline(value: object) -> dt.datetime | None:
    if not value:
        return None
    try:
        return parse_instant(str(value))
    except TimeParseError:
        return None


def justify_request(session: Session, finding_id: int) -> RemediationAction | None:
    """The latest request sent to the owner of this finding to justify its sharing."""
    return session.scalars(select(RemediationAction).where(
        RemediationAction.finding_id == finding_id, RemediationAction.action == "justify",
        RemediationAction.mode == ENFORCE, RemediationAction.status == "applied")
        .order_by(RemediationAction.id.desc()).limit(1)).first()


def justify_deadlines(session: Session, finding_ids: Iterable[int]) -> dict[int, dt.datetime]:
    """finding id -> the deadline of the latest request sent to its owner to justify the sharing."""
    ids = list(finding_ids)
    if not ids:
        return {}
    rows = session.scalars(select(RemediationAction).where(
        RemediationAction.finding_id.in_(ids), RemediationAction.action == "justify",
        RemediationAction.mode == ENFORCE, RemediationAction.status == "applied").order_by(RemediationAction.id))
    out: dict[int, dt.datetime] = {}
    for row in rows:
        when = _deadline((row.after or {}).get("deadline"))
        if when is not None and row.finding_id is not None:
            out[row.finding_id] = when
    return out


def plan_context(session: Session, rules: Iterable[Rule], findings: Sequence[Finding], *, now: dt.datetime,
                 explicit: bool = False, blocked: str | None = None) -> PlanContext:
    """Everything :func:`scanner.remediate.plan.build_plan` needs from the store for these findings."""
    folder_ids = {f.folder_finding_id for f in findings if f.folder_finding_id is not None}
    open_folders = frozenset(session.scalars(select(Finding.id).where(
        Finding.id.in_(folder_ids), Finding.status == "open", Finding.detection_state == "active"))) \
        if folder_ids else frozenset()
    asking = {r.id for r in rules if any(a.kind == "justify" for a in r.actions)}
    deadlines = justify_deadlines(session, [f.id for f in findings if f.rule_id in asking]) if asking else {}
    return PlanContext(now=now, explicit=explicit, open_folder_findings=open_folders, justify_deadlines=deadlines,
                       enforcement_blocked=blocked)
