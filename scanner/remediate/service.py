"""``sharescan remediate`` and ``sharescan restore`` as services: the same run lock as scans, and
reconciliation before acting.

Changing sharing by hand takes the run lock scans take (``[schedule] stale_lock_seconds``): a scan,
a ``remediate --apply`` and a ``restore`` never run at once on one database, so they can neither
interleave changes to one file nor each spend their own ``max_actions_per_run`` (which also counts
the changes made in the last ``[remediation] limit_window_minutes``). A dry run changes nothing in
Drive and takes no lock. Under the lock, every action a killed process left unfinished is reconciled
first (scanner.remediate.reconcile).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from scanner.app import App
from scanner.connectors.google.drive_ops import OpsFactory
from scanner.core.errors import SharescanError
from scanner.policy.schema import Rule
from scanner.remediate.engine import RemediationReport, Remediator
from scanner.remediate.plan import RemediationPlan
from scanner.remediate.reconcile import Reconciler, ReconcileReport
from scanner.remediate.restore import RestorePreview, Restorer, RestoreResult
from scanner.remediate.sanity import enforcement_block
from scanner.schedule.lock import Heartbeat, run_lock_for
from scanner.store.models import utcnow


class RestoreNotConfirmed(SharescanError):
    """The person asked did not confirm a restore that exposes sensitive data again."""


@dataclass(frozen=True)
class ManualRemediation:
    plan: RemediationPlan
    report: RemediationReport
    #: None for a dry run (nothing reconciled without the lock).
    reconciled: ReconcileReport | None
    #: Findings closed as remediated when the files our changes touched were read again.
    closed: tuple[int, ...] = ()


class RemediationService:
    def __init__(self, app: App, *, ops_factory: OpsFactory | None = None,
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.app = app
        self.ops_factory = ops_factory
        self.clock = clock

    def _remediator(self, rules: Iterable[Rule]) -> Remediator:
        return Remediator(self.app.settings, self.app.sessions, self.app.actor, rules=rules,
                          ops_factory=self.ops_factory, clock=self.clock)

    def _reconciler(self, context: str) -> Reconciler:
        return Reconciler(self.app.settings, self.app.sessions, self.app.actor, ops_factory=self.ops_factory,
                          clock=self.clock, context=context)

    def remediate(self, rules: Iterable[Rule], finding_ids: Sequence[int], *, apply: bool,
                  fix_on_ancestor: bool | None = None, explicit: bool = False,
                  refresh: Callable[[Sequence[int]], Sequence[int]] | None = None) -> ManualRemediation:
        """Plan the rules' actions for these findings; with ``apply``, take them (under the run lock).

        ``explicit``: the findings were named one by one (a person's decision: a folder fix over
        ``max_actions_per_run`` is applied). ``refresh`` reads again what the verified actions changed
        and returns the findings it closed as remediated (the scan service's ``refresh_fixed``)."""
        remediator = self._remediator(rules)
        blocked = enforcement_block(self.app.sessions)  # the latest scan's domain check
        if not apply:
            plan = remediator.plan(finding_ids, apply=False, manual=True, fix_on_ancestor=fix_on_ancestor,
                                   explicit=explicit, blocked=blocked)
            return ManualRemediation(plan, remediator.execute(plan), None)
        self.app.sessions  # noqa: B018 - refuses a database that is missing or not at head, before locking
        lock = run_lock_for(self.app)
        with lock, Heartbeat(lock):
            reconciled = self._reconciler("remediate").run()
            plan = remediator.plan(finding_ids, apply=True, manual=True, fix_on_ancestor=fix_on_ancestor,
                                   explicit=explicit, blocked=blocked)
            report = remediator.execute(plan)
            closed = tuple(refresh(report.action_ids)) if refresh is not None and report.action_ids else ()
            return ManualRemediation(plan, report, reconciled, closed)

    def restorer(self) -> Restorer:
        return Restorer(self.app.settings, self.app.sessions, self.app.actor, ops_factory=self.ops_factory,
                        clock=self.clock)

    def restore(self, action_id: int, *, reason: str,
                confirm: Callable[[RestorePreview], bool] | None = None) -> tuple[RestoreResult, ReconcileReport]:
        """Put back what action ``action_id`` removed (under the run lock, after reconciliation).

        When the restore would expose a file with sensitive findings again, ``confirm`` is asked with
        what it would re-expose (None: no question, the caller confirmed beforehand); a refusal changes
        nothing (RestoreNotConfirmed)."""
        self.app.sessions  # noqa: B018
        lock = run_lock_for(self.app)
        with lock, Heartbeat(lock):
            reconciled = self._reconciler("restore").run()
            restorer = self.restorer()
            if confirm is not None:
                preview = restorer.preview(action_id)
                if preview.needs_confirmation and not confirm(preview):
                    raise RestoreNotConfirmed("restore not confirmed: nothing changed (--yes confirms without asking)")
            return restorer.restore(action_id, reason=reason), reconciled
