"""Execute a RemediationPlan safely (DESIGN.md §6).

Before anything: the blast-radius limits (``max_actions_per_run`` and ``max_actions_share``) refuse
the whole plan (RemediationRefused) when exceeded. Then, per action: the kill switch is checked,
the live permission is re-read and stored (committed) as ``before``, the change is made under a
per-file lock, re-read and verified, and an audit event is written. The run stops when the
error rate passes ``max_error_rate``. Findings whose Drive actions all verified become remediated.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from scanner.config import Settings
from scanner.drive.models import GOOGLE_FOLDER, Exposure
from scanner.errors import RemediationRefused
from scanner.notify.outbox import Outbox
from scanner.notify.templates import change_line
from scanner.policy.schema import SEVERITY_RANK, Rule
from scanner.remediate.actions import ActionContext, Outcome, Prepared, handler_for
from scanner.remediate.drive_ops import OpsFactory, OwnerUnavailable, google_ops_factory
from scanner.remediate.justify import notice_extra, notice_record
from scanner.remediate.locks import FileLocks
from scanner.remediate.plan import (
    ENFORCE,
    NOTICE_ACTIONS,
    PlannedAction,
    RemediationPlan,
    build_plan,
    describe_principal,
)
from scanner.remediate.quiet import drop_recorded, plan_context
from scanner.store import audit
from scanner.store.models import CrawlTarget, DriveFileRow, Finding, PermissionRow, RemediationAction, utcnow
from scanner.store.repo import FindingRepo

if TYPE_CHECKING:
    from scanner.remediate.restore import Restorer

__all__ = ["FileLocks", "RemediationReport", "Remediator"]

log = logging.getLogger(__name__)

#: Below this many findings acted on, only the absolute limit applies (a share of a handful is noise).
SHARE_FLOOR = 5
DONE_STATUSES = frozenset({"verified", "already_gone"})


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
        with self.sessions() as session:
            found = session.scalars(select(Finding).where(Finding.id.in_(list(finding_ids)))
                                    .options(selectinload(Finding.file)).order_by(Finding.id)).all()
            # The most severe finding acts first: when a critical rule revokes a link that a high
            # rule would only downgrade, the revoke wins and the downgrade finds it already gone.
            # Folder findings act before their descendants' findings (which they fix).
            findings = sorted(found, key=lambda f: (f.blast_radius is None,
                                                    SEVERITY_RANK.get(f.severity, len(SEVERITY_RANK)), f.id))
            ancestors = {str(p["inherited_from"]) for f in findings for p in f.matched_permissions or []
                         if p.get("inherited_from")}
            context = plan_context(session, self.rules, findings, now=self.clock(), explicit=explicit,
                                   blocked=blocked)
            plan = build_plan(self.settings, findings, self.rules, apply=apply, manual=manual,
                              fix_on_ancestor=fix_on_ancestor, run_id=run_id, places=places(session, ancestors),
                              context=context)
            return drop_recorded(session, plan) if only_changes else plan

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
        if weight > limits.max_actions_per_run and not plan.explicit:
            problems.append(f"{weight} actions exceed max_actions_per_run={limits.max_actions_per_run}")
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

    def kill_switch_on(self) -> bool:
        path = self.settings.remediation.kill_switch_file
        return bool(path) and Path(path).expanduser().exists()

    # ------------------------------------------------------------------ execute
    def execute(self, plan: RemediationPlan, *, batch: str | None = None) -> RemediationReport:
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
        by_finding: dict[int, list[PlannedAction]] = defaultdict(list)
        for action in plan.actions:
            by_finding[action.finding_id].append(action)
        total_acting = len(plan.acting)
        failed = 0
        for finding_id, actions in by_finding.items():
            results: list[tuple[PlannedAction, str, int]] = []
            for action in sorted(actions, key=lambda a: a.action in NOTICE_ACTIONS):
                if report.stopped:
                    break
                if action.action in NOTICE_ACTIONS:
                    status, action_id = self._notify(plan, action, results, report)
                    results.append((action, status, action_id))
                    continue
                if action.will_act:
                    if self.kill_switch_on():
                        report.stopped = "kill switch"
                        self._audit_stop(plan, "remediation.killed", {"kill_switch_file":
                                                                      self.settings.remediation.kill_switch_file})
                        break
                    if total_acting and failed > self.settings.remediation.max_error_rate * total_acting:
                        report.stopped = f"error rate: {failed} of {total_acting} actions failed"
                        self._audit_stop(plan, "remediation.stopped", {"failed": failed, "planned": total_acting})
                        break
                status, action_id = self._run_one(plan, action)
                if status == "failed":
                    failed += 1
                if status == "verified":
                    report.removed.add(_key(action))
                results.append((action, status, action_id))
                report.action_ids.append(action_id)
                report.count(status)
                report.mode_counts[action.mode] = report.mode_counts.get(action.mode, 0) + 1
            self._maybe_remediated(finding_id, results, report)
            if report.stopped:
                break
        return report

    def _audit_stop(self, plan: RemediationPlan, event: str, data: dict[str, Any]) -> None:
        with self.sessions() as session:
            audit.record(session, event, actor=self.actor, subject_type="run", subject_id=str(plan.run_id or ""),
                         data=data)
            session.commit()

    def _new_row(self, plan: RemediationPlan, action: PlannedAction, status: str, *, before: Any = None,
                 detail: str | None = None) -> RemediationAction:
        return RemediationAction(
            run_id=plan.run_id, finding_id=action.finding_id, file_id=action.file_id, action=action.action,
            permission_id=str((action.permission or {}).get("id")) if action.permission else None,
            target_file_id=action.target_file_id, mode=action.mode, status=status, before=before, detail=detail,
            actor=self.actor, created_at=self.clock(), plan_key=action.plan_key or None,
        )

    def _record(self, session: Session, row: RemediationAction, event: str, **data: Any) -> None:
        audit.record(session, event, actor=self.actor, subject_type="remediation_action", subject_id=str(row.id),
                     data={"finding_id": row.finding_id, "file_id": row.file_id, "action": row.action,
                           "permission_id": row.permission_id, "target_file_id": row.target_file_id,
                           "mode": row.mode, "status": row.status, "detail": row.detail, **data})

    def _run_one(self, plan: RemediationPlan, action: PlannedAction) -> tuple[str, int]:
        """One action from planned to its final status; returns (status, action id)."""
        if not action.will_act:
            status = action.status_if_not_acting
            detail = action.skip_reason or f"dry run ({action.mode_reason}): would {action.describe()}"
            with self.sessions() as session:
                row = self._new_row(plan, action, status, before={"permission": action.permission}
                                    if action.permission else None, detail=detail)
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
                row = self._new_row(plan, action, "planned", before=prepared.before)
                session.add(row)
                session.flush()
                row_id = row.id
                if prepared.outcome is None:
                    self._record(session, row, "remediation.started")
                session.commit()
            outcome = prepared.outcome
            if outcome is None:
                try:
                    outcome = handler.apply(ctx, action, prepared)
                except OwnerUnavailable as exc:
                    outcome = Outcome("failed", str(exc))
                except Exception as exc:  # noqa: BLE001 - never lose the record of a half-done action
                    outcome = Outcome("failed", f"{type(exc).__name__}: {getattr(exc, 'reason', '') or exc}")
            note = ctx.ops.acting_note
            with self.sessions() as session:
                row = session.get_one(RemediationAction, row_id)
                row.status = outcome.status
                row.after = outcome.after
                row.detail = f"{outcome.detail} ({note})" if note and outcome.status != "failed" else outcome.detail
                row.completed_at = self.clock()
                # the Google identity the change was made as (owner, drive member or admin)
                row.acted_as = getattr(ctx.ops, "acting_subject", None)
                # acted_as_admin: the owner could not be impersonated; acting: who acted when not the owner
                self._record(session, row, f"remediation.{outcome.status}",
                             acted_as_admin=bool(getattr(ctx.ops, "owner_unavailable", False)), acting=note)
                session.commit()
        log.info("remediation %s %s on %s: %s", action.action, row_id, action.target_file_id, outcome.status)
        return outcome.status, row_id

    def _notify(self, plan: RemediationPlan, action: PlannedAction, results: list[tuple[PlannedAction, str, int]],
                report: RemediationReport) -> tuple[str, int]:
        """Queue the owner's digest item (same transaction as the notify action row)."""
        changes = [change_line(a.action, _line_params(a)) for a, status, _ in results if status == "verified"]
        pending = [a.describe() for a, status, _ in results if status not in DONE_STATUSES]
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
            item = {
                "finding_id": finding.id, "file_id": finding.file_id, "file_name": action.file_name,
                "link": finding.file.web_view_link if finding.file is not None else None,
                "rule_id": finding.rule_id, "rule_title": finding.title, "severity": finding.severity,
                "categories": list(finding.data_categories or []),
                "detectors": {k: int(v.get("count", 0)) for k, v in (finding.detectors or {}).items()},
                "changes": changes, "pending": pending, "blast_radius": finding.blast_radius,
                **notice_extra(self.settings, action, finding),
            }
            drive_name = None
            if not action.owner and action.drive_id:
                target = session.scalars(select(CrawlTarget).where(CrawlTarget.kind == "drive",
                                                                   CrawlTarget.key == action.drive_id)).first()
                drive_name = f'"{target.name}"' if target is not None and target.name else action.drive_id
            notes = Outbox(session, self.settings).add(batch=report.batch, run_id=plan.run_id,
                                                       owner=action.owner or "", item=item, shared_drive=drive_name)
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

    def _maybe_remediated(self, finding_id: int, results: list[tuple[PlannedAction, str, int]],
                          report: RemediationReport) -> None:
        drive = [(a, s, i) for a, s, i in results if a.changes_drive]
        if not drive or any(a.mode != ENFORCE for a, _, _ in drive):
            return
        # A permission this run already removed for a more severe finding counts as fixed here too.
        fixed_here = any(s == "verified" or (s == "already_gone" and _key(a) in report.removed) for a, s, _ in drive)
        if not fixed_here or any(s not in DONE_STATUSES for _, s, _ in drive):
            return
        with self.sessions() as session:
            finding = session.get_one(Finding, finding_id)
            done = [a for a, s, _ in drive if s in DONE_STATUSES]
            FindingRepo(session, self.actor, clock=self.clock).mark_remediated(
                finding, action_ids=[i for _, _, i in drive], exposure_after=exposure_after(session, finding, done))
            session.commit()
        report.remediated_findings.append(finding_id)


def exposure_after(session: Session, finding: Finding, done: Sequence[PlannedAction]) -> str:
    """The file's widest exposure once ``done`` (verified or already gone) took effect: its stored permissions
    without the ones removed, a downgrade's domain permission, publishing unless unpublished."""
    removed = {str((a.permission or {}).get("id")) for a in done if a.action in ("revoke", "downgrade")}
    classes = {Exposure(p.exposure) for p in session.scalars(select(PermissionRow).where(
        PermissionRow.file_id == finding.file_id)) if p.permission_id not in removed and p.exposure in _EXPOSURES}
    if any(a.action == "downgrade" for a in done):
        classes.add(Exposure.DOMAIN)
    file_row = finding.file
    if file_row is not None and file_row.published and not any(a.action == "unpublish" for a in done):
        classes.add(Exposure.PUBLISHED)
    return min(classes, key=lambda e: e.rank).value if classes else Exposure.INTERNAL.value


_EXPOSURES = frozenset(e.value for e in Exposure)


def places(session: Session, item_ids: Collection[str]) -> dict[str, str]:
    """Folders and shared drives by id, named as the last scan stored them (``folder "Recruiting"``,
    ``shared drive "Clients"``), so a person knows where to click; ids without a stored name are left out."""
    if not item_ids:
        return {}
    ids = list(item_ids)
    files = session.execute(select(DriveFileRow.id, DriveFileRow.name, DriveFileRow.mime_type)
                            .where(DriveFileRow.id.in_(ids)))
    drives = session.execute(select(CrawlTarget.key, CrawlTarget.name)
                             .where(CrawlTarget.kind == "drive", CrawlTarget.key.in_(ids)))
    named = [(i, "folder" if mime == GOOGLE_FOLDER else "file", name) for i, name, mime in files]
    named += [(i, "shared drive", name) for i, name in drives]
    return {i: f'{kind} "{" ".join(name.split())}"' for i, kind, name in named if name.strip()}


def _key(action: PlannedAction) -> tuple[str, str]:
    """What an action changes: a permission of its target, or the target's publishing / limited access."""
    if action.permission is not None:
        return action.target_file_id, str(action.permission.get("id", ""))
    return action.target_file_id, action.action


def _line_params(action: PlannedAction) -> dict[str, Any]:
    perm = action.permission or {}
    return {"what": describe_principal(perm) if perm else "", "role": perm.get("role", ""),
            "domain": action.params.get("domain", ""), "until": action.params.get("duration", "")}
