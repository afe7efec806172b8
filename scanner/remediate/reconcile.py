"""Reconciliation: finish what a killed process left half-recorded, from what Drive says.

Runs at the start of every scan, of ``sharescan remediate --apply`` and of ``sharescan restore``,
under the run lock, so every ``started`` action or step it finds belongs to a process that is gone.

1. Every action still ``started`` (its intent and ``before`` were committed, its outcome never was)
   is checked against Drive by its own handler (``ActionHandler.reconcile``): ``verified`` when the
   change is there, ``not_applied`` when it is not (``unknown`` when the kind cannot tell). The
   outcome goes in the action row and the audit log (``remediation.reconciled``).
2. Every step still ``started`` whose actions all have an outcome is finished
   (scanner.remediate.steps.finish_step): the finding becomes ``remediated`` when our change fixed it
   (never ``resolved``: findings with unreconciled actions are never closed by a scan), and the owner's
   notice is queued once per step.

An action whose file cannot be read now (API error) stays ``started``: its finding is neither closed
nor acted on again until a later reconciliation reads it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scanner.config import Settings
from scanner.connectors.google.drive_ops import OpsFactory, OwnerUnavailable, google_ops_factory
from scanner.core.errors import SharescanError
from scanner.core.statuses import ActionStatus, StepStatus
from scanner.remediate.actions import ActionContext, Outcome, StartedAction, handler_for
from scanner.remediate.steps import finish_step, record_action
from scanner.store import audit
from scanner.store.models import DriveFileRow, Finding, RemediationAction, RemediationStep, utcnow

log = logging.getLogger(__name__)

#: How reconciliation names what it found, per final status.
OUTCOME = {ActionStatus.VERIFIED: "applied", ActionStatus.ALREADY_GONE: "applied",
           ActionStatus.NOT_APPLIED: "not_applied", ActionStatus.UNKNOWN: "unknown"}


@dataclass
class ReconcileReport:
    #: applied | not_applied | unknown | unreadable (Drive could not be read: still started) → actions
    outcomes: Counter[str] = field(default_factory=Counter)
    steps_finished: int = 0
    remediated_findings: list[int] = field(default_factory=list)
    notifications: list[int] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.outcomes and not self.steps_finished


class Reconciler:
    """``Reconciler(...).run()`` — call it while holding the run lock, before acting."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], actor: str, *,
                 ops_factory: OpsFactory | None = None, clock: Callable[[], dt.datetime] = utcnow,
                 context: str = "") -> None:
        self.settings = settings
        self.sessions = sessions
        self.actor = actor
        self._ops_factory = ops_factory
        self.clock = clock
        #: Who reconciles, for the audit log: "scan run 12", "remediate", "restore".
        self.context = context

    @property
    def ops_factory(self) -> OpsFactory:
        if self._ops_factory is None:
            self._ops_factory = google_ops_factory(self.settings)
        return self._ops_factory

    def run(self) -> ReconcileReport:
        report = ReconcileReport()
        with self.sessions() as session:
            started = list(session.scalars(select(RemediationAction.id).where(
                RemediationAction.status == ActionStatus.STARTED.value).order_by(RemediationAction.id)))
            steps = list(session.scalars(select(RemediationStep.id).where(
                RemediationStep.status == StepStatus.STARTED.value).order_by(RemediationStep.id)))
        for action_id in started:
            report.outcomes[self._action(action_id)] += 1
        for step_id in steps:
            self._step(step_id, report)
        if not report.empty:
            log.warning("reconciled remediation left unfinished by an earlier process: %s actions, %s steps",
                        dict(report.outcomes), report.steps_finished)
            with self.sessions() as session:  # one summary event; the per-action events say what
                audit.record(session, "remediation.reconciliation", actor=self.actor, subject_type="run",
                             subject_id=self.context,
                             data={"outcomes": dict(report.outcomes), "steps_finished": report.steps_finished,
                                   "remediated_findings": report.remediated_findings,
                                   "notifications": report.notifications})
                session.commit()
        return report

    def _action(self, action_id: int) -> str:
        with self.sessions() as session:
            row = session.get_one(RemediationAction, action_id)
            file_row = session.get(DriveFileRow, row.file_id)
            finding = session.get(Finding, row.finding_id) if row.finding_id is not None else None
            intent = dict(row.intent or {})
            owner = intent.get("owner", finding.owner_email if finding is not None else None)
            drive_id = intent.get("drive_id", file_row.drive_id if file_row is not None else None)
            started = StartedAction(action=row.action, file_id=row.file_id,
                                    target_file_id=row.target_file_id or row.file_id,
                                    permission_id=row.permission_id, before=dict(row.before or {}), intent=intent)
        try:
            ctx = ActionContext(self.ops_factory(owner, drive_id), self.clock())
            outcome = handler_for(started.action).reconcile(ctx, started)
        except (SharescanError, OwnerUnavailable, OSError) as exc:
            log.warning("could not reconcile action %s (%s): %s", action_id, started.action, exc)
            return "unreadable"
        except KeyError:  # an action kind this version does not know
            outcome = Outcome(ActionStatus.UNKNOWN, f"no handler for {started.action!r}: look at the file's sharing")
        with self.sessions() as session:
            row = session.get_one(RemediationAction, action_id)
            if row.status != ActionStatus.STARTED.value:  # pragma: no cover - the run lock prevents it
                return OUTCOME.get(ActionStatus(row.status), row.status)
            row.status = outcome.status
            row.after = outcome.after
            row.detail = outcome.detail
            row.completed_at = self.clock()
            found = OUTCOME.get(ActionStatus(outcome.status), str(outcome.status))
            record_action(session, row, "remediation.reconciled", self.actor, outcome=found, by=self.context)
            session.commit()
        return found

    def _step(self, step_id: int, report: ReconcileReport) -> None:
        with self.sessions() as session:
            unfinished = session.scalars(select(RemediationAction.id).where(
                RemediationAction.step_id == step_id, RemediationAction.status == ActionStatus.STARTED.value)).first()
            if unfinished is not None:
                return  # its action could not be read: the next reconciliation tries again
            done = finish_step(session, self.settings, self.actor, step_id, clock=self.clock, reconciling=True)
            session.commit()
        report.steps_finished += 1
        if done.remediated:
            report.remediated_findings.append(done.finding_id)
        report.notifications.extend(done.notification_ids)
