"""Crawl a whole domain: every active user's My Drive and every shared drive, full or incremental.

``Crawler.run`` is the service the scan orchestrator calls. Per target (a user's My Drive or a
shared drive) it pages through ``files.list`` (full) or ``changes.list`` (incremental), fetches
what files.list leaves out (shared-drive permissions, publishing of Docs editor files), classifies
exposure and commits each page in one transaction together with the coverage cursor, so a run
that dies resumes from the last committed page. Targets run concurrently on ``limits.workers``
threads sharing one quota limiter. A target that cannot be read is skipped with the reason and
the scan goes on.

Each file is crawled once, by its owner (My Drive: ``'me' in owners``) or by its shared drive
(listed as one member, not once per member).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from googleapiclient.discovery import Resource
from googleapiclient.http import HttpRequest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scanner.config import Settings
from scanner.connectors.google import directory
from scanner.connectors.google import drive_api as api
from scanner.connectors.google.client import CallTally, GoogleCallError, GoogleClients
from scanner.core.errors import GoogleApiError
from scanner.core.exposure import can_be_published, classify, email_domain, is_exposed, normalise_domains
from scanner.core.models import DriveFile, FileExposure
from scanner.core.publish import PublishGate, revision_marker
from scanner.core.unread import ReadAspect, ReadFailure, Unread, failure_of
from scanner.drive import changes as changes_feed
from scanner.policy.labels import wanted_label_ids
from scanner.store import snapshot
from scanner.store.models import CrawlTarget, DriveFileRow, ScanCoverage, ScanRun, utcnow
from scanner.store.pending import PendingFile, PendingReads

log = logging.getLogger(__name__)

OnExposed = Callable[[Session, FileExposure], None]
#: Errors that mean "this identity cannot read this Drive" rather than "something broke".
SKIP_REASONS = frozenset({"unauthorized_client", "invalid_grant", "access_denied", "notFound", "forbidden",
                          "insufficientFilePermissions", "teamDriveMembershipRequired", "domainPolicy"})
HEARTBEAT_SECONDS = 5.0


# --------------------------------------------------------------------------- public types
@dataclass(frozen=True)
class CrawlProgressSnapshot:
    targets_total: int
    targets_done: int
    users_done: int
    drives_done: int
    files_seen: int
    files_exposed: int
    api_calls: int
    elapsed_seconds: float

    @property
    def files_per_second(self) -> float:
        return self.files_seen / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0


class CrawlProgress:
    """Receives progress as the crawl goes (override ``update``; called from worker threads)."""

    def update(self, snapshot: CrawlProgressSnapshot) -> None:  # pragma: no cover - default no-op
        return None


@dataclass(frozen=True)
class TargetResult:
    kind: str  # user | drive
    key: str  # email or shared drive id
    name: str
    status: str  # done | skipped | failed
    mode: str  # full | incremental | resumed (done by the run this one resumed)
    reason: str | None
    files_seen: int
    files_exposed: int
    files_failed: int
    api_calls: int

    @property
    def covered(self) -> bool:
        """Every file of this owner/drive was looked at in this crawl."""
        return self.status == "done" and self.files_failed == 0


@dataclass(frozen=True)
class CrawlSummary:
    run_id: int
    full: bool
    #: No target failed. Files whose permissions or publish state could not be read are pending reads
    #: (their findings keep their state) and leave their target uncovered; the others can be closed.
    complete: bool
    targets: tuple[TargetResult, ...]
    #: Users whose My Drive was fully covered, and shared drives fully covered.
    covered_owners: frozenset[str]
    covered_drives: frozenset[str]
    files_seen: int
    files_exposed: int
    files_removed: int
    api_calls: int
    elapsed_seconds: float
    resumed_from: int | None = None
    org_domains: tuple[str, ...] = ()
    #: Items below folders whose sharing changed, read again whatever the Changes feed listed.
    descendants_refreshed: int = 0
    #: Publish checks by reason (scanner.core.publish.PublishCheck) and ``skipped`` (stored state kept).
    publish_checks: dict[str, int] = field(default_factory=dict)


@dataclass
class RefreshResult:
    """Files read again by id: those stored anew, those gone, those that could not be read."""

    refreshed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: int = 0
    #: Items below refreshed folders whose sharing changed, read as well.
    descendants: int = 0


# --------------------------------------------------------------------------- internals
@dataclass
class TargetTask:
    target_id: int
    coverage_id: int
    kind: str
    key: str
    name: str
    mode: str  # full | incremental
    cursor: str | None
    start_token: str | None  # target's stored changes token (incremental)
    pending_token: str | None  # changes token captured before this full crawl
    crawl_started_at: dt.datetime
    subject: str | None = None
    skip_reason: str | None = None
    #: API calls already added to the coverage row.
    calls_committed: int = 0

    def to_payload(self) -> dict[str, Any]:
        """The task as JSON-safe values (ids and cursors only), for a distributed executor."""
        out = dataclasses.asdict(self)
        out["crawl_started_at"] = self.crawl_started_at.isoformat()
        return out

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> TargetTask:
        values = dict(payload)
        values["crawl_started_at"] = dt.datetime.fromisoformat(values["crawl_started_at"])
        return cls(**values)

    @property
    def drive_id(self) -> str | None:
        return self.key if self.kind == "drive" else None

    @property
    def owner(self) -> str | None:
        """The user whose My Drive this is (None for a shared drive)."""
        return self.key if self.kind == "user" else None


@dataclass(frozen=True)
class RunState:
    """What crawling one target leaves for the run's closing steps besides its TargetResult: shortcut
    targets to resolve, folders whose sharing changed, files marked removed. A worker process returns it
    with the result; the scan process absorbs it (``Crawler.absorb``)."""

    shortcuts: tuple[tuple[str, str], ...] = ()
    changed_folders: tuple[str, ...] = ()
    files_removed: int = 0


#: How a run crawls its planned targets: in threads here (the default) or on other processes.
CrawlMany = Callable[["Crawler", list[TargetTask]], list[TargetResult]]


@dataclass
class _PageResult:
    exposures: list[FileExposure] = field(default_factory=list)
    removed_ids: list[str] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    shortcut_targets: list[tuple[str, str]] = field(default_factory=list)
    #: Reads that failed (permissions, publish state): pending reads, tried again next run.
    unread: list[tuple[PendingFile, Unread]] = field(default_factory=list)
    #: Files whose publish check failed: stored with the publish state they had before.
    publish_unknown: set[str] = field(default_factory=set)
    #: Files whose publish state was read now → the revision marker it was read at.
    publish_checked: dict[str, str] = field(default_factory=dict)


class _TargetSkipped(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Totals:
    def __init__(self, targets_total: int, started: float) -> None:
        self.lock = threading.Lock()
        self.targets_total = targets_total
        self.targets_done = self.users_done = self.drives_done = 0
        self.files_seen = self.files_exposed = self.files_removed = 0
        self.started = started


def _reason(exc: GoogleCallError) -> str:
    return f"{exc.status} {exc.reason}".strip() if exc.status else exc.reason


def _is_skip(exc: GoogleCallError) -> bool:
    return exc.status in (401, 403, 404) or exc.reason in SKIP_REASONS


_FAILURE_OF = {ReadAspect.PERMISSIONS.value: ReadFailure.PERMISSIONS_FAILED,
               ReadAspect.PUBLISH_STATE.value: ReadFailure.PUBLISH_CHECK_FAILED}


def _pending_file(item: dict[str, Any]) -> PendingFile:
    owners = item.get("owners") or []
    owner = next((str(o.get("emailAddress")) for o in owners if o.get("emailAddress")), None)
    return PendingFile(str(item["id"]), owner.lower() if owner else None, item.get("driveId"),
                       str(item.get("name") or ""))


def _permissions_unread(item: dict[str, Any], error: GoogleCallError) -> tuple[PendingFile, Unread]:
    return _pending_file(item), Unread(ReadAspect.PERMISSIONS, failure_of(error, ReadFailure.PERMISSIONS_FAILED),
                                       f"permissions.list: {_reason(error)}")


def _publish_unknown(out: _PageResult, f: DriveFile, error: GoogleCallError) -> None:
    out.publish_unknown.add(f.id)
    out.unread.append((PendingFile(f.id, f.owner_email, f.drive_id, f.name),
                       Unread(ReadAspect.PUBLISH_STATE, failure_of(error, ReadFailure.PUBLISH_CHECK_FAILED),
                              f"revisions.list: {_reason(error)}")))


class Crawler:
    """Crawls the domain into the snapshot tables; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        clients: GoogleClients,
        sessions: sessionmaker[Session],
        *,
        progress: CrawlProgress | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.clients = clients
        self.sessions = sessions
        self.progress = progress
        self.clock = clock
        self._hb_lock = threading.Lock()
        self._last_heartbeat = 0.0
        self._shortcut_lock = threading.Lock()
        self._shortcuts: dict[str, str] = {}
        self._domains: frozenset[str] = frozenset()
        self._group_lock = threading.Lock()
        self._outside_groups: dict[str, bool] = {}  # organisation group → has outside members (per run)
        self._totals = _Totals(0, time.monotonic())
        self._on_exposed: OnExposed | None = None
        self._run_id = 0
        self._active_users: set[str] | None = None
        self._folders_lock = threading.Lock()
        self._changed_folders: set[str] = set()
        self.publish_gate = PublishGate(recheck_days=settings.limits.publish_recheck_days,
                                        due_per_run=settings.limits.publish_recheck_per_run)
        #: ``includeLabels`` of every file read: the labels rules name and the classification label.
        self.include_labels = ",".join(wanted_label_ids(settings))

    # ------------------------------------------------------------------ entry point
    def run(self, run_id: int, *, full: bool, on_exposed: OnExposed | None = None,
            crawl_many: CrawlMany | None = None) -> CrawlSummary:
        """Crawl every target for ``run_id`` (an existing ScanRun row).

        Resumes the run named by ``ScanRun.resumed_from_id`` or, when unset, the latest
        interrupted (or stale running) run of the same kind: targets it finished are not crawled
        again and unfinished ones continue from their cursors.
        """
        started = time.monotonic()
        calls_before = self.clients.stats.calls
        self._run_id = run_id
        self._on_exposed = on_exposed
        self._shortcuts = {}
        self.publish_gate.reset()
        overhead = CallTally()
        self._domains = self._org_domains(overhead)
        with self.sessions.begin() as s:
            run = s.get(ScanRun, run_id)
            if run is None:
                raise ValueError(f"scan run {run_id} does not exist")
            resumed_from = self._resume_source(s, run)
        jobs, results = self.plan_targets(run_id, full, resumed_from, overhead)
        self._totals = _Totals(len(jobs) + len(results), started)
        with self._totals.lock:
            self._totals.targets_done = len(results)
        results.extend((crawl_many or crawl_in_threads)(self, jobs))
        self._resolve_shortcuts(overhead)
        refreshed = self._refresh_descendants(overhead)
        results.sort(key=lambda r: (r.kind != "user", r.key))
        complete = all(r.status != "failed" for r in results)
        t = self._totals
        summary = CrawlSummary(
            run_id=run_id, full=full, complete=complete, targets=tuple(results),
            covered_owners=frozenset(r.key for r in results if r.kind == "user" and r.covered),
            covered_drives=frozenset(r.key for r in results if r.kind == "drive" and r.covered),
            files_seen=sum(r.files_seen for r in results), files_exposed=sum(r.files_exposed for r in results),
            files_removed=t.files_removed, api_calls=self.clients.stats.calls - calls_before,
            elapsed_seconds=time.monotonic() - started, resumed_from=resumed_from,
            org_domains=tuple(sorted(self._domains)), descendants_refreshed=refreshed,
            publish_checks=dict(self.publish_gate.counts),
        )
        self._report()
        return summary

    # ------------------------------------------------------------------ planning
    def _org_domains(self, tally: CallTally) -> frozenset[str]:
        if self.settings.organisation.domains:
            return normalise_domains(self.settings.organisation.domains)
        return normalise_domains(directory.list_domains(self.clients, self.settings, tally))

    def _resume_source(self, s: Session, run: ScanRun) -> int | None:
        if run.resumed_from_id:
            return run.resumed_from_id
        stale = self.clock() - dt.timedelta(seconds=self.settings.schedule.stale_lock_seconds)
        prev = s.scalar(
            select(ScanRun).where(ScanRun.id < run.id, ScanRun.kind == run.kind).order_by(ScanRun.id.desc()).limit(1)
        )
        if prev is None:
            return None
        beat = prev.heartbeat_at or prev.started_at
        if prev.status == "interrupted" or (prev.status == "running" and beat is not None and beat < stale):
            run.resumed_from_id = prev.id
            return prev.id
        return None

    def plan_targets(self, run_id: int, full: bool, resumed_from: int | None,
                     overhead: CallTally) -> tuple[list[TargetTask], list[TargetResult]]:
        """The run's units of work: a TargetTask per target to crawl (its coverage row is ``pending``),
        and the results of targets already settled (skipped, or carried from the run this one resumes)."""
        settings = self.settings
        all_users = directory.list_users(self.clients, settings, overhead)
        group_emails: set[str] = set()
        for group in settings.google.groups:
            group_emails |= directory.group_members(self.clients, settings, group, overhead)
        users = directory.select_users(all_users, settings, group_emails)
        drives = directory.list_shared_drives(self.clients, settings, overhead) \
            if settings.google.include_shared_drives else []
        self._active_users = {u.email for u in all_users if u.skip_reason is None}
        now = self.clock()
        jobs: list[TargetTask] = []
        results: list[TargetResult] = []
        with self.sessions.begin() as s:
            previous: dict[int, ScanCoverage] = {}
            if resumed_from is not None:
                previous = {c.target_id: c for c in s.scalars(
                    select(ScanCoverage).where(ScanCoverage.run_id == resumed_from))}
            targets: list[tuple[CrawlTarget, str | None]] = []
            for u in users:
                t = snapshot.upsert_target(s, "user", u.email, u.email, active=u.skip_reason is None,
                                           skip_reason=u.skip_reason)
                targets.append((t, u.skip_reason))
            for d in drives:
                targets.append((snapshot.upsert_target(s, "drive", d.id, d.name), None))
            for target, skip in targets:
                cov = snapshot.coverage_for(s, run_id, target.id)
                prev = previous.get(target.id)
                if skip is not None and not self.settings.google.admin_subject:
                    cov.status = "skipped"
                    cov.reasons = {"target": skip, "mode": "full" if full else "incremental"}
                    cov.finished_at = now
                    results.append(self._result(target, cov))
                    continue
                if skip is not None:
                    # Cannot act as a suspended/archived user, but their shared files stay reachable:
                    # list the ones the admin can see (partial coverage, recorded as skipped).
                    cov.status = "pending"
                    cov.reasons = {"mode": "partial", "target": skip}
                    cov.started_at = now
                    s.flush()
                    jobs.append(TargetTask(
                        target_id=target.id, coverage_id=cov.id, kind="user", key=target.key, name=target.name,
                        mode="partial", cursor=None, start_token=None, pending_token=None, crawl_started_at=now,
                        subject=settings.google.admin_subject, skip_reason=skip,
                    ))
                    continue
                if prev is not None and prev.status in ("done", "skipped"):
                    self._carry(cov, prev)
                    results.append(self._result(target, cov))
                    continue
                mode = "full" if full or not target.start_page_token else "incremental"
                if prev is not None and prev.reasons.get("mode") in ("full", "incremental"):
                    mode = str(prev.reasons["mode"])
                cov.status = "pending"
                cov.reasons = {"mode": mode}
                if prev is not None:
                    cov.cursor = prev.cursor
                    cov.pending_start_token = prev.pending_start_token
                    cov.started_at = prev.started_at
                    cov.reasons["resumed_from"] = resumed_from
                cov.started_at = cov.started_at or now
                s.flush()
                jobs.append(TargetTask(
                    target_id=target.id, coverage_id=cov.id, kind=target.kind, key=target.key, name=target.name,
                    mode=mode, cursor=cov.cursor, start_token=target.start_page_token,
                    pending_token=cov.pending_start_token, crawl_started_at=cov.started_at,
                    subject=target.key if target.kind == "user" else None,
                ))
        return jobs, results

    @staticmethod
    def _carry(cov: ScanCoverage, prev: ScanCoverage) -> None:
        for attr in ("status", "cursor", "pending_start_token", "files_seen", "files_exposed", "files_skipped",
                     "files_failed", "api_calls", "started_at", "finished_at"):
            setattr(cov, attr, getattr(prev, attr))
        cov.reasons = {**(prev.reasons or {}), "resumed_from": prev.run_id, "carried": True}

    @staticmethod
    def _result(target: CrawlTarget, cov: ScanCoverage) -> TargetResult:
        return TargetResult(
            kind=target.kind, key=target.key, name=target.name, status=cov.status,
            mode=snapshot.coverage_mode(cov.reasons), reason=(cov.reasons or {}).get("target"),
            files_seen=cov.files_seen, files_exposed=cov.files_exposed,
            files_failed=cov.files_failed, api_calls=cov.api_calls,
        )

    # ------------------------------------------------------------------ one target
    @property
    def run_id(self) -> int:
        return self._run_id

    def prepare_worker(self, run_id: int) -> None:
        """Set up a crawler in another process to crawl targets of ``run_id`` (``crawl_target``): the
        organisation's domains and the active users that the planning process knew."""
        self._run_id = run_id
        tally = CallTally()
        self._domains = self._org_domains(tally)
        if self._active_users is None:
            self._active_users = {u.email for u in directory.list_users(self.clients, self.settings, tally)
                                  if u.skip_reason is None}

    def take_state(self) -> RunState:
        """What this crawler gathered for the run's closing steps (and forget it)."""
        with self._shortcut_lock, self._folders_lock, self._totals.lock:
            state = RunState(shortcuts=tuple(sorted(self._shortcuts.items())),
                             changed_folders=tuple(sorted(self._changed_folders)),
                             files_removed=self._totals.files_removed)
            self._shortcuts, self._changed_folders = {}, set()
            self._totals.files_removed = 0
        return state

    def absorb(self, result: TargetResult, state: RunState) -> None:
        """A target crawled in another process: its result counts, its run state joins this crawler's."""
        with self._shortcut_lock:
            for target_id, subject in state.shortcuts:
                self._shortcuts.setdefault(target_id, subject)
        with self._folders_lock:
            self._changed_folders |= set(state.changed_folders)
        with self._totals.lock:
            self._totals.files_removed += state.files_removed
            self._totals.files_seen += result.files_seen
            self._totals.files_exposed += result.files_exposed
            self._totals.targets_done += 1
        self._report()

    def crawl_target(self, job: TargetTask) -> TargetResult:
        """Crawl one target from its cursor (one unit of work; safe to run again: pages commit their
        cursor, and a target already done is not crawled twice)."""
        with self.sessions() as s:
            cov = s.get(ScanCoverage, job.coverage_id)
            target = s.get(CrawlTarget, job.target_id)
            if cov is not None and target is not None and cov.status in ("done", "skipped", "failed"):
                return self._result(target, cov)  # a re-delivered task: it already ran to its end
            if cov is not None:
                job.cursor = cov.cursor
                job.pending_token = cov.pending_start_token or job.pending_token
        return self._run_job(job)

    def _run_job(self, job: TargetTask) -> TargetResult:
        tally = CallTally()
        status, reason = "done", None
        try:
            self._set_status(job, "running")
            if job.kind == "drive":
                job.subject = directory.find_member(self.clients, self.settings, job.key,
                                                    self._active_users or set(), self._domains, tally)
                if job.subject is None:
                    raise _TargetSkipped("no active organisation member can list this shared drive")
            if job.mode == "partial":
                self._crawl_partial(job, tally)
                raise _TargetSkipped(f"{job.skip_reason}: only files visible to {job.subject} were listed")
            if job.mode == "incremental":
                try:
                    self.crawl_changes(job, tally)
                except GoogleCallError as exc:
                    if exc.status not in (400, 404) or exc.method != "drive.changes.list":
                        raise
                    log.warning("changes token of %s %s rejected (%s): full crawl", job.kind, job.key, exc)
                    job.mode, job.cursor, job.pending_token = "full", None, None
                    self._crawl_full(job, tally)
                else:
                    self.retry_pending(job, tally)
            else:
                self._crawl_full(job, tally)
        except _TargetSkipped as exc:
            status, reason = "skipped", exc.reason
        except GoogleCallError as exc:
            status, reason = ("skipped" if _is_skip(exc) else "failed"), f"{exc.method}: {_reason(exc)}"
        except GoogleApiError as exc:
            status, reason = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 - one broken target must not stop the scan
            log.exception("crawl of %s %s failed", job.kind, job.key)
            status, reason = "failed", f"{type(exc).__name__}: {exc}"
        with self.sessions.begin() as s:
            cov = s.get(ScanCoverage, job.coverage_id)
            target = s.get(CrawlTarget, job.target_id)
            assert cov is not None and target is not None
            cov.api_calls += tally.calls - job.calls_committed
            job.calls_committed = tally.calls
            reasons = dict(cov.reasons or {})
            if status != "done":
                cov.status = status
                reasons["target"] = reason
                cov.finished_at = self.clock()
                target.skip_reason = reason if status == "skipped" else target.skip_reason
            cov.reasons = reasons
            result = self._result(target, cov)
        with self._totals.lock:
            self._totals.targets_done += 1
            if job.kind == "user":
                self._totals.users_done += 1
            else:
                self._totals.drives_done += 1
        self._report()
        return result

    def _set_status(self, job: TargetTask, status: str) -> None:
        with self.sessions.begin() as s:
            cov = s.get(ScanCoverage, job.coverage_id)
            if cov is not None:
                cov.status = status

    def _crawl_full(self, job: TargetTask, tally: CallTally) -> None:
        assert job.subject is not None
        drive = self.clients.drive(job.subject)
        if job.pending_token is None:
            body = self.clients.execute(api.start_page_token(drive, job.drive_id), tally=tally)
            job.pending_token = str(body["startPageToken"])
            with self.sessions.begin() as s:
                cov = s.get(ScanCoverage, job.coverage_id)
                assert cov is not None
                cov.pending_start_token = job.pending_token
        self._crawl_listing(job, tally, finish=job.pending_token)

    def crawl_changes(self, job: TargetTask, tally: CallTally) -> None:
        """Apply every change since the target's token, page by page, committing the cursor."""
        assert job.subject is not None
        drive = self.clients.drive(job.subject)
        token = job.cursor or job.start_token
        if not token:
            raise ValueError(f"{job.kind} {job.key} has no changes token")
        while True:
            page = self.clients.execute(api.list_changes(drive, token, job.drive_id,
                                                         include_labels=self.include_labels), tally=tally)
            live, removed = changes_feed.select_changes(page.get("changes", []), owner=job.owner,
                                                        drive_id=job.drive_id)
            result = self.enrich(drive, job.subject, live, tally)
            result.removed_ids.extend(removed)
            next_token = page.get("nextPageToken")
            new_start = page.get("newStartPageToken")
            self.commit_page(job, result, tally, cursor=next_token or new_start,
                             finish=None if next_token else str(new_start or token))
            if not next_token:
                return
            token = next_token

    def _crawl_partial(self, job: TargetTask, tally: CallTally) -> None:
        """Files a suspended/archived user owns that the admin subject can see."""
        self._crawl_listing(job, tally, finish=None)

    def _crawl_listing(self, job: TargetTask, tally: CallTally, *, finish: str | None) -> None:
        """files.list as ``job.subject`` from the job's cursor, one committed page at a time; after
        the last page the target is marked done with ``finish`` as its changes token (None: never)."""
        subject = job.subject
        assert subject is not None
        drive = self.clients.drive(subject)

        def request(token: str | None) -> HttpRequest:
            if job.kind == "drive":
                return api.list_shared_drive(drive, job.key, token, include_labels=self.include_labels)
            return api.list_owned(drive, job.key, token, include_labels=self.include_labels)

        for page in self.clients.pages(request, token=job.cursor, tally=tally):
            result = self.enrich(drive, subject, page.get("files", []), tally, listing=True)
            token = page.get("nextPageToken")
            self.commit_page(job, result, tally, cursor=token, finish=None if token else finish, sweep=token is None)

    def _get_files(self, drive: Resource, ids: Sequence[str]) -> list[HttpRequest]:
        return [api.get_file(drive, i, include_labels=self.include_labels) for i in ids]

    # ------------------------------------------------------------------ page processing
    def enrich(self, drive: Resource, subject: str, items: list[dict[str, Any]], tally: CallTally, *,
               listing: bool = False) -> _PageResult:
        """API file resources → classified FileExposures (fetching shared-drive permissions and
        publishing state in batches); ``subject`` is who ``drive`` acts as. ``listing``: the items come
        from a full listing, not a Changes entry or a re-read (scanner.core.publish)."""
        out = _PageResult()
        perms: dict[str, Any] = {}
        need = [i for i in items if not api.has_permissions(i)]
        if need:
            results = self.clients.execute_batch(
                [api.list_permissions(drive, i["id"], published_view=api.is_form(i)) for i in need], tally=tally)
            for item, res in zip(need, results, strict=True):
                if res.error is not None:
                    if res.error.status == 404:
                        out.skipped["vanished"] += 1
                    else:
                        out.failed[f"permissions.list: {_reason(res.error)}"] += 1
                        out.unread.append(_permissions_unread(item, res.error))
                    continue
                items_perms, error = self._all_pages(
                    res.response, "permissions",
                    partial(api.list_permissions, drive, item["id"], published_view=api.is_form(item)), tally)
                if error is not None:
                    out.failed[f"permissions.list: {_reason(error)}"] += 1
                    out.unread.append(_permissions_unread(item, error))
                    continue
                perms[item["id"]] = api.parse_permissions(items_perms)
        files: list[DriveFile] = []
        for item in items:
            if item["id"] in perms:
                files.append(api.parse_file(item, permissions=perms[item["id"]]))
            elif api.has_permissions(item):
                files.append(api.parse_file(item))
        files = self._check_published(drive, files, out, tally, from_change=not listing)
        if out.publish_unknown:
            # Unknown is not "not published": keep the publish state the last read found.
            kept = self._stored_published(out.publish_unknown)
            files = [dataclasses.replace(f, published=True) if f.id in kept else f for f in files]
        for f in files:
            if f.shortcut_target_id:
                out.shortcut_targets.append((f.shortcut_target_id, subject))
            out.exposures.append(classify(f, self._domains, self._external_groups(f, tally)))
        return out

    def _external_groups(self, f: DriveFile, tally: CallTally) -> frozenset[str]:
        """The organisation's groups on this file that have members outside it (``expand_groups``);
        each group's membership is read once per run."""
        if not self.settings.google.expand_groups:
            return frozenset()
        out: set[str] = set()
        for p in f.permissions:
            email = (p.email_address or "").lower()
            if p.type != "group" or p.deleted or email_domain(email) not in self._domains:
                continue
            with self._group_lock:  # held while reading: two workers meeting one group read it once
                known = self._outside_groups.get(email)
                if known is None:
                    known = directory.has_outside_members(self.clients, self.settings, email, self._domains, tally)
                    self._outside_groups[email] = known
            if known:
                out.add(email)
        return frozenset(out)

    def _check_published(self, drive: Resource, files: list[DriveFile], out: _PageResult,
                         tally: CallTally, *, from_change: bool) -> list[DriveFile]:
        """Read the publish state of the files scanner.core.publish says may have changed; the others
        keep their stored state."""
        editors = [f.id for f in files if can_be_published(f)]
        if not editors:
            return files
        with self.sessions() as s:
            stored = snapshot.stored_publish(s, editors)
        candidates = self.publish_gate.decide(files, stored, from_change=from_change, now=self.clock())
        chosen = set(candidates)
        # (dataclasses.replace only where the stored state differs: it costs ~0.1 ms a file)
        files = [dataclasses.replace(f, published=stored[f.id].published)
                 if i not in chosen and f.id in stored and f.published != stored[f.id].published
                 and can_be_published(f) else f for i, f in enumerate(files)]
        if not candidates:
            return files
        results = self.clients.execute_batch([api.list_revisions(drive, files[i].id) for i in candidates],
                                             tally=tally)
        files = list(files)
        for index, res in zip(candidates, results, strict=True):
            if res.error is not None:
                out.skipped[f"publish check: {_reason(res.error)}"] += 1
                _publish_unknown(out, files[index], res.error)
                continue
            # More than 1000 revisions is rare; on a failure the revisions read so far still count.
            revisions, error = self._all_pages(
                res.response, "revisions", partial(api.list_revisions, drive, files[index].id), tally)
            if any(r.get("published") for r in revisions):
                files[index] = dataclasses.replace(files[index], published=True)
            elif error is not None:
                out.skipped[f"publish check: {_reason(error)}"] += 1
                _publish_unknown(out, files[index], error)
                continue
            out.publish_checked[files[index].id] = revision_marker(files[index])
        return files

    def _stored_published(self, file_ids: set[str]) -> set[str]:
        """Of these files, those the snapshot has as published to the web."""
        with self.sessions() as s:
            return set(s.scalars(select(DriveFileRow.id).where(DriveFileRow.id.in_(sorted(file_ids)),
                                                               DriveFileRow.published.is_(True))))

    def _all_pages(self, first: dict[str, Any], key: str, request: Callable[[str | None], HttpRequest],
                   tally: CallTally) -> tuple[list[dict[str, Any]], GoogleCallError | None]:
        """``first`` (a page a batch returned) and the pages after it: the ``key`` items, and the
        error that stopped the paging early, if one did."""
        items = list(first.get(key, []))
        token = first.get("nextPageToken")
        if not token:
            return items, None
        try:
            for page in self.clients.pages(request, token=token, tally=tally):
                items.extend(page.get(key, []))
        except GoogleCallError as exc:
            return items, exc
        return items, None

    def commit_page(self, job: TargetTask, result: _PageResult, tally: CallTally, *, cursor: str | None,
                    finish: str | None, sweep: bool = False) -> None:
        """One transaction: snapshots, removals, coverage counters and cursor, on_exposed callbacks;
        with ``finish`` (the new changes token) the target is also marked done."""
        now = self.clock()
        with self.sessions.begin() as s:
            cov = s.get(ScanCoverage, job.coverage_id)
            assert cov is not None
            changes = snapshot.upsert_files(s, result.exposures, run_id=self._run_id, now=now)
            snapshot.mark_publish_checked(s, result.publish_checked, now)
            removed = snapshot.mark_removed(s, result.removed_ids, run_id=self._run_id, now=now,
                                            owner_email=job.owner, drive_id=job.drive_id) if result.removed_ids else []
            reasons = dict(cov.reasons or {})
            skipped = Counter(reasons.get("skipped") or {})
            skipped.update(result.skipped)
            failed = Counter(reasons.get("failed") or {})
            failed.update(result.failed)
            reasons["skipped"], reasons["failed"] = dict(skipped), dict(failed)
            exposed = sum(1 for c in changes if is_exposed(c.exposure))
            cov.files_seen += len(changes)
            cov.files_exposed += exposed
            cov.files_skipped += sum(result.skipped.values())
            cov.files_failed += sum(result.failed.values())
            cov.api_calls += tally.calls - job.calls_committed
            job.calls_committed = tally.calls
            cov.cursor = cursor
            self._note_folder_changes(changes)
            self._notify(s, changes, removed)
            swept = []
            if finish is not None:
                if sweep and cov.files_failed == 0:
                    swept = snapshot.sweep_unseen(s, seen_since=job.crawl_started_at, run_id=self._run_id, now=now,
                                                  owner_email=job.owner, drive_id=job.drive_id)
                    self._notify(s, (), swept)
                target = s.get(CrawlTarget, job.target_id)
                assert target is not None
                target.start_page_token = finish
                target.last_scanned_at = now
                target.last_run_id = self._run_id
                target.skip_reason = None
                if job.mode == "full":
                    target.last_full_scan_at = now
                cov.status = "done"
                cov.finished_at = now
            cov.reasons = reasons
            self._record_reads(s, result, changes, [*removed, *swept])
            self._maybe_heartbeat(s, now)
        with self._totals.lock:
            self._totals.files_seen += len(changes)
            self._totals.files_exposed += exposed
            self._totals.files_removed += len(removed) + len(swept)
        if result.shortcut_targets:
            with self._shortcut_lock:
                for target_id, subject in result.shortcut_targets:
                    self._shortcuts.setdefault(target_id, subject)
        self._report()

    def _record_reads(self, s: Session, result: _PageResult, changes: Sequence[snapshot.FileChange],
                      gone: Sequence[snapshot.RemovedFile]) -> None:
        """Pending reads of this page: what was read now is no longer pending, what failed is (again)."""
        pending = PendingReads(s, unreadable_after=self.settings.limits.unreadable_after_attempts, clock=self.clock)
        stored = [c.exposure.file.id for c in changes]
        pending.clear(stored, [ReadAspect.PERMISSIONS])
        pending.clear([i for i in stored if i not in result.publish_unknown], [ReadAspect.PUBLISH_STATE])
        pending.clear([g.file.id for g in gone])
        for file, unread in result.unread:
            pending.record(file, unread, run_id=self._run_id)

    def retry_pending(self, job: TargetTask, tally: CallTally) -> None:
        """Files of this target whose permissions or publish state an earlier run could not read, read
        again one by one (files.get, then as in a listing). An incremental crawl only sees what
        changed since, so without this they would wait for the next full crawl."""
        assert job.subject is not None
        with self.sessions() as s:
            rows = PendingReads(s).for_target(owner_email=job.owner, drive_id=job.drive_id,
                                              aspects=(ReadAspect.PERMISSIONS, ReadAspect.PUBLISH_STATE))
            known = {r.file_id: r for r in rows if r.last_run_id != self._run_id}
            cov = s.get(ScanCoverage, job.coverage_id)
            cursor = cov.cursor if cov is not None else None
        if not known:
            return
        ids = sorted(known)
        drive = self.clients.drive(job.subject)
        results = self.clients.execute_batch(self._get_files(drive, ids), tally=tally)
        found: list[dict[str, Any]] = []
        gone: list[str] = []
        failed: list[tuple[PendingFile, Unread]] = []
        for file_id, res in zip(ids, results, strict=True):
            if res.error is None and res.response:
                found.append({"fileId": file_id, "file": res.response})
            elif res.error is not None and res.error.status == 404:
                gone.append(file_id)
            elif res.error is not None:
                row = known[file_id]
                failed.append((PendingFile(file_id, row.owner_email, row.drive_id, row.name),
                               Unread(ReadAspect(row.aspect), failure_of(res.error, _FAILURE_OF[row.aspect]),
                                      f"files.get: {_reason(res.error)}")))
        live, moved = changes_feed.select_changes(found, owner=job.owner, drive_id=job.drive_id)
        result = self.enrich(drive, job.subject, live, tally)
        result.removed_ids.extend([*gone, *moved])
        result.unread.extend(failed)
        self.commit_page(job, result, tally, cursor=cursor, finish=None)
        with self.sessions.begin() as s:  # gone, or moved to an owner/drive whose own crawl has it now
            PendingReads(s).clear([*gone, *moved], (ReadAspect.PERMISSIONS, ReadAspect.PUBLISH_STATE))

    def _notify(self, s: Session, changes: Sequence[snapshot.FileChange],
                gone: Sequence[snapshot.RemovedFile]) -> None:
        """``on_exposed`` for every file exposed now or whose exposure changed, and for every
        removed file that was exposed (with no exposure left)."""
        if self._on_exposed is None:
            return
        for change in changes:
            if is_exposed(change.exposure) or (change.exposure_changed and not change.is_new):
                self._on_exposed(s, change.exposure)
        for removed in gone:
            if removed.previous_exposure != "internal":
                self._on_exposed(s, FileExposure(file=removed.file, exposed=()))

    def _maybe_heartbeat(self, s: Session, now: dt.datetime) -> None:
        with self._hb_lock:
            mono = time.monotonic()
            if mono - self._last_heartbeat < HEARTBEAT_SECONDS:
                return
            self._last_heartbeat = mono
        snapshot.heartbeat(s, self._run_id, now)

    def _report(self) -> None:
        if self.progress is None:
            return
        t = self._totals
        with t.lock:
            snap = CrawlProgressSnapshot(
                targets_total=t.targets_total, targets_done=t.targets_done, users_done=t.users_done,
                drives_done=t.drives_done, files_seen=t.files_seen, files_exposed=t.files_exposed,
                api_calls=self.clients.stats.calls, elapsed_seconds=time.monotonic() - t.started)
        self.progress.update(snap)

    # ------------------------------------------------------------------ shortcuts
    def _resolve_shortcuts(self, tally: CallTally) -> None:
        """Shortcut targets that no crawled owner/drive covered (e.g. owned outside the
        organisation): fetch each once, as the user who holds the shortcut."""
        if not self._shortcuts:
            return
        ids = sorted(self._shortcuts)
        with self.sessions.begin() as s:
            known = set(s.scalars(select(DriveFileRow.id).where(
                DriveFileRow.id.in_(ids), DriveFileRow.removed_at.is_(None))))
        missing = [i for i in ids if i not in known and self._shortcuts[i]]
        by_subject: dict[str, list[str]] = {}
        for file_id in missing:
            by_subject.setdefault(self._shortcuts[file_id], []).append(file_id)
        for subject, file_ids in by_subject.items():
            drive = self.clients.drive(subject)
            results = self.clients.execute_batch(self._get_files(drive, file_ids), tally=tally)
            items = [r.response for r in results if r.ok and r.response]
            page = self.enrich(drive, subject, items, tally)
            now = self.clock()
            with self.sessions.begin() as s:
                self._notify(s, snapshot.upsert_files(s, page.exposures, run_id=self._run_id, now=now), ())

    # ------------------------------------------------------------------ folders and refreshes by id
    def _note_folder_changes(self, changes: Sequence[snapshot.FileChange]) -> None:
        folders = {c.exposure.file.id for c in changes
                   if c.exposure.file.is_folder and c.exposure_changed and not c.is_new}
        if folders:
            with self._folders_lock:
                self._changed_folders |= folders

    def _refresh_descendants(self, tally: CallTally) -> int:
        """Everything below a folder whose sharing changed in this run is read again and stored, whether
        or not the Changes feed listed it (Drive does not promise to); items this run already read are
        not read twice."""
        with self._folders_lock:
            folders, self._changed_folders = sorted(self._changed_folders), set()
        if not folders:
            return 0
        from scanner.store.tree import StoredTree

        with self.sessions() as s:
            tree = StoredTree(s)
            below = {d for folder in folders for d in tree.descendants(folder)}
            crawled = set(s.scalars(select(DriveFileRow.id).where(DriveFileRow.last_run_id == self._run_id)))
        pending = sorted(below - crawled)
        if pending:
            self.refresh(self._run_id, pending, tally)
        return len(pending)

    def refresh(self, run_id: int | None, file_ids: Sequence[str], tally: CallTally | None = None) -> RefreshResult:
        """Read these stored files again (files.get, their permissions and publishing, as the crawl does)
        and store what Drive says now; a file its owner or its shared drive's member no longer sees is
        marked removed. Folders whose sharing changed are followed down, like in a crawl."""
        tally = tally or CallTally()
        self._run_id = run_id or 0
        if not self._domains:
            self._domains = self._org_domains(tally)
        with self.sessions() as s:
            rows = s.execute(select(DriveFileRow.id, DriveFileRow.owner_email, DriveFileRow.drive_id)
                             .where(DriveFileRow.id.in_(list(file_ids)), DriveFileRow.removed_at.is_(None))).all()
        groups: dict[tuple[str, str], list[str]] = {}
        for file_id, owner, drive_id in rows:
            group = ("drive", drive_id) if drive_id else ("user", owner or "")
            groups.setdefault(group, []).append(file_id)
        result = RefreshResult()
        for (kind, key), ids in sorted(groups.items()):
            self._refresh_group(kind, key, ids, tally, result)
        if run_id is not None:
            result.descendants += self._refresh_descendants(tally)
        return result

    def _subject_for(self, kind: str, key: str, tally: CallTally) -> tuple[str | None, bool]:
        """Who reads a group of files, and whether their 404 means the file is gone (owner, drive member)."""
        if self._active_users is None:
            self._active_users = {u.email for u in directory.list_users(self.clients, self.settings, tally)
                                  if u.skip_reason is None}
        if kind == "drive":
            member = directory.find_member(self.clients, self.settings, key, self._active_users, self._domains, tally)
            return member, member is not None
        if key and key.lower() in self._active_users:
            return key, True
        return self.settings.google.admin_subject or None, False

    def _refresh_group(self, kind: str, key: str, ids: list[str], tally: CallTally, result: RefreshResult) -> None:
        try:
            subject, authoritative = self._subject_for(kind, key, tally)
        except GoogleCallError as exc:
            result.failed += len(ids)
            log.warning("cannot re-read %d files of %s %s: %s", len(ids), kind, key, _reason(exc))
            return
        if subject is None:
            result.failed += len(ids)
            return
        drive = self.clients.drive(subject)
        try:
            answers = self.clients.execute_batch(self._get_files(drive, ids), tally=tally)
        except GoogleApiError as exc:
            result.failed += len(ids)
            log.warning("cannot re-read %d files as %s: %s", len(ids), subject, exc)
            return
        items, gone = [], []
        for file_id, answer in zip(ids, answers, strict=True):
            if answer.ok and answer.response:
                items.append(answer.response)
            elif answer.error is not None and answer.error.status == 404 and authoritative:
                gone.append(file_id)
            else:
                result.failed += 1
        page = self.enrich(drive, subject, items, tally)
        result.failed += sum(page.failed.values())
        now = self.clock()
        with self.sessions.begin() as s:
            changes = snapshot.upsert_files(s, page.exposures, run_id=self._run_id or None, now=now)
            snapshot.mark_publish_checked(s, page.publish_checked, now)
            removed = snapshot.mark_removed(s, gone, run_id=self._run_id or None, now=now,
                                            owner_email=key if kind == "user" else None,
                                            drive_id=key if kind == "drive" else None) if gone else []
            self._note_folder_changes(changes)
        result.refreshed.extend(c.exposure.file.id for c in changes)
        result.removed.extend(r.file.id for r in removed)


def crawl_in_threads(crawler: Crawler, jobs: list[TargetTask]) -> list[TargetResult]:
    """Crawl the targets on ``[limits] workers`` threads of this process (one quota limiter)."""
    workers = max(1, min(crawler.settings.limits.workers, len(jobs) or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="crawl") as pool:
        return list(pool.map(crawler.crawl_target, jobs))
