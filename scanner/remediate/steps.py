"""A finding's remediation *step*: its enforced actions in one batch, and their follow-up.

Crash consistency rests on two records written before anything changes in Drive:

* the step (``remediation_steps``, status ``started``) with the plan: every action (kind, target,
  permission, the notice line) and whether the owner is to be notified;
* per action, its intent: the action row ``started`` with the full ``before`` and ``intent``.

After the actions, :func:`finish_step` does the follow-up in ONE transaction: the finding becomes
``remediated`` when every planned change is in place and one of them was ours, the owner's notice is
queued (the notify action row and the outbox item together, once per step), and the step is
``finished``. A process killed anywhere leaves a ``started`` step (and maybe a ``started`` action),
which :mod:`scanner.remediate.reconcile` finishes at the start of the next scan, ``remediate
--apply`` or ``restore``: so a kill never turns ``remediated`` into ``resolved``, never loses the
owner's notice and never sends it twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scanner.config import Settings
from scanner.core.models import Exposure
from scanner.core.statuses import DONE, ActionStatus, StepStatus
from scanner.notify.outbox import Outbox
from scanner.notify.templates import change_line
from scanner.remediate.plan import ENFORCE, PlannedAction, describe_principal
from scanner.store import audit
from scanner.store.models import CrawlTarget, Finding, PermissionRow, RemediationAction, RemediationStep
from scanner.store.repo import FindingRepo

REMOVING = frozenset({"revoke", "downgrade"})
#: Changes that take an exposure away: when one of ours did, another finding that then finds it
#: ``already_gone`` was fixed by us too (a more severe finding acted first, maybe in an earlier batch).
FIXING = REMOVING | {"unpublish", "limit_access"}


@dataclass
class StepOutcome:
    step_id: int
    finding_id: int
    remediated: bool = False
    notify_action_id: int | None = None
    notify_status: str | None = None
    notification_ids: list[int] = field(default_factory=list)


def action_key(action: PlannedAction) -> tuple[str, str, str]:
    return action.action, action.target_file_id, str((action.permission or {}).get("id", ""))


def _row_key(row: RemediationAction) -> tuple[str, str, str]:
    return row.action, row.target_file_id or row.file_id, str(row.permission_id or "")


def line_params(action: PlannedAction) -> dict[str, Any]:
    perm = action.permission or {}
    return {"what": describe_principal(perm) if perm else "", "role": perm.get("role", ""),
            "domain": action.params.get("domain", ""), "until": action.params.get("duration", "")}


def start_step(session: Session, *, batch: str, run_id: int | None, finding_id: int,
               actions: Sequence[PlannedAction], now: dt.datetime) -> RemediationStep:
    """The step's record, before its first Drive change (the caller commits)."""
    drive = [a for a in actions if a.changes_drive]
    notify = next((a for a in actions if a.action == "notify"), None)
    plan: dict[str, Any] = {
        "actions": [{"action": a.action, "target_file_id": a.target_file_id,
                     "permission_id": str((a.permission or {}).get("id", "")), "describe": a.describe(),
                     "line": line_params(a), "acts": a.will_act} for a in drive],
        "notify": None if notify is None else {
            "mode": notify.mode, "mode_reason": notify.mode_reason, "skip_reason": notify.skip_reason,
            "owner": notify.owner, "drive_id": notify.drive_id, "file_name": notify.file_name},
    }
    step = RemediationStep(batch=batch, run_id=run_id, finding_id=finding_id, status=StepStatus.STARTED.value,
                           plan=plan, created_at=now)
    session.add(step)
    session.flush()
    return step


def notice_item(finding: Finding, file_name: str, changes: list[str], pending: list[str]) -> dict[str, Any]:
    """One file's entry in the owner's digest."""
    return {
        "finding_id": finding.id, "file_id": finding.file_id, "file_name": file_name,
        "link": finding.file.web_view_link if finding.file is not None else None,
        "rule_id": finding.rule_id, "rule_title": finding.title, "severity": finding.severity,
        "categories": list(finding.data_categories or []),
        "detectors": {k: int(v.get("count", 0)) for k, v in (finding.detectors or {}).items()},
        "changes": changes, "pending": pending, "blast_radius": finding.blast_radius,
    }


def drive_label(session: Session, owner: str | None, drive_id: str | None) -> str | None:
    """How a notice names the shared drive of an item that has no owner."""
    if owner or not drive_id:
        return None
    target = session.scalars(select(CrawlTarget).where(CrawlTarget.kind == "drive",
                                                       CrawlTarget.key == drive_id)).first()
    return f'"{target.name}"' if target is not None and target.name else drive_id


def record_action(session: Session, row: RemediationAction, event: str, actor: str, **data: Any) -> None:
    audit.record(session, event, actor=actor, subject_type="remediation_action", subject_id=str(row.id),
                 data={"finding_id": row.finding_id, "file_id": row.file_id, "action": row.action,
                       "permission_id": row.permission_id, "target_file_id": row.target_file_id,
                       "mode": row.mode, "status": row.status, "detail": row.detail, **data})


def finish_step(session: Session, settings: Settings, actor: str, step_id: int, *,
                clock: Callable[[], dt.datetime], reconciling: bool = False, stopped: bool = False) -> StepOutcome:
    """The follow-up of a step whose actions all have an outcome (see the module docstring); a step
    already finished is left alone. ``reconciling``: a step a killed process left open; ``stopped``:
    the run stopped (kill switch, error-rate breaker) before the step's last action. Either way an
    owner is not told about a step that changed nothing: the next run acts and tells.
    The caller commits (one transaction)."""
    step = session.get_one(RemediationStep, step_id)
    out = StepOutcome(step_id, step.finding_id)
    if step.status != StepStatus.STARTED.value:
        return out
    rows = list(session.scalars(select(RemediationAction).where(RemediationAction.step_id == step_id,
                                                                RemediationAction.action != "notify")
                                .order_by(RemediationAction.id)))
    by_key = {_row_key(r): r for r in rows}
    planned = list(step.plan.get("actions") or [])
    outcomes = [(p, by_key.get((p["action"], p["target_file_id"], p["permission_id"]))) for p in planned]
    finding = session.get_one(Finding, step.finding_id)
    # An exposure another of our actions took away (a more severe finding's, in this batch or in one
    # a crash interrupted) since this finding was opened counts as fixed here too.
    gone = {_row_key(r)[1] for _, r in outcomes if r is not None and r.status == ActionStatus.ALREADY_GONE}
    removed = _fixed_by_us(session, gone, since=finding.status_changed_at)
    done = [r is not None and r.status in DONE for _, r in outcomes]
    fixed_here = any(r is not None and (r.status == ActionStatus.VERIFIED or (
        r.status == ActionStatus.ALREADY_GONE and _row_key(r)[1:] in removed)) for _, r in outcomes)
    if planned and all(done) and fixed_here:
        FindingRepo(session, actor, clock=clock).mark_remediated(
            finding, action_ids=[r.id for _, r in outcomes if r is not None],
            exposure_after=exposure_after(session, finding, [r for _, r in outcomes if r is not None]))
        out.remediated = True
    changes = [change_line(p["action"], p["line"]) for p, r in outcomes
               if r is not None and r.status == ActionStatus.VERIFIED]
    pending = [str(p["describe"]) for (p, _), ok in zip(outcomes, done, strict=True) if not ok]
    notify = step.plan.get("notify")
    if notify is not None:
        _notify(session, settings, actor, step, finding, notify, changes, pending, out, clock=clock,
                reconciling=reconciling, interrupted=reconciling or stopped)
    step.status = StepStatus.FINISHED.value
    step.finished_at = clock()
    if reconciling:
        audit.record(session, "remediation.step_reconciled", actor=actor, subject_type="finding",
                     subject_id=str(finding.id),
                     data={"step_id": step.id, "batch": step.batch, "remediated": out.remediated,
                           "changes": len(changes), "pending": len(pending),
                           "notification_ids": out.notification_ids})
    session.flush()
    return out


def fixing_actions(session: Session, finding: Finding) -> list[int]:
    """Our verified enforced actions that took one of ``finding``'s exposures away since it was
    opened (on the file, or on the ancestor an inherited permission comes from)."""
    perms = list(finding.matched_permissions or [])
    targets = {finding.file_id, *(str(p["inherited_from"]) for p in perms if p.get("inherited_from"))}
    ids = {str(p.get("id")) for p in perms if p.get("id")}
    published = finding.exposure == "published" or "published" in (finding.principal or "")
    rows = session.execute(select(RemediationAction.id, RemediationAction.action, RemediationAction.permission_id)
                           .where(RemediationAction.target_file_id.in_(sorted(targets)),
                                  RemediationAction.action.in_(sorted(FIXING)), RemediationAction.mode == ENFORCE,
                                  RemediationAction.status == ActionStatus.VERIFIED.value,
                                  RemediationAction.created_at >= finding.status_changed_at)
                           .order_by(RemediationAction.id))
    return [i for i, action, perm in rows if (action == "unpublish" and published) or str(perm) in ids]


def _fixed_by_us(session: Session, targets: set[str], *, since: dt.datetime) -> set[tuple[str, str]]:
    """(target, permission id or "") of exposures on ``targets`` our enforced actions took away since
    ``since``."""
    if not targets:
        return set()
    rows = session.execute(select(RemediationAction.target_file_id, RemediationAction.file_id,
                                  RemediationAction.permission_id)
                           .where(RemediationAction.target_file_id.in_(sorted(targets)),
                                  RemediationAction.action.in_(sorted(FIXING)), RemediationAction.mode == ENFORCE,
                                  RemediationAction.status == ActionStatus.VERIFIED.value,
                                  RemediationAction.created_at >= since))
    return {(str(t or f), str(p or "")) for t, f, p in rows}


def _notify(session: Session, settings: Settings, actor: str, step: RemediationStep, finding: Finding,
            notify: dict[str, Any], changes: list[str], pending: list[str], out: StepOutcome, *,
            clock: Callable[[], dt.datetime], reconciling: bool, interrupted: bool) -> None:
    row = RemediationAction(run_id=step.run_id, finding_id=finding.id, file_id=finding.file_id, action="notify",
                            target_file_id=finding.file_id, mode=str(notify["mode"]), status=ActionStatus.PLANNED,
                            actor=actor, created_at=clock(), step_id=step.id)
    notes = []
    if notify.get("skip_reason") or notify["mode"] != ENFORCE:
        row.status = ActionStatus.SKIPPED if notify.get("skip_reason") else ActionStatus.PLANNED
        row.detail = notify.get("skip_reason") or f"dry run ({notify['mode_reason']}): would notify the owner"
    elif interrupted and not changes:
        row.status = ActionStatus.SKIPPED
        row.detail = "nothing was changed before the interruption: the next remediation acts and notifies"
    else:
        owner, drive_id = notify.get("owner"), notify.get("drive_id")
        item = notice_item(finding, str(notify.get("file_name") or ""), changes, pending)
        notes = Outbox(session, settings).add(batch=step.batch, run_id=step.run_id, owner=owner or "", item=item,
                                              shared_drive=drive_label(session, owner, drive_id),
                                              once=f"step:{step.id}")
        row.status = ActionStatus.APPLIED if notes else ActionStatus.SKIPPED
        row.detail = (f"queued for {notes[0].recipient} on {len(notes)} channel(s)"
                      if notes else "no notification channel configured ([notifications] channels)")
        row.after = {"notification_ids": [n.id for n in notes]}
    row.completed_at = clock()
    session.add(row)
    session.flush()
    record_action(session, row, f"remediation.{row.status}", actor, notification_ids=[n.id for n in notes],
                  step_id=step.id, reconciled=reconciling)
    out.notify_action_id, out.notify_status = row.id, str(row.status)
    out.notification_ids = [n.id for n in notes]


_EXPOSURES = frozenset(e.value for e in Exposure)


def exposure_after(session: Session, finding: Finding, done: Sequence[RemediationAction]) -> str:
    """The file's widest exposure once ``done`` (verified or already gone) took effect: its stored permissions
    without the ones removed, a downgrade's domain permission, publishing unless unpublished."""
    removed = {str(a.permission_id) for a in done if a.action in REMOVING}
    classes = {Exposure(p.exposure) for p in session.scalars(select(PermissionRow).where(
        PermissionRow.file_id == finding.file_id)) if p.permission_id not in removed and p.exposure in _EXPOSURES}
    if any(a.action == "downgrade" for a in done):
        classes.add(Exposure.DOMAIN)
    file_row = finding.file
    if file_row is not None and file_row.published and not any(a.action == "unpublish" for a in done):
        classes.add(Exposure.PUBLISHED)
    return min(classes, key=lambda e: e.rank).value if classes else Exposure.INTERNAL.value
