"""Quiet nights: what a plan reads from the store before planning, and the actions it leaves out
because the very same plan was recorded before.

An action that would not act (a dry run, a skip, a hold) is recorded once per plan key — its finding,
the file's revision and sharing, the rule, the mode and what it would do, hashed (see
:func:`scanner.remediate.plan.plan_key`) — and stays until one of those changes. A notice is left out
with it unless something acts for its finding in this run.

A scan plans only the findings whose plan inputs may have changed since the last scan that planned
(:func:`findings_to_plan`): an unchanged night costs what its changes cost, not what its open findings
cost (docs/ARCHITECTURE.md, "Nightly cost"). The other findings' plans are the very ones recorded
before, so planning them again would only leave all their actions out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, String, cast, false, or_, select
from sqlalchemy.orm import Session

from scanner.config import Settings
from scanner.connectors.google.mime import GOOGLE_FOLDER
from scanner.core.statuses import ActionStatus
from scanner.policy.schema import Rule
from scanner.remediate.plan import (
    CHANGING_ACTIONS,
    ENFORCE,
    NOTICE_ACTIONS,
    Hold,
    PlanContext,
    PlannedAction,
    RemediationPlan,
    rule_digest,
)
from scanner.store.db import in_chunks
from scanner.store.models import DriveFileRow, Finding, RemediationAction, ScanRun
from scanner.timeparse import TimeParseError, parse_instant


def _recorded(session: Session, keys: Sequence[str]) -> set[str]:
    out: set[str] = set()
    for chunk in in_chunks(keys):
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


# ---------------------------------------------------------------------------- which findings to plan
#: Bumped when what a plan depends on changes in the code: every finding is planned again once.
PLAN_VERSION = 1
#: Statuses of an enforced action that did not try to change anything (nothing to retry or to follow up).
QUIET_STATUSES = frozenset({ActionStatus.PLANNED.value, ActionStatus.SKIPPED.value, Hold.OVER_LIMIT.value,
                            Hold.AWAITING_OWNER.value})
#: More renamed or re-read folders than this in one night: every finding is planned (a LIKE per folder).
MAX_CHANGED_FOLDERS = 200
#: How many runs back to look for the last one that planned (runs that stopped before remediation
#: record no plan).
_BASIS_LOOKBACK = 50


def plan_fingerprint(settings: Settings, rules: Iterable[Rule], *, apply: bool | None, blocked: str | None) -> str:
    """Everything a plan depends on besides the findings, their files and the store: the rules, the
    settings :func:`scanner.remediate.plan.build_plan` reads, the command line's mode, why enforcement
    is blocked, the actions installed. A different fingerprint plans every finding again."""
    from scanner.policy.actions import ACTIONS

    notices = settings.notifications
    payload = {
        "version": PLAN_VERSION, "rules": sorted(rule_digest(r) for r in rules),
        "remediation": settings.remediation.model_dump(mode="json"),
        "domains": list(settings.organisation.domains),
        "notifications": [notices.enabled, list(notices.channels)],
        "apply": apply, "blocked": blocked, "actions": sorted(ACTIONS.all()),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class PlanBasis:
    """What a scan recorded about its plan (``ScanRun.stats["plan"]``): the fingerprint, when planning
    began, how many findings it planned, and whether every planned action was executed or recorded
    (``complete``: not refused, not stopped by the kill switch or the error-rate breaker)."""

    fingerprint: str
    planned_at: dt.datetime
    findings_planned: int = 0
    findings_open: int = 0
    complete: bool = False
    #: False: no usable basis (none, another fingerprint, incomplete): every open finding was planned.
    incremental: bool = False
    #: Findings whose inputs changed after planning (a folder link changed by the refresh after our
    #: own changes): the next scan plans them.
    replan: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"fingerprint": self.fingerprint, "planned_at": self.planned_at.isoformat(),
                "findings_planned": self.findings_planned, "findings_open": self.findings_open,
                "complete": self.complete, "incremental": self.incremental, "replan": list(self.replan)}

    @classmethod
    def from_json(cls, data: object) -> PlanBasis | None:
        if not isinstance(data, dict) or not data.get("fingerprint") or not data.get("planned_at"):
            return None
        try:
            when = parse_instant(str(data["planned_at"]))
        except TimeParseError:
            return None
        return cls(fingerprint=str(data["fingerprint"]), planned_at=when, complete=bool(data.get("complete")),
                   findings_planned=int(data.get("findings_planned") or 0),
                   findings_open=int(data.get("findings_open") or 0), incremental=bool(data.get("incremental")),
                   replan=tuple(int(i) for i in data.get("replan") or ()))


def last_plan(session: Session, run_id: int) -> tuple[int, PlanBasis] | None:
    """The latest scan before ``run_id`` that planned remediation, and what it recorded (watch runs plan a
    few findings of their own and do not count)."""
    rows = session.execute(select(ScanRun.id, ScanRun.stats).where(ScanRun.id < run_id, ScanRun.kind != "watch")
                           .order_by(ScanRun.id.desc()).limit(_BASIS_LOOKBACK))
    for rid, stats in rows:
        basis = PlanBasis.from_json((stats or {}).get("plan"))
        if basis is not None:
            return rid, basis
    return None


def _open() -> ColumnElement[bool]:
    return (Finding.status == "open") & (Finding.detection_state == "active")


def findings_to_plan(session: Session, *, since: tuple[int, PlanBasis] | None, fingerprint: str,
                     relinked: Collection[int] = ()) -> list[int]:
    """The open, active findings whose plan may differ from the plan recorded by ``since`` (the last
    scan that planned, :func:`last_plan`), in SQL; every open finding when there is no such scan, its
    fingerprint differs or its plan did not complete.

    A plan's inputs (:func:`scanner.remediate.plan.plan_key`, :func:`plan_context`) changed when: the
    finding was evaluated again or changed status (``last_run_id``, ``last_seen``, ``status_changed_at``);
    its file's snapshot was written again (``files.last_run_id``, ``last_seen``); its folder finding
    changed status or its link to one changed (``relinked``, from scanner.folder_scan); a folder or
    drive its permissions are inherited from was read again (its name is in the skip reason); it has
    an enforced action that tried to change Drive or a notice that was not sent (retried while open), or
    a request to justify (its deadline passes with time). Anything else is what it was, so its plan is
    the one recorded, and planning it would leave every action out."""
    query = select(Finding.id).where(_open())
    if since is None or not since[1].complete or since[1].fingerprint != fingerprint:
        return list(session.scalars(query.order_by(Finding.id)))
    run_id, basis = since
    at = basis.planned_at
    relinked = {*relinked, *basis.replan}
    folders = select(Finding.id).where(Finding.status_changed_at >= at)
    changed_folders = list(session.scalars(select(DriveFileRow.id).where(
        DriveFileRow.mime_type == GOOGLE_FOLDER,
        or_(DriveFileRow.last_run_id > run_id, DriveFileRow.last_seen >= at)).limit(MAX_CHANGED_FOLDERS + 1)))
    if len(changed_folders) > MAX_CHANGED_FOLDERS:
        return list(session.scalars(query.order_by(Finding.id)))
    matched = cast(Finding.matched_permissions, String)
    inherited: ColumnElement[bool] = or_(false(), *(matched.contains(f'"{fid}"') for fid in changed_folders))
    tried = select(RemediationAction.finding_id).where(
        RemediationAction.mode == ENFORCE, RemediationAction.finding_id.is_not(None),
        or_((RemediationAction.action.in_(sorted(CHANGING_ACTIONS)))
            & RemediationAction.status.not_in(sorted(QUIET_STATUSES)),
            (RemediationAction.action.in_(sorted(NOTICE_ACTIONS)))
            & RemediationAction.status.not_in(sorted(QUIET_STATUSES | {ActionStatus.APPLIED.value})),
            RemediationAction.action == "justify"))
    files = select(DriveFileRow.id).where(or_(DriveFileRow.last_run_id > run_id, DriveFileRow.last_seen >= at))
    changed = or_(
        Finding.last_run_id > run_id, Finding.last_seen >= at, Finding.status_changed_at >= at,
        Finding.file_id.in_(files), Finding.folder_finding_id.in_(folders), Finding.id.in_(tried),
        Finding.id.in_(sorted(set(relinked))) if relinked else false(), inherited)
    return list(session.scalars(query.where(changed).order_by(Finding.id)))
