"""One scan, end to end: the orchestration of crawl → content → policy → findings → actions.

::

    crawl (metadata, every target)          scanner.drive.crawler.Crawler
      → analyse exposed files               scanner.drive.content + scanner.detect.pipeline
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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from scanner.app import App
from scanner.connectors.google import directory
from scanner.connectors.google.client import GoogleClients
from scanner.connectors.google.directory import CustomerDomains
from scanner.content.extract_base import SkipKind
from scanner.core.errors import ConfigError, GoogleApiError, RemediationRefused
from scanner.core.exposure import classify, normalise_domains
from scanner.core.models import FileExposure
from scanner.core.unread import ReadAspect, ReadFailure, Unread, failure_of
from scanner.detect.models import ContentResult, DetectorHit, EvidenceSummary
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
from scanner.schedule.lock import Heartbeat, RunLock, run_lock_for
from scanner.store.models import (
    CrawlTarget,
    DriveFileRow,
    Evidence,
    Finding,
    RemediationAction,
    ScanCoverage,
    ScanRun,
    utcnow,
)
from scanner.store.pending import PendingFile, PendingReads, pending_file_ids
from scanner.store.quota import record_ledger
from scanner.store.repo import FindingRepo
from scanner.store.snapshot import external_grant_domains, row_to_file, run_coverage
from scanner.store.tree import StoredTree

log = logging.getLogger(__name__)

MAX_ANCESTRY = 32


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

    def as_dict(self) -> dict[str, Any]:
        # a plain dict copy first: asdict() would rebuild a live Counter from (key, value) pairs
        return asdict(replace(self, api_calls_by_method=dict(self.api_calls_by_method),
                              api_units_by_method=dict(self.api_units_by_method)))


class ScanService:
    """Runs scans for one App. ``clients`` and ``pipeline_factory`` are injectable for tests."""

    def __init__(self, app: App, *, clients: GoogleClients | None = None,
                 pipeline_factory: Callable[[], Any] | None = None,
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.app = app
        self.settings = app.settings
        self._clients = clients
        self._pipeline_factory = pipeline_factory
        self._pipeline: Any = None
        self.clock = clock

    # ------------------------------------------------------------------ public
    def run(self, options: ScanOptions, *, progress: ScanProgress | None = None) -> ScanResult:
        self._check_settings()
        self.app.sessions  # noqa: B018 - refuses a database that is missing or not at head, before locking

        lock = run_lock_for(self.app)
        with lock, Heartbeat(lock):
            try:
                return self._run_locked(options, progress, lock)
            finally:
                bind_run(None)

    # ------------------------------------------------------------------ the run
    def _check_settings(self) -> None:
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
            run = ScanRun(kind=kind, status="running", remediation_mode=self._mode_label(options),
                          hostname=socket.gethostname(), pid=os.getpid(), heartbeat_at=self.clock(), stats={})
            s.add(run)
            s.flush()
            run_id = run.id
        lock.heartbeat(run_id)  # the lock names the run that holds it
        bind_run(run_id)  # every log record of this run carries its id
        result = ScanResult(run_id=run_id, kind=kind, status="running")
        try:
            rules = load_configured_rules(self.settings)
            clients = self._clients or GoogleClients(self.settings)
            result.api_calls_by_method = clients.stats.by_method  # live: as_dict() copies it when the run ends
            result.api_units_by_method = clients.stats.units_by_method
            self._reconcile(run_id, result)
            owned, directory_error = self._directory_domains(clients)
            summary = Crawler(self.settings, clients, sessions, progress=progress).run(run_id, full=options.full)
            self._absorb_crawl(result, summary)
            evaluated = self._analyse_and_evaluate(run_id, summary, rules, clients, result, progress)
            self._record_pending(run_id, result)
            folders = evaluate_folder_findings(self.app.sessions, self.app.actor, rules.rules, run_id=run_id,
                                               org_domains=frozenset(summary.org_domains),
                                               complete=summary.complete, evaluated=evaluated, clock=self.clock)
            self._close(run_id, summary, evaluated, result)
            result.findings_resolved += len(folders.resolved)
            result.domain_check = self._domain_check(owned, directory_error).to_json()
            result.exposure_dating = self.date_exposures(run_id, clients)
            result.posture = run_posture(self.settings, sessions, self.app.actor, clients, run_id,
                                         clock=self.clock).to_json()
            self._remediate(run_id, options, rules, result)
            self._notify(run_id, result)
            complete = summary.complete and not (result.files_pending or result.files_unreadable)
            result.status = "completed" if complete else "partial"
        except KeyboardInterrupt:
            self._finish(run_id, result, "interrupted", started, error="interrupted")
            raise
        except Exception as exc:
            self._finish(run_id, result, "failed", started, error=f"{type(exc).__name__}: {exc}")
            raise
        self._finish(run_id, result, result.status, started)
        return result

    def _reconcile(self, run_id: int, result: ScanResult) -> None:
        """Before the crawl: remediation a killed process left half-recorded is checked against Drive and
        finished (scanner.remediate.reconcile), so a fix we made is ``remediated`` before the crawl could
        see the condition gone and call it ``resolved``."""
        from scanner.remediate.reconcile import Reconciler

        report = Reconciler(self.settings, self.app.sessions, self.app.actor, clock=self.clock,
                            context=f"scan run {run_id}").run()
        result.reconciled = dict(report.outcomes)

    def _mode_label(self, options: ScanOptions) -> str:
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

    def _finish(self, run_id: int, result: ScanResult, status: str, started: float, error: str | None = None) -> None:
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
        """Files that are exposed or had findings and were crawled by this run or by any run since the
        last one that finished its analysis: the interrupted runs it resumed (however many in a row)
        and failed runs, whose crawl moved the change tokens on before their analysis was done; and
        every file with a pending read (an incremental crawl does not see them again by itself)."""
        with self.app.sessions() as s:
            last_done = s.scalar(select(func.max(ScanRun.id)).where(
                ScanRun.id < run_id, ScanRun.status.in_(("completed", "partial")), ScanRun.kind != "watch")) or 0
            run_ids = list(s.scalars(select(ScanRun.id).where(ScanRun.id > last_done, ScanRun.id <= run_id)))
            active_files = select(Finding.file_id).where(Finding.detection_state == "active")
            return list(s.scalars(
                select(DriveFileRow.id).where(or_(
                    and_(DriveFileRow.last_run_id.in_(run_ids),
                         or_(DriveFileRow.exposure != "internal", DriveFileRow.id.in_(active_files))),
                    DriveFileRow.id.in_(pending_file_ids()),
                )).order_by(DriveFileRow.id)
            ))

    def _pipeline_instance(self) -> Any:
        if self._pipeline is None:
            if self._pipeline_factory is not None:
                self._pipeline = self._pipeline_factory()
            else:
                from scanner.detect.pipeline import ContentPipeline, DetectConfig

                key = ensure_key(self.settings.evidence_key_path, loose=self.settings.keys.loose_permissions)
                self._pipeline = ContentPipeline(DetectConfig.from_settings(self.settings), hmac_key=key)
        return self._pipeline

    def _analyse_and_evaluate(self, run_id: int, summary: CrawlSummary, rules: Any, clients: GoogleClients,
                              result: ScanResult, progress: ScanProgress | None,
                              only: Sequence[str] | None = None) -> set[str]:
        """``only``: these files instead of the run's candidates (``sharescan watch``)."""
        from scanner.drive.content import ContentFetcher

        org_domains = frozenset(summary.org_domains)
        ids = self._candidate_ids(run_id) if only is None else sorted(only)
        if progress is not None:
            progress.phase("analysing exposed files", len(ids))
        fetcher = ContentFetcher(clients)
        subjects = _Subjects(self.settings, clients, org_domains)
        with self.app.sessions() as s:
            exemptions = FindingRepo(s, self.app.actor).active_exemptions()
        engine = PolicyEngine(rules.rules, exemptions=exemptions)
        # While a file's content cannot be read, only rules that need no content are evaluated.
        without_content = PolicyEngine([r for r in rules.rules if r.content is None], exemptions=exemptions)
        unreadable_after = self.settings.limits.unreadable_after_attempts
        evaluated: set[str] = set()
        analysed_per_target: Counter[tuple[str, str]] = Counter()
        for file_id in ids:
            with self.app.sessions() as s:
                row = s.get(DriveFileRow, file_id)
                if row is None:
                    continue
                unread_aspects = PendingReads(s).aspects_of(file_id)
                file = row_to_file(row)
                removed = row.removed_at is not None
                # the crawler's verdict on groups with outside members ([google] expand_groups) is kept
                outside = frozenset((p.email_address or "").lower() for p in row.permissions
                                    if p.type == "group" and p.exposure == "external_group")
                exposure = FileExposure(file=file, exposed=()) if removed else classify(file, org_domains, outside)
                ctx = FileContext(ancestors=_ancestors(s, row), now=self.clock())
                needs_content = not removed and engine.needs_content(exposure, ctx)
                cached = _cached_content(s, row, file.revision_key) if needs_content else None
            if ReadAspect.PERMISSIONS in unread_aspects and not removed:
                # Who can open it is unknown: its findings keep their state until the crawl reads it.
                if progress is not None:
                    progress.advance()
                continue
            fresh: ContentResult | None = None
            unread: Unread | None = None
            if cached is not None:
                result.content_cache_hits += 1
            elif needs_content:
                fresh, unread = self._analyse(fetcher, subjects, file)
                if fresh is not None and fresh.analysed:
                    result.files_analysed += 1
                    analysed_per_target[("drive", file.drive_id) if file.drive_id
                                        else ("user", (file.owner_email or "").lower())] += 1
                    result.files_partial += fresh.is_partial
                elif fresh is not None:
                    result.files_not_analysed += 1
            content = cached if cached is not None else fresh
            if content is not None and content.analysed:
                result.nlp_mode = content.nlp_mode or result.nlp_mode
            # Unread content is not clean content: the rules that need it keep their previous verdict.
            matches = (without_content if unread is not None else engine).evaluate(exposure, content, ctx)
            with self.app.sessions.begin() as s:
                repo = FindingRepo(s, self.app.actor, clock=self.clock)
                pending = PendingReads(s, unreadable_after=unreadable_after, clock=self.clock)
                if unread is not None:
                    pending.record(PendingFile(file_id, file.owner_email, file.drive_id, file.name), unread,
                                   run_id=run_id)
                elif removed:
                    pending.clear([file_id])
                elif fresh is not None or not needs_content:
                    pending.clear([file_id], [ReadAspect.CONTENT])
                if fresh is not None:
                    _store_content(s, repo, file_id, file.revision_key, fresh, self.clock())
                for match in matches:
                    repo.upsert(match, run_id)
            if unread is None and ReadAspect.PUBLISH_STATE not in unread_aspects:
                evaluated.add(file_id)
            if progress is not None:
                progress.advance()
        with self.app.sessions.begin() as s:
            _count_analysed(s, run_id, analysed_per_target)
        return evaluated

    def _analyse(self, fetcher: Any, subjects: _Subjects, file: Any) -> tuple[ContentResult | None, Unread | None]:
        """The file's content analysed, or why it was not (a lasting reason, in the ContentResult), or
        the failed read (download, export, timeout, no identity could read it) to try again next run."""
        max_bytes = self.settings.limits.max_download_bytes
        failure, detail = ReadFailure.NO_READER, "no identity could read the file"
        for subject in subjects.for_file(file):
            try:
                fetched = fetcher.fetch(file, as_user=subject, max_bytes=max_bytes)
            except GoogleApiError as exc:  # e.g. the owner cannot be impersonated (suspended)
                failure = failure_of(exc, ReadFailure.NO_READER if _denied(exc) else ReadFailure.DOWNLOAD_FAILED)
                detail = str(exc)
                continue
            if not fetched.ok:
                if fetched.denied:  # this identity cannot read it: try the next one
                    failure, detail = ReadFailure.NO_READER, fetched.skip_reason or detail
                    continue
                if fetched.failure is not None:
                    return None, Unread(ReadAspect.CONTENT, fetched.failure, fetched.skip_reason or "")
                reason = fetched.skip_reason or "unknown"
                reason = reason if reason.startswith("not analysed") else f"not analysed: {reason}"
                return ContentResult(analysed=False, skip_reason=reason), None
            content: ContentResult = self._pipeline_instance().analyze_bytes(fetched.data, fetched.mime_type, file.name)
            if fetched.truncated:
                content.truncated = True
            return content, None
        return None, Unread(ReadAspect.CONTENT, failure, detail)

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

    def _close(self, run_id: int, summary: CrawlSummary, evaluated: set[str], result: ScanResult) -> None:
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
    def _remediate(self, run_id: int, options: ScanOptions, rules: Any, result: ScanResult) -> None:
        from scanner.remediate.engine import Remediator

        with self.app.sessions() as s:
            ids = list(s.scalars(select(Finding.id).where(Finding.status == "open",
                                                           Finding.detection_state == "active")
                                 .order_by(Finding.id)))
        if not ids:
            return
        remediator = Remediator(self.settings, self.app.sessions, self.app.actor, rules=rules.rules, clock=self.clock)
        blocked = (result.domain_check or {}).get("blocked")
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
        result.findings_remediated = len(self.refresh_fixed(report.action_ids, run_id=run_id))

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
        with self.app.sessions() as s:
            done = s.scalars(select(RemediationAction).where(
                RemediationAction.id.in_(list(action_ids)), RemediationAction.status == "verified",
                RemediationAction.mode == "enforce", RemediationAction.action.in_(CHANGING_ACTIONS))).all()
            targets = {a.target_file_id or a.file_id for a in done} | {a.file_id for a in done}
            tree = StoredTree(s)
            ids = set(targets) | {d for t in targets for d in tree.descendants(t)}
            acted = [a.id for a in done]
        if not ids:
            return []
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
                ctx = FileContext(ancestors=_ancestors(s, row), now=self.clock())
                needs = not removed and engine.needs_content(exposure, ctx)
                content = _cached_content(s, row, file.revision_key) if needs else None
                if needs and content is None:
                    continue  # this revision was not analysed: its findings stay as they are
                repo = FindingRepo(s, self.app.actor, clock=self.clock)
                seen = {repo.upsert(m, run_id).id for m in engine.evaluate(exposure, content, ctx)}
                gone = s.scalars(select(Finding).where(Finding.file_id == file_id, Finding.rule_id.in_(file_rules),
                                                       Finding.detection_state == "active",
                                                       Finding.id.not_in(seen)).order_by(Finding.id)).all()
                remediated += repo.close_fixed(gone, run_id=run_id, action_ids=acted)
        evaluate_folder_findings(self.app.sessions, self.app.actor, rules.rules, run_id=run_id,
                                 org_domains=org_domains, complete=True, clock=self.clock)
        return remediated

    def _notify(self, run_id: int, result: ScanResult) -> None:
        from scanner.notify.deliver import Deliverer
        from scanner.notify.outbox import Outbox

        with self.app.sessions() as s:  # the deliverer commits after each message itself
            queued = len(Outbox(s, self.settings).digest_for_run(run_id))
            report = Deliverer(self.settings).deliver(s)
        result.notifications = {"queued": queued, "sent": len(report.sent), "retrying": len(report.retrying),
                                "failed": len(report.failed)}


class _Subjects:
    """Who can read a file for content analysis: a shared-drive member, its owner, then the admin."""

    def __init__(self, settings: Any, clients: GoogleClients, org_domains: frozenset[str]) -> None:
        self.settings = settings
        self.clients = clients
        self.org_domains = org_domains
        self._members: dict[str, str | None] = {}
        self._active: set[str] | None = None

    def for_file(self, file: Any) -> Iterator[str]:
        seen: set[str] = set()
        candidates: list[str | None] = []
        if file.drive_id:
            candidates.append(self._member(file.drive_id))
        candidates += [file.owner_email, self.settings.google.admin_subject]
        for c in candidates:
            if c and c.lower() not in seen:
                seen.add(c.lower())
                yield c

    def _member(self, drive_id: str) -> str | None:
        if drive_id not in self._members:
            from scanner.connectors.google import directory

            try:
                if self._active is None:
                    self._active = {u.email.lower() for u in directory.list_users(self.clients, self.settings)
                                    if u.skip_reason is None}
                self._members[drive_id] = directory.find_member(self.clients, self.settings, drive_id,
                                                                self._active, self.org_domains)
            except GoogleApiError:
                self._members[drive_id] = None
        return self._members[drive_id]


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


def _ancestors(session: Session, row: DriveFileRow) -> tuple[str, ...]:
    out: list[str] = []
    frontier = list(row.parents or [])
    while frontier and len(out) < MAX_ANCESTRY:
        parent_id = frontier.pop(0)
        if parent_id in out:
            continue
        out.append(parent_id)
        parent = session.get(DriveFileRow, parent_id)
        if parent is not None:
            frontier.extend(parent.parents or [])
    if row.drive_id and row.drive_id not in out:
        out.append(row.drive_id)
    return tuple(out)


def _denied(exc: BaseException) -> bool:
    """This identity cannot read the file (refused, or cannot be impersonated); another one might."""
    from scanner.drive.content import DENIED_REASONS

    return getattr(exc, "status", None) in (401, 403, 404) or getattr(exc, "reason", "") in DENIED_REASONS


def _cached_content(session: Session, row: DriveFileRow, revision: str) -> ContentResult | None:
    """The analysis of this exact revision, rebuilt from what was stored (hits and evidence, no values)."""
    if not revision or row.content_revision != revision or row.content_status == "pending":
        return None
    if row.content_status == "not_analysed":  # a lasting reason (encrypted, too large...): failed reads are pending
        return ContentResult(analysed=False, skip_reason=row.content_skip_reason,
                             skip_kind=SkipKind.parse(row.content_skip_kind))
    evidence: dict[str, list[EvidenceSummary]] = {}
    for ev in session.scalars(select(Evidence).where(Evidence.file_id == row.id, Evidence.revision == revision)):
        evidence.setdefault(ev.detector, []).append(EvidenceSummary(
            entity_type=ev.entity_type, count=ev.count, best_score=ev.best_score, first_location=ev.location,
            masked_preview=ev.masked_preview, value_hash=ev.value_hash, distinct_values=ev.distinct_values))
    hits = [
        DetectorHit(detector=name, count=int(info.get("count", 0)), best_score=float(info.get("best_score", 0.0)),
                    evidence=tuple(evidence.get(name, ())), categories=tuple(info.get("categories", ())))
        for name, info in sorted((row.content_hits or {}).items())
    ]
    return ContentResult(analysed=True, hits=hits, nlp_mode=row.nlp_mode or "")


def _store_content(session: Session, repo: FindingRepo, file_id: str, revision: str, content: ContentResult,
                   now: dt.datetime) -> None:
    row = session.get(DriveFileRow, file_id)
    if row is None:
        return
    row.content_revision = revision
    row.content_analysed_at = now
    row.nlp_mode = content.nlp_mode or None
    if content.analysed:
        row.content_status = "analysed"
        notes = [f"partial: {reason}" for reason in content.partial]
        notes += ["truncated at a size cap"] if content.truncated else []
        row.content_skip_reason = "; ".join(notes) or None
        row.content_skip_kind = None
        row.content_hits = {h.detector: {"count": h.count, "best_score": round(h.best_score, 4),
                                         "categories": list(h.categories)} for h in content.hits}
        row.data_categories = sorted({c for h in content.hits for c in h.categories})
        repo.record_evidence(file_id, revision, content)
    else:
        row.content_status = "not_analysed"
        row.content_skip_reason = content.skip_reason
        row.content_skip_kind = content.skip_kind.value if content.skip_kind else None
        row.content_hits = {}
        row.data_categories = []


def run_scan(app: App, *, full: bool = False, apply: bool | None = None,
             progress: ScanProgress | None = None) -> ScanResult:
    """The entry point for the CLI and the scheduler."""
    return ScanService(app).run(ScanOptions(full=full, apply=apply), progress=progress)
