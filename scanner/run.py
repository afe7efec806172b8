"""One scan, end to end: the orchestration of crawl → content → policy → findings → actions.

::

    crawl (metadata, every target)          scanner.drive.crawler.Crawler
      → analyse exposed files               scanner.connectors.google.fetch + scanner.detect.pipeline
        (once per revision; cached hits)
      → evaluate rules, upsert findings     scanner.policy.evaluate + scanner.store.repo
      → close what is gone                  only when the run was complete for that owner/drive
      → remediate (dry-run | enforce)       scanner.remediate (mode decided in remediate/plan.py)
      → notify owners                       scanner.notify (outbox → SMTP / webhook)

Every scan holds the run lock (two scans, or a scan and ``remediate --apply``/``restore``, never
overlap), first reconciles remediation actions an earlier process left unfinished, and records a
ScanRun with its status: ``completed`` (every target read, and every file a rule needed was read),
``partial`` (a target failed, or files are pending/unreadable: nothing about them is resolved),
``failed`` (an error stopped the run) or ``interrupted`` (killed; the next run resumes from the last
committed page).

A file whose content, publish state or permissions could not be read keeps its previous verdict and
findings: it is a pending read (``scanner.store.pending``), tried again by every later run.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scanner.app import App
from scanner.connectors.google import directory
from scanner.connectors.google.client import GoogleClients
from scanner.connectors.google.directory import CustomerDomains
from scanner.core.errors import ConfigError, GoogleApiError, RemediationRefused
from scanner.core.exposure import classify, normalise_domains
from scanner.core.models import FileExposure
from scanner.drive.crawler import Crawler, CrawlProgress, CrawlProgressSnapshot, CrawlSummary
from scanner.export.anchors import anchor_now
from scanner.folder_scan import evaluate_folder_findings
from scanner.keys import ensure_key
from scanner.logs import bind_run
from scanner.policy.evaluate import FileContext, PolicyEngine
from scanner.policy.loader import load_configured_rules
from scanner.posture.step import run_posture
from scanner.remediate.plan import CHANGING_ACTIONS
from scanner.remediate.sanity import DomainCheck, check_domains
from scanner.scan.analysis import AnalysisContext, candidate_ids
from scanner.scan.content_cache import cached_content
from scanner.scan.executor import Executor, InProcessExecutor, SequentialExecutor
from scanner.scan.units import evaluated_file_ids, sum_outcomes
from scanner.schedule.lock import Heartbeat, RunLock, run_lock_for
from scanner.store.models import (
    CrawlTarget,
    DriveFileRow,
    Finding,
    RemediationAction,
    ScanCoverage,
    ScanRun,
    utcnow,
)
from scanner.store.pending import PendingReads
from scanner.store.quota import record_ledger
from scanner.store.repo import FindingRepo
from scanner.store.snapshot import external_grant_domains, row_to_file, run_coverage
from scanner.store.tree import StoredTree, ancestors_of

log = logging.getLogger(__name__)


class ScanProgress(CrawlProgress):
    """What a progress display receives: crawl snapshots, then phases with a total (no-ops here)."""

    def update(self, snapshot: CrawlProgressSnapshot) -> None:
        return None

    def phase(self, name: str, total: int) -> None:
        return None

    def advance(self, amount: int = 1) -> None:
        return None


@dataclass(frozen=True)
class ScanOptions:
    full: bool = False
    #: None: modes from config and rules; True: enforce for this run (``--apply``); False: dry-run.
    apply: bool | None = None
    #: None: ``[executor] kind``; "in-process" or "celery" for this run (``--executor``).
    executor: str | None = None


@dataclass
class ScanResult:
    run_id: int
    kind: str
    status: str
    files_seen: int = 0
    files_exposed: int = 0
    files_removed: int = 0
    files_analysed: int = 0
    files_not_analysed: int = 0
    #: Files of this run's targets with a pending read (still being retried), and those past
    #: ``[limits] unreadable_after_attempts``: either makes the run partial.
    files_pending: int = 0
    files_unreadable: int = 0
    #: analysed, but part of the analysis did not complete (a pattern stopped at the regex time bound)
    files_partial: int = 0
    content_cache_hits: int = 0
    findings_active: int = 0
    findings_new: int = 0
    findings_resolved: int = 0
    actions: dict[str, int] = field(default_factory=dict)
    #: Planned actions left out because the same plan was recorded before (an unchanged night: all of them).
    actions_unchanged: int = 0
    #: The remediation plan's basis for the next scan (scanner.remediate.quiet.PlanBasis): its fingerprint,
    #: when planning began, the findings planned (only those whose inputs changed) and whether it completed.
    plan: dict[str, Any] = field(default_factory=dict)
    #: Findings closed as remediated after their files were read again following our own changes.
    findings_remediated: int = 0
    #: Items below folders whose sharing changed, read again whatever the Changes feed listed.
    descendants_refreshed: int = 0
    remediation_refused: str | None = None
    #: Why remediation stopped before the end of its plan (error-rate breaker, kill switch), if it did.
    remediation_stopped: str | None = None
    #: Actions an earlier process left unfinished, by the outcome reconciliation found in Drive.
    reconciled: dict[str, int] = field(default_factory=dict)
    #: The organisation's domains checked against the Directory's and the external grants
    #: (:class:`scanner.remediate.sanity.DomainCheck`); ``blocked`` says why enforcement stopped.
    domain_check: dict[str, Any] | None = None
    notifications: dict[str, int] = field(default_factory=dict)
    targets_done: int = 0
    targets_skipped: int = 0
    targets_failed: int = 0
    api_calls: int = 0
    elapsed_seconds: float = 0.0
    resumed_from: int | None = None
    nlp_mode: str = ""
    #: The Drive sharing posture step (scanner.posture): status done | skipped (and why) | disabled, counts.
    posture: dict[str, Any] | None = None
    #: API calls of the scanning key per method (``drive.files.list``...), for the metrics file.
    api_calls_by_method: dict[str, int] = field(default_factory=dict)
    #: Exposed files dated from the Drive audit log, by source, or why dating was skipped
    #: (scanner.exposure_dating).
    exposure_dating: dict[str, Any] = field(default_factory=dict)
    #: Google quota units of those calls per method (the run's quota ledger, scanner.connectors.google.quota).
    api_units_by_method: dict[str, int] = field(default_factory=dict)
    #: Publish-state reads by reason, and ``skipped`` (stored state kept): scanner.core.publish.
    publish_checks: dict[str, int] = field(default_factory=dict)
    #: The executor that ran the units, and what the in-process analysis cost (files fetched and
    #: analysed, analysis CPU seconds, the phase's wall seconds, peak RSS MiB of each analysis process).
    executor: str = ""
    analysis: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        # a plain dict copy first: asdict() would rebuild a live Counter from (key, value) pairs
        return asdict(replace(self, api_calls_by_method=dict(self.api_calls_by_method),
                              api_units_by_method=dict(self.api_units_by_method)))


class ScanService:
    """Runs scans for one App. ``clients``, ``pipeline_factory`` and ``executor`` are injectable (tests,
    benchmarks); by default the executor is ``[executor] kind``'s."""

    def __init__(self, app: App, *, clients: GoogleClients | None = None,
                 pipeline_factory: Callable[[], Any] | None = None,
                 clock: Callable[[], dt.datetime] = utcnow, executor: Executor | None = None) -> None:
        self.app = app
        self.settings = app.settings
        self._clients = clients
        self._pipeline_factory = pipeline_factory
        self._pipeline: Any = None
        self._executor_instance = executor
        self.clock = clock

    # ------------------------------------------------------------------ public
    def run(self, options: ScanOptions, *, progress: ScanProgress | None = None) -> ScanResult:
        self.check_settings()
        self.app.sessions  # noqa: B018 - refuses a database that is missing or not at head, before locking

        lock = run_lock_for(self.app)
        with lock, Heartbeat(lock):
            try:
                return self._run_locked(options, progress, lock)
            finally:
                bind_run(None)

    # ------------------------------------------------------------------ the run
    def check_settings(self) -> None:
        """Refuse settings a scan cannot run with (before any run row is written)."""
        s = self.settings
        where = s.source or "settings"
        if not s.organisation.domains:
            raise ConfigError(f"{where}: [organisation] domains: required to scan (your organisation's domains)")
        if not s.google.service_account_file:
            raise ConfigError(f"{where}: [google] service_account_file: required to scan (the scanning key; "
                              "or set SHARESCAN_GOOGLE_KEY_FILE)")
        if not s.google.admin_subject:
            raise ConfigError(f"{where}: [google] admin_subject: required to scan (an admin user to impersonate)")

    def _run_locked(self, options: ScanOptions, progress: ScanProgress | None, lock: RunLock) -> ScanResult:
        started = time.monotonic()
        sessions = self.app.sessions
        kind = "full" if options.full else "incremental"
        with sessions.begin() as s:
            # We hold the run lock: a run still marked "running" died without finishing. The crawler
            # resumes the latest interrupted run of the same kind from its committed cursors.
            for stale in s.scalars(select(ScanRun).where(ScanRun.status == "running", ScanRun.kind != "watch")):
                stale.status = "interrupted"
                stale.error = stale.error or "the process ended without finishing the run"
            run = ScanRun(kind=kind, status="running", remediation_mode=self.mode_label(options),
                          hostname=socket.gethostname(), pid=os.getpid(), heartbeat_at=self.clock(), stats={})
            s.add(run)
            s.flush()
            run_id = run.id
        lock.heartbeat(run_id)  # the lock names the run that holds it
        bind_run(run_id)  # every log record of this run carries its id
        result = ScanResult(run_id=run_id, kind=kind, status="running")
        try:
            rules = load_configured_rules(self.settings)
            clients = self._clients or self._google_clients(options.executor or self.settings.executor.kind)
            result.api_calls_by_method = clients.stats.by_method  # live: as_dict() copies it when the run ends
            result.api_units_by_method = clients.stats.units_by_method
            self._reconcile(run_id, result)
            owned, directory_error = self._directory_domains(clients)
            executor = self._executor(options.executor or self.settings.executor.kind)
            try:
                summary = Crawler(self.settings, clients, sessions, progress=progress).run(
                    run_id, full=options.full, crawl_many=executor.crawl)
                self._absorb_crawl(result, summary)
                evaluated = self._analyse_and_evaluate(run_id, summary, rules, clients, result, progress, executor)
            finally:
                executor.close()
            self._record_pending(run_id, result)
            folders = evaluate_folder_findings(self.app.sessions, self.app.actor, rules.rules, run_id=run_id,
                                               org_domains=frozenset(summary.org_domains),
                                               complete=summary.complete, evaluated=evaluated, clock=self.clock)
            self.close_findings(run_id, summary, evaluated, result)
            result.findings_resolved += len(folders.resolved)
            result.domain_check = self._domain_check(owned, directory_error).to_json()
            result.exposure_dating = self.date_exposures(run_id, clients)
            result.posture = run_posture(self.settings, sessions, self.app.actor, clients, run_id,
                                         clock=self.clock).to_json()
            self._remediate(run_id, options, rules, result, relinked=folders.relinked)
            self.notify(run_id, result)
            complete = summary.complete and not (result.files_pending or result.files_unreadable)
            result.status = "completed" if complete else "partial"
        except KeyboardInterrupt:
            self.finish(run_id, result, "interrupted", started, error="interrupted")
            raise
        except Exception as exc:
            self.finish(run_id, result, "failed", started, error=f"{type(exc).__name__}: {exc}")
            raise
        self.finish(run_id, result, result.status, started)
        return result

    def _reconcile(self, run_id: int, result: ScanResult) -> None:
        """Before the crawl: remediation a killed process left half-recorded is checked against Drive and
        finished (scanner.remediate.reconcile), so a fix we made is ``remediated`` before the crawl could
        see the condition gone and call it ``resolved``."""
        from scanner.remediate.reconcile import Reconciler

        report = Reconciler(self.settings, self.app.sessions, self.app.actor, clock=self.clock,
                            context=f"scan run {run_id}").run()
        result.reconciled = dict(report.outcomes)

    def mode_label(self, options: ScanOptions) -> str:
        """The remediation mode a run records."""
        if options.apply is True:
            return "enforce"
        if options.apply is False:
            return "dry-run"
        return self.settings.remediation.mode

    def _absorb_crawl(self, result: ScanResult, summary: CrawlSummary) -> None:
        result.files_seen = summary.files_seen
        result.files_exposed = summary.files_exposed
        result.files_removed = summary.files_removed
        result.api_calls = summary.api_calls
        result.resumed_from = summary.resumed_from
        result.descendants_refreshed = summary.descendants_refreshed
        result.publish_checks = dict(summary.publish_checks)
        statuses = Counter(t.status for t in summary.targets)
        result.targets_done, result.targets_skipped = statuses["done"], statuses["skipped"]
        result.targets_failed = statuses["failed"]

    def finish(self, run_id: int, result: ScanResult, status: str, started: float, error: str | None = None) -> None:
        """Record the run's end (status, stats, anchor)."""
        result.status = status
        result.elapsed_seconds = round(time.monotonic() - started, 3)
        with self.app.sessions.begin() as s:
            run = s.get(ScanRun, run_id)
            if run is None:  # pragma: no cover - the row is created above
                return
            run.status = status
            run.finished_at = self.clock()
            run.error = error
            run.stats = result.as_dict()
            record_ledger(s, run_id, run.stats["api_calls_by_method"], run.stats["api_units_by_method"])
        anchor_now(self.app.sessions, self.settings, reason=f"scan {run_id} {status}")

    # ------------------------------------------------------------------ content + policy
    def _candidate_ids(self, run_id: int) -> list[str]:
        return candidate_ids(self.app.sessions, run_id)

    def _pipeline_instance(self) -> Any:
        if self._pipeline is None:
            if self._pipeline_factory is not None:
                self._pipeline = self._pipeline_factory()
            else:
                from scanner.detect.pipeline import ContentPipeline, DetectConfig

                key = ensure_key(self.settings.evidence_key_path, loose=self.settings.keys.loose_permissions)
                self._pipeline = ContentPipeline(DetectConfig.from_settings(self.settings), hmac_key=key)
        return self._pipeline

    def _executor(self, kind: str) -> Executor:
        """The executor of this run (``[executor] kind`` or ``--executor``); an injected pipeline runs in
        this process."""
        if self._executor_instance is not None:
            return self._executor_instance
        if kind == "celery":
            from scanner.scan.celery_exec import CeleryExecutor

            return CeleryExecutor(self.app)
        if self._pipeline_factory is not None:
            return InProcessExecutor(self.settings,
                                     analyze=lambda data, mime, name: self._pipeline_instance().analyze_bytes(
                                         data, mime, name))
        key = ensure_key(self.settings.evidence_key_path, loose=self.settings.keys.loose_permissions)
        return InProcessExecutor(self.settings, hmac_key=key)

    def _google_clients(self, kind: str) -> GoogleClients:
        """The scanning key's clients; with Celery, this process draws quota from the workers' bucket."""
        if kind == "celery":
            from scanner.scan.celery_exec import shared_limiter

            return GoogleClients(self.settings, rate_limiter=shared_limiter(self.settings))
        return GoogleClients(self.settings)

    def _analyse_and_evaluate(self, run_id: int, summary: CrawlSummary, rules: Any, clients: GoogleClients,
                              result: ScanResult, progress: ScanProgress | None, executor: Executor | None = None,
                              only: Sequence[str] | None = None) -> set[str]:
        """Every candidate file analysed and evaluated by the executor; the outcomes summed. Returns the
        files evaluated with everything their rules needed. ``only``: these files instead of the run's
        candidates, in this process with the service's own pipeline (``sharescan watch``: a few files)."""
        if executor is None:
            executor = SequentialExecutor(lambda data, mime, name: self._pipeline_instance().analyze_bytes(
                data, mime, name))
        ids = self._candidate_ids(run_id) if only is None else sorted(only)
        if progress is not None:
            progress.phase("analysing exposed files", len(ids))
        ctx = AnalysisContext.build(self.settings, self.app.sessions, self.app.actor, clients, rules.rules,
                                    run_id=run_id, org_domains=frozenset(summary.org_domains), clock=self.clock)
        result.executor = executor.name
        executor.analyse(ctx, ids, progress)
        stats = getattr(executor, "stats", None)
        if stats is not None:
            result.analysis = {"files_fetched": stats.files_fetched, "files_analysed": stats.files_analysed,
                               "cpu_seconds": round(stats.analysis_cpu_seconds, 3),
                               "phase_seconds": round(stats.phase_seconds, 3),
                               "record_seconds": round(stats.record_seconds, 3),
                               "plan_seconds": round(getattr(stats, "plan_seconds", 0.0), 3),
                               "processes": getattr(executor, "processes", 1) if stats.peak_rss_kib else 0,
                               "peak_rss_mib": sorted(round(v / 1024, 1) for v in stats.peak_rss_kib.values())}
        with self.app.sessions.begin() as s:
            totals = sum_outcomes(s, run_id)
            _count_analysed(s, run_id, totals.analysed_per_target)
            evaluated = evaluated_file_ids(s, run_id)
        result.files_analysed, result.files_not_analysed = totals.files_analysed, totals.files_not_analysed
        result.files_partial, result.content_cache_hits = totals.files_partial, totals.content_cache_hits
        result.nlp_mode = totals.nlp_mode or result.nlp_mode
        return evaluated

    def _record_pending(self, run_id: int, result: ScanResult) -> None:
        """Per target of this run: files with a pending read and unreadable files (``scans show``)."""
        pending = unreadable = 0
        with self.app.sessions.begin() as s:
            reads = PendingReads(s)
            for cov, target in run_coverage(s, run_id):
                if target.kind == "user":
                    summary = reads.summary_for_target(owner_email=target.key, drive_id=None)
                else:
                    summary = reads.summary_for_target(owner_email=None, drive_id=target.key)
                cov.files_pending, cov.files_unreadable = summary.pending, summary.unreadable
                reasons = {k: v for k, v in (cov.reasons or {}).items() if k != "pending"}
                if summary.reasons:
                    reasons["pending"] = dict(sorted(summary.reasons.items()))
                cov.reasons = reasons
                pending += summary.pending
                unreadable += summary.unreadable
        result.files_pending, result.files_unreadable = pending, unreadable

    def close_findings(self, run_id: int, summary: CrawlSummary, evaluated: set[str], result: ScanResult) -> None:
        """The close step: findings the run evaluated and no longer raised are resolved."""
        # A full crawl saw every file of the owners and drives it covered; an incremental one only
        # what changed, so only the files it re-evaluated can be closed.
        from scanner.remediate.steps import fixing_actions

        owners, drives = (summary.covered_owners, summary.covered_drives) if summary.full else ((), ())
        with self.app.sessions.begin() as s:
            repo = FindingRepo(s, self.app.actor, clock=self.clock)
            report = repo.close_missing(run_id, complete=summary.complete, covered_owners=owners,
                                        covered_drives=drives, evaluated_file_ids=evaluated,
                                        fixed_by=lambda finding: fixing_actions(s, finding))
            repo.expire_acceptances()
            result.findings_resolved = len(report.resolved)
            result.findings_new = _count(s, Finding.first_run_id == run_id)
            result.findings_active = _count(s, Finding.detection_state == "active")

    def date_exposures(self, run_id: int | None, clients: GoogleClients,
                       only: Sequence[str] | None = None) -> dict[str, Any]:
        """Exposed files with findings dated from the Drive audit log (scanner.exposure_dating)."""
        from scanner.exposure_dating import ExposureDater

        key = ensure_key(self.settings.evidence_key_path, loose=self.settings.keys.loose_permissions)
        report = ExposureDater(self.settings, self.app.sessions, clients, key=key, clock=self.clock).run(run_id, only)
        if report.skipped:
            log.warning("exposure dating skipped: %s", report.skipped)
        return report.as_dict()

    # ------------------------------------------------------------------ remediation + notification
    def _remediate(self, run_id: int, options: ScanOptions, rules: Any, result: ScanResult,
                   relinked: Sequence[int] = ()) -> None:
        """Plans the findings whose plan inputs changed since the last scan that planned (all open ones
        when the rules, settings or mode changed: scanner.remediate.quiet.findings_to_plan), executes the
        plan and records what it planned (``ScanRun.stats["plan"]``, the next scan's basis)."""
        from scanner.remediate.engine import Remediator
        from scanner.remediate.quiet import PlanBasis, findings_to_plan, last_plan, plan_fingerprint

        blocked = (result.domain_check or {}).get("blocked")
        fingerprint = plan_fingerprint(self.settings, rules.rules, apply=options.apply, blocked=blocked)
        planned_at = self.clock()
        with self.app.sessions() as s:
            since = last_plan(s, run_id)
            ids = findings_to_plan(s, since=since, fingerprint=fingerprint, relinked=relinked)
        incremental = bool(since and since[1].complete and since[1].fingerprint == fingerprint)
        basis = PlanBasis(fingerprint, planned_at, findings_planned=len(ids), findings_open=result.findings_active,
                          incremental=incremental)
        result.plan = basis.to_json()
        if not ids:
            result.plan = replace(basis, complete=True).to_json()
            return
        remediator = Remediator(self.settings, self.app.sessions, self.app.actor, rules=rules.rules, clock=self.clock)
        if blocked:
            log.warning("enforcement stopped: %s", blocked)
        plan = remediator.plan(ids, apply=options.apply, run_id=run_id, only_changes=True, blocked=blocked)
        result.actions_unchanged = plan.unchanged
        try:
            report = remediator.execute(plan)
        except RemediationRefused as exc:
            result.remediation_refused = str(exc)
            log.warning("remediation refused: %s", exc)
            return
        result.actions = dict(report.status_counts)
        if report.stopped:
            result.remediation_stopped = report.stopped
        else:  # every action of the plan executed or recorded: the next scan may plan only what changes
            result.plan = replace(basis, complete=True).to_json()
        remediated, relinked_after = self._refresh_fixed(report.action_ids, run_id=run_id)
        result.findings_remediated = len(remediated)
        if relinked_after:  # links changed after planning: the next scan plans these findings too
            result.plan = {**result.plan, "replan": sorted(set(relinked_after))}

    def _directory_domains(self, clients: GoogleClients) -> tuple[CustomerDomains | None, str | None]:
        """What the Directory says the customer owns, or why it could not be read."""
        try:
            return directory.customer_domains(clients, self.settings), None
        except GoogleApiError as exc:
            return None, " ".join(str(exc).split())[:300]

    def _domain_check(self, owned: CustomerDomains | None, error: str | None) -> DomainCheck:
        with self.app.sessions() as s:
            external = external_grant_domains(s)
        check = check_domains(self.settings.organisation.domains, owned, directory_error=error, external=external)
        if check.unconfigured:
            log.warning("the customer owns %s, not in [organisation] domains: sharing there counts as external",
                        ", ".join(check.unconfigured))
        return check

    def refresh_fixed(self, action_ids: Sequence[int], *, run_id: int | None) -> list[int]:
        """After remediation: read again what the verified actions changed (for a folder, everything below
        it), store it, evaluate it again with the content already analysed, and close as remediated the
        findings whose condition is gone. A file whose current revision was not analysed keeps its
        findings (no verdict without evidence). Returns the findings remediated."""
        return self._refresh_fixed(action_ids, run_id=run_id)[0]

    def _refresh_fixed(self, action_ids: Sequence[int], *, run_id: int | None) -> tuple[list[int], tuple[int, ...]]:
        """:meth:`refresh_fixed`, and the findings whose folder link changed as a result."""
        with self.app.sessions() as s:
            done = s.scalars(select(RemediationAction).where(
                RemediationAction.id.in_(list(action_ids)), RemediationAction.status == "verified",
                RemediationAction.mode == "enforce", RemediationAction.action.in_(CHANGING_ACTIONS))).all()
            targets = {a.target_file_id or a.file_id for a in done} | {a.file_id for a in done}
            tree = StoredTree(s)
            ids = set(targets) | {d for t in targets for d in tree.descendants(t)}
            acted = [a.id for a in done]
        if not ids:
            return [], ()
        crawler = Crawler(self.settings, self._clients or GoogleClients(self.settings), self.app.sessions,
                          clock=self.clock)
        refreshed = crawler.refresh(run_id, sorted(ids))
        rules = load_configured_rules(self.settings)
        org_domains = normalise_domains(self.settings.organisation.domains)
        remediated: list[int] = []
        with self.app.sessions() as s:
            engine = PolicyEngine(rules.rules, exemptions=FindingRepo(s, self.app.actor).active_exemptions())
        file_rules = [r.id for r in rules.rules if r.target == "file"]
        for file_id in [*refreshed.refreshed, *refreshed.removed]:
            with self.app.sessions.begin() as s:
                row = s.get(DriveFileRow, file_id)
                if row is None:
                    continue
                file = row_to_file(row)
                removed = row.removed_at is not None
                outside = frozenset((p.email_address or "").lower() for p in row.permissions
                                    if p.type == "group" and p.exposure == "external_group")
                exposure = FileExposure(file=file, exposed=()) if removed else classify(file, org_domains, outside)
                ctx = FileContext(ancestors=ancestors_of(s, row), now=self.clock())
                needs = not removed and engine.needs_content(exposure, ctx)
                content = cached_content(s, row, file.revision_key) if needs else None
                if needs and content is None:
                    continue  # this revision was not analysed: its findings stay as they are
                repo = FindingRepo(s, self.app.actor, clock=self.clock)
                seen = {repo.upsert(m, run_id).id for m in engine.evaluate(exposure, content, ctx)}
                gone = s.scalars(select(Finding).where(Finding.file_id == file_id, Finding.rule_id.in_(file_rules),
                                                       Finding.detection_state == "active",
                                                       Finding.id.not_in(seen)).order_by(Finding.id)).all()
                remediated += repo.close_fixed(gone, run_id=run_id, action_ids=acted)
        folders = evaluate_folder_findings(self.app.sessions, self.app.actor, rules.rules, run_id=run_id,
                                           org_domains=org_domains, complete=True, clock=self.clock)
        return remediated, folders.relinked

    def notify(self, run_id: int, result: ScanResult) -> None:
        """Queue and deliver the run's notifications."""
        from scanner.notify.deliver import Deliverer
        from scanner.notify.outbox import Outbox

        with self.app.sessions() as s:  # the deliverer commits after each message itself
            queued = len(Outbox(s, self.settings).digest_for_run(run_id))
            report = Deliverer(self.settings).deliver(s)
        result.notifications = {"queued": queued, "sent": len(report.sent), "retrying": len(report.retrying),
                                "failed": len(report.failed)}

    # ------------------------------------------------------------------ the phases, for a run of another kind
    # ``sharescan watch`` (scanner/watch.py) runs a few files through the scan's own phases; it composes
    # these steps and the public ones above (check_settings, mode_label, close_findings, notify, finish).
    def prepare_analysis(self) -> None:
        """Build the content pipeline now (patterns, the NLP model), not when the first file waits."""
        self._pipeline_instance()

    def analyse_files(self, run_id: int, summary: CrawlSummary, rules: Any, clients: GoogleClients,
                      result: ScanResult, only: Sequence[str]) -> set[str]:
        """The analysis phase on these files, in this process; returns the files evaluated."""
        return self._analyse_and_evaluate(run_id, summary, rules, clients, result, None, only=only)

    def domain_check(self, clients: GoogleClients) -> DomainCheck:
        """The configured domains against what the Directory says the customer owns."""
        return self._domain_check(*self._directory_domains(clients))


def _count_analysed(session: Session, run_id: int, per_target: Counter[tuple[str, str]]) -> None:
    """files_analysed of this run's coverage rows: the files of each target (a shared drive, or the owner's
    My Drive) whose content this run read."""
    if not per_target:
        return
    rows = session.execute(select(ScanCoverage, CrawlTarget.kind, CrawlTarget.key)
                           .join(CrawlTarget, CrawlTarget.id == ScanCoverage.target_id)
                           .where(ScanCoverage.run_id == run_id)).all()
    for coverage, kind, key in rows:
        n = per_target.get((kind, key if kind == "drive" else key.lower()), 0)
        if n:
            coverage.files_analysed = (coverage.files_analysed or 0) + n


def _count(session: Session, condition: Any) -> int:
    return int(session.scalar(select(func.count(Finding.id)).where(condition)) or 0)


def run_scan(app: App, *, full: bool = False, apply: bool | None = None,
             progress: ScanProgress | None = None, executor: str | None = None) -> ScanResult:
    """The entry point for the CLI and the scheduler."""
    return ScanService(app).run(ScanOptions(full=full, apply=apply, executor=executor), progress=progress)
