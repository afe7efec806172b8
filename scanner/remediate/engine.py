"""Execute a RemediationPlan safely.

Before anything: the blast-radius limits (``max_actions_per_run``, counting the changes already made
in the last ``limit_window_minutes`` by any run or command, and ``max_actions_share``) refuse the
whole plan (RemediationRefused) when exceeded. Then, per finding, a *step* (scanner.remediate.steps)
and per action: the kill switch is checked, the live permission is re-read and committed as
``before`` with the action ``started`` (the intent), the change is made under a per-file lock,
re-read and verified, and an audit event is written; the step's follow-up (remediated, the owner's
notice) is one transaction. The error-rate breaker (scanner.remediate.breaker) stops the run when too
many *attempted* actions failed. A crash anywhere is finished by scanner.remediate.reconcile.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from scanner.config import Settings
from scanner.connectors.google.drive_ops import OpsFactory, OwnerUnavailable, google_ops_factory
from scanner.core.errors import RemediationRefused
from scanner.core.models import ItemKind
from scanner.core.statuses import DONE, ActionStatus
from scanner.notify.outbox import Outbox
from scanner.notify.templates import change_line
from scanner.policy.schema import SEVERITY_RANK, Rule
from scanner.remediate.actions import ActionContext, Outcome, Prepared, handler_for
from scanner.remediate.breaker import ErrorRateBreaker
from scanner.remediate.justify import notice_extra, notice_record
from scanner.remediate.locks import FileLocks
from scanner.remediate.plan import (
    CHANGING_ACTIONS,
    ENFORCE,
    NOTICE_ACTIONS,
    PlannedAction,
    RemediationPlan,
    build_plan,
)
from scanner.remediate.quiet import drop_recorded, plan_context
from scanner.remediate.steps import (
    drive_label,
    finish_step,
    line_params,
    notice_item,
    record_action,
    start_step,
)
from scanner.store import audit
from scanner.store.models import CrawlTarget, DriveFileRow, Finding, RemediationAction, utcnow
from scanner.store.repo import FindingRepo, unfinished_remediation

if TYPE_CHECKING:
    from scanner.remediate.restore import Restorer

__all__ = ["FileLocks", "RemediationReport", "Remediator"]

log = logging.getLogger(__name__)

#: Below this many findings acted on, only the absolute limit applies (a share of a handful is noise).
SHARE_FLOOR = 5
#: Findings planned per session (their ORM objects are dropped between chunks).
PLAN_CHUNK = 500
#: Finding ids per ``IN (...)`` when ordering them.
ORDER_CHUNK = 900
#: Actions that count against ``max_actions_per_run`` in the limit window: changes made or maybe made.
COUNTED_STATUSES = (ActionStatus.VERIFIED.value, ActionStatus.STARTED.value)


@dataclass
class RemediationReport:
    mode_counts: dict[str, int] = field(default_factory=dict)
    status_counts: dict[str, int] = field(default_factory=dict)
    action_ids: list[int] = field(default_factory=list)
    remediated_findings: list[int] = field(default_factory=list)
    notifications: list[int] = field(default_factory=list)
    stopped: str | None = None  # "kill switch" / "error rate ..." when the run stopped early
    #: (file, permission id) removed and verified by this execution.
    removed: set[tuple[str, str]] = field(default_factory=set)
    batch: str = ""

    def count(self, status: str) -> None:
        self.status_counts[status] = self.status_counts.get(status, 0) + 1


class Remediator:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session], actor: str, *,
                 rules: Iterable[Rule], ops_factory: OpsFactory | None = None,
                 clock: Callable[[], dt.datetime] = utcnow, locks: FileLocks | None = None) -> None:
        self.settings = settings
        self.sessions = sessions
        self.actor = actor
        self.rules = tuple(rules)
        self._ops_factory = ops_factory
        self.clock = clock
        self.locks = locks or FileLocks()

    @property
    def ops_factory(self) -> OpsFactory:
        if self._ops_factory is None:
            self._ops_factory = google_ops_factory(self.settings)
        return self._ops_factory

    def restorer(self) -> Restorer:
        """A Restorer that shares this Remediator's file locks and Drive credentials."""
        from scanner.remediate.restore import Restorer

        return Restorer(self.settings, self.sessions, self.actor, ops_factory=self._ops_factory, clock=self.clock,
                        locks=self.locks)

    # ------------------------------------------------------------------ plan
    def plan(self, finding_ids: Sequence[int], *, apply: bool | None, manual: bool = False,
             fix_on_ancestor: bool | None = None, run_id: int | None = None, explicit: bool = False,
             blocked: str | None = None, only_changes: bool = False) -> RemediationPlan:
        """The plan for these findings (see scanner.remediate.plan.decide_mode for the mode).

        ``explicit``: a person named the findings; ``blocked``: why enforcement must not happen;
        ``only_changes``: leave out actions that would not act and whose plan was recorded before."""
        ids = list(dict.fromkeys(finding_ids))
        with self.sessions() as session:
            ordered = self._plan_order(session, ids)
        # Planned in chunks, each in a session of its own: the ORM objects of one chunk at a time, and
        # (with ``only_changes``) only the actions that are not left out are kept.
        actions: list[PlannedAction] = []
        ignored: list[tuple[int, str]] = []
        unchanged = 0
        explicit_plan = False
        for start in range(0, len(ordered), PLAN_CHUNK):
            chunk = ordered[start:start + PLAN_CHUNK]
            with self.sessions() as session:
                found = {f.id: f for f in session.scalars(select(Finding).where(Finding.id.in_(chunk))
                                                           .options(selectinload(Finding.file)))}
                findings = [found[i] for i in chunk if i in found]
                ancestors = {str(p["inherited_from"]) for f in findings for p in f.matched_permissions or []
                             if p.get("inherited_from")}
                context = plan_context(session, self.rules, findings, now=self.clock(), explicit=explicit,
                                       blocked=blocked)
                part = build_plan(self.settings, findings, self.rules, apply=apply, manual=manual,
                                  fix_on_ancestor=fix_on_ancestor, run_id=run_id,
                                  places=places(session, ancestors), context=context)
                if only_changes:
                    part = drop_recorded(session, part)
            actions.extend(part.actions)
            ignored.extend(part.ignored)
            unchanged += part.unchanged
            explicit_plan = part.explicit
        return RemediationPlan(tuple(actions), run_id=run_id, ignored=tuple(ignored),
                               explicit=explicit_plan or explicit, unchanged=unchanged, considered=len(ordered))

    def _plan_order(self, session: Session, ids: Sequence[int]) -> list[int]:
        """The findings in the order they act: folder findings before their descendants' findings
        (which they fix), then the most severe first (when a critical rule revokes a link that a high
        rule would only downgrade, the revoke wins and the downgrade finds it already gone), then by id.
        Reads three columns, not the findings."""
        keys: list[tuple[bool, int, int]] = []
        for start in range(0, len(ids), ORDER_CHUNK):
            no_radius = Finding.blast_radius.is_(None) | (cast(Finding.blast_radius, String) == "null")
            rows = session.execute(select(Finding.id, Finding.severity, no_radius)
                                   .where(Finding.id.in_(list(ids[start:start + ORDER_CHUNK]))))
            keys.extend((bool(none), SEVERITY_RANK.get(severity, len(SEVERITY_RANK)), fid)
                        for fid, severity, none in rows)
        keys.sort()
        return [fid for *_, fid in keys]

    def place(self, item_id: str) -> str | None:
        """How to name one Drive item to a person (see :func:`places`)."""
        with self.sessions() as session:
            return places(session, [item_id]).get(item_id)

    # ------------------------------------------------------------------ limits
    def check_limits(self, session: Session, plan: RemediationPlan) -> None:
        acting = plan.acting
        if not acting:
            return
        limits = self.settings.remediation
        problems = []
        if not self.settings.google.remediation_service_account_file and self._ops_factory is None:
            problems.append("enforcing needs [google] remediation_service_account_file (a key with the drive scope; "
                            "or set SHARESCAN_GOOGLE_REMEDIATION_KEY_FILE)")
        weight = plan.acting_weight  # a folder fix counts 1 + the items below it that lose access
        recent = self.recent_changes(session)
        if weight + recent > limits.max_actions_per_run and not plan.explicit:
            already = (f" with the {recent} change(s) made in the last {limits.limit_window_minutes} min"
                       if recent else "")
            problems.append(f"{weight} actions{already} exceed max_actions_per_run={limits.max_actions_per_run}")
        findings = len(plan.acting_finding_ids)
        active = FindingRepo(session, self.actor).count_active_open()
        if findings > SHARE_FLOOR and active and findings / active > limits.max_actions_share and not plan.explicit:
            problems.append(f"acting on {findings} of {active} active findings ({findings / active:.0%}) exceeds "
                            f"max_actions_share={limits.max_actions_share:.0%}")
        if problems:
            audit.record(session, "remediation.refused", actor=self.actor, subject_type="run",
                         subject_id=str(plan.run_id or ""),
                         data={"reasons": problems, "actions": len(acting), "findings": list(plan.acting_finding_ids)})
            session.commit()
            raise RemediationRefused("remediation refused before any change: " + "; ".join(problems))

    def recent_changes(self, session: Session) -> int:
        """Drive changes made (or started) by any scan or command in the last ``limit_window_minutes``."""
        minutes = self.settings.remediation.limit_window_minutes
        if not minutes:
            return 0
        since = self.clock() - dt.timedelta(minutes=minutes)
        return int(session.scalar(select(func.count(RemediationAction.id)).where(
            RemediationAction.mode == ENFORCE, RemediationAction.action.in_(sorted(CHANGING_ACTIONS)),
            RemediationAction.status.in_(COUNTED_STATUSES), RemediationAction.created_at >= since)) or 0)

    def kill_switch_on(self) -> bool:
        path = self.settings.remediation.kill_switch_file
        return bool(path) and Path(path).expanduser().exists()

    # ------------------------------------------------------------------ execute
    def execute(self, plan: RemediationPlan, *, batch: str | None = None) -> RemediationReport:
        """Run the plan finding by finding. A finding with enforced changes is one *step*
        (scanner.remediate.steps): recorded before its first change, each action's intent committed
        before its Drive call, and its follow-up (remediated, the owner's notice) done in one
        transaction at the end, so a crash anywhere is finished by reconciliation."""
        report = RemediationReport(batch=batch or (f"run:{plan.run_id}" if plan.run_id else f"manual:{uuid.uuid4()}"))
        with self.sessions() as session:
            self.check_limits(session, plan)
            if plan.acting and self.kill_switch_on():
                audit.record(session, "remediation.killed", actor=self.actor, subject_type="run",
                             subject_id=str(plan.run_id or ""), data={"kill_switch_file":
                                                                       self.settings.remediation.kill_switch_file,
                                                                       "remaining": len(plan.acting)})
                session.commit()
                report.stopped = "kill switch"
                return report
            unfinished = set(session.scalars(unfinished_remediation()))
        limits = self.settings.remediation
        breaker = ErrorRateBreaker(limits.max_error_rate, limits.error_rate_min_sample, limits.max_consecutive_failures)
        by_finding: dict[int, list[PlannedAction]] = defaultdict(list)
        for action in plan.actions:
            by_finding[action.finding_id].append(action)
        for finding_id, actions in by_finding.items():
            if report.stopped:
                break
            if any(a.will_act for a in actions) and finding_id in unfinished:
                # An earlier change to this file could not be checked in Drive yet (reconciliation
                # failed to read it): acting again could undo or double it.
                actions = [replace(a, skip_reason="an earlier remediation of this finding was interrupted and "
                                                  "is not reconciled yet") for a in actions]
            if any(a.will_act for a in actions):
                self._run_step(plan, finding_id, actions, report, breaker)
            else:
                self._run_unchanged(plan, actions, report)
        return report

    def _run_unchanged(self, plan: RemediationPlan, actions: list[PlannedAction], report: RemediationReport) -> None:
        """A finding with no enforced change (dry run, or every action skipped): rows only."""
        results: list[tuple[PlannedAction, str, int]] = []
        for action in sorted(actions, key=lambda a: a.action in NOTICE_ACTIONS):
            if action.action in NOTICE_ACTIONS:
                status, action_id = self._notify(plan, action, results, report)
            else:
                status, action_id = self._run_one(plan, action)
                report.action_ids.append(action_id)
                report.count(status)
                report.mode_counts[action.mode] = report.mode_counts.get(action.mode, 0) + 1
            results.append((action, status, action_id))

    def _run_step(self, plan: RemediationPlan, finding_id: int, actions: list[PlannedAction],
                  report: RemediationReport, breaker: ErrorRateBreaker) -> None:
        with self.sessions() as session:
            step_id = start_step(session, batch=report.batch, run_id=plan.run_id, finding_id=finding_id,
                                 actions=actions, now=self.clock()).id
            session.commit()
        for action in (a for a in actions if a.changes_drive):
            if action.will_act:
                if self.kill_switch_on():
                    report.stopped = "kill switch"
                    self._audit_stop(plan, "remediation.killed", {"kill_switch_file":
                                                                  self.settings.remediation.kill_switch_file})
                    break
                why = breaker.tripped
                if why is not None:
                    report.stopped = f"error rate: {why}"
                    self._audit_stop(plan, "remediation.stopped", {"reason": why, **breaker.state()})
                    break
            status, action_id = self._run_one(plan, action, step_id=step_id)
            if action.will_act:
                breaker.record(failed=status == ActionStatus.FAILED)
            if status == ActionStatus.VERIFIED:
                report.removed.add(_key(action))
            report.action_ids.append(action_id)
            report.count(status)
            report.mode_counts[action.mode] = report.mode_counts.get(action.mode, 0) + 1
        with self.sessions() as session:
            done = finish_step(session, self.settings, self.actor, step_id, clock=self.clock,
                               stopped=report.stopped is not None)
            session.commit()
        if done.remediated:
            report.remediated_findings.append(finding_id)
        if done.notify_action_id is not None and done.notify_status is not None:
            report.action_ids.append(done.notify_action_id)
            report.count(done.notify_status)
        report.notifications.extend(n for n in done.notification_ids if n not in report.notifications)

    def _audit_stop(self, plan: RemediationPlan, event: str, data: dict[str, Any]) -> None:
        with self.sessions() as session:
            audit.record(session, event, actor=self.actor, subject_type="run", subject_id=str(plan.run_id or ""),
                         data=data)
            session.commit()

    def _new_row(self, plan: RemediationPlan, action: PlannedAction, status: str, *, before: Any = None,
                 detail: str | None = None, step_id: int | None = None) -> RemediationAction:
        return RemediationAction(
            run_id=plan.run_id, finding_id=action.finding_id, file_id=action.file_id, action=action.action,
            permission_id=str((action.permission or {}).get("id")) if action.permission else None,
            target_file_id=action.target_file_id, mode=action.mode, status=status, before=before, detail=detail,
            actor=self.actor, created_at=self.clock(), step_id=step_id, plan_key=action.plan_key or None,
        )

    def _record(self, session: Session, row: RemediationAction, event: str, **data: Any) -> None:
        record_action(session, row, event, self.actor, **data)

    def _run_one(self, plan: RemediationPlan, action: PlannedAction, *, step_id: int | None = None) -> tuple[str, int]:
        """One action from planned to its final status; returns (status, action id).

        Enforced: re-read (prepare), then commit the intent — the row ``started`` with the full
        ``before`` — and only then call Drive; the outcome is recorded after. A process killed in
        between leaves the intent for reconciliation (scanner.remediate.reconcile)."""
        if not action.will_act:
            status = action.status_if_not_acting
            detail = action.skip_reason or f"dry run ({action.mode_reason}): would {action.describe()}"
            with self.sessions() as session:
                row = self._new_row(plan, action, status, before={"permission": action.permission}
                                    if action.permission else None, detail=detail, step_id=step_id)
                session.add(row)
                session.flush()
                self._record(session, row, f"remediation.{status}")
                session.commit()
                return status, row.id
        handler = handler_for(action.action)
        with self.locks.lock(action.target_file_id):
            ctx = ActionContext(self.ops_factory(action.owner, action.drive_id), self.clock(), place=self.place)
            try:
                prepared = handler.prepare(ctx, action)
            except OwnerUnavailable as exc:  # a person has to act: say exactly what
                prepared = Prepared(None, Outcome("failed", str(exc)))
            except Exception as exc:  # noqa: BLE001 - an unreadable file is a failed action, not a crash
                prepared = Prepared(None, Outcome("failed", f"re-reading before acting failed: "
                                                            f"{getattr(exc, 'reason', '') or type(exc).__name__}"))
            with self.sessions() as session:
                row = self._new_row(plan, action, ActionStatus.STARTED, before=prepared.before, step_id=step_id)
                row.intent = {"params": dict(action.params), "extra": dict(prepared.extra), "owner": action.owner,
                              "drive_id": action.drive_id}
                session.add(row)
                session.flush()
                row_id = row.id
                if prepared.outcome is None:
                    self._record(session, row, "remediation.started")
                else:  # ended before any change: the outcome goes in the same transaction
                    self._finish_row(session, row, prepared.outcome, ctx)
                session.commit()  # the intent: committed before the Drive call
            outcome = prepared.outcome
            if outcome is None:
                try:
                    outcome = handler.apply(ctx, action, prepared)
                except OwnerUnavailable as exc:
                    outcome = Outcome("failed", str(exc))
                except Exception as exc:  # noqa: BLE001 - never lose the record of a half-done action
                    outcome = Outcome("failed", f"{type(exc).__name__}: {getattr(exc, 'reason', '') or exc}")
                with self.sessions() as session:
                    self._finish_row(session, session.get_one(RemediationAction, row_id), outcome, ctx)
                    session.commit()
        log.info("remediation %s %s on %s: %s", action.action, row_id, action.target_file_id, outcome.status)
        return outcome.status, row_id

    def _finish_row(self, session: Session, row: RemediationAction, outcome: Outcome, ctx: ActionContext) -> None:
        row.status = outcome.status
        row.after = outcome.after
        note = ctx.ops.acting_note
        row.detail = f"{outcome.detail} ({note})" if note and outcome.status != "failed" else outcome.detail
        row.completed_at = self.clock()
        # the Google identity the change was made as (owner, drive member or admin)
        row.acted_as = getattr(ctx.ops, "acting_subject", None)
        # acted_as_admin: the owner could not be impersonated; acting: who acted when not the owner
        self._record(session, row, f"remediation.{outcome.status}",
                     acted_as_admin=bool(getattr(ctx.ops, "owner_unavailable", False)), acting=note)

    def _notify(self, plan: RemediationPlan, action: PlannedAction, results: list[tuple[PlannedAction, str, int]],
                report: RemediationReport) -> tuple[str, int]:
        """Queue the owner's digest item for a finding with no enforced change (same transaction as the
        notify action row)."""
        changes = [change_line(a.action, line_params(a)) for a, status, _ in results if status == "verified"]
        pending = [a.describe() for a, status, _ in results if status not in DONE]
        with self.sessions() as session:
            finding = session.get_one(Finding, action.finding_id)
            row = RemediationAction(
                run_id=plan.run_id, finding_id=action.finding_id, file_id=action.file_id, action=action.action,
                target_file_id=action.file_id, mode=action.mode, status="planned", actor=self.actor,
                created_at=self.clock(), plan_key=action.plan_key or None,
            )
            if action.skip_reason or action.mode != ENFORCE:
                row.status = "skipped" if action.skip_reason else "planned"
                row.detail = action.skip_reason or f"dry run ({action.mode_reason}): would {action.describe()}"
                session.add(row)
                session.flush()
                self._record(session, row, f"remediation.{row.status}")
                session.commit()
                report.action_ids.append(row.id)
                report.count(row.status)
                return row.status, row.id
            item = {**notice_item(finding, action.file_name, changes, pending),
                    **notice_extra(self.settings, action, finding)}
            notes = Outbox(session, self.settings).add(
                batch=report.batch, run_id=plan.run_id, owner=action.owner or "", item=item,
                shared_drive=drive_label(session, action.owner, action.drive_id))
            row.status = "applied" if notes else "skipped"
            row.detail = (f"queued for {notes[0].recipient} on {len(notes)} channel(s)"
                          if notes else "no notification channel configured ([notifications] channels)")
            row.after = {"notification_ids": [n.id for n in notes], **notice_record(action)}
            row.completed_at = self.clock()
            session.add(row)
            session.flush()
            self._record(session, row, f"remediation.{row.status}", notification_ids=[n.id for n in notes])
            session.commit()
            report.notifications.extend(n.id for n in notes if n.id not in report.notifications)
            report.action_ids.append(row.id)
            report.count(row.status)
            return row.status, row.id


def places(session: Session, item_ids: Collection[str]) -> dict[str, str]:
    """Folders and shared drives by id, named as the last scan stored them (``folder "Recruiting"``,
    ``shared drive "Clients"``), so a person knows where to click; ids without a stored name are left out."""
    if not item_ids:
        return {}
    ids = list(item_ids)
    files = session.execute(select(DriveFileRow.id, DriveFileRow.name, DriveFileRow.item_kind)
                            .where(DriveFileRow.id.in_(ids)))
    drives = session.execute(select(CrawlTarget.key, CrawlTarget.name)
                             .where(CrawlTarget.kind == "drive", CrawlTarget.key.in_(ids)))
    named = [(i, "folder" if kind == ItemKind.FOLDER else "file", name) for i, name, kind in files]
    named += [(i, "shared drive", name) for i, name in drives]
    return {i: f'{kind} "{" ".join(name.split())}"' for i, kind, name in named if name.strip()}


def _key(action: PlannedAction) -> tuple[str, str]:
    """What an action changes: a permission of its target, or the target's publishing / limited access."""
    if action.permission is not None:
        return action.target_file_id, str(action.permission.get("id", ""))
    return action.target_file_id, action.action
