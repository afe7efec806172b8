"""``sharescan watch``: follow the Drive audit log and scan a file within one poll of it being exposed.

Every ``[watch] interval_minutes`` the watcher reads the domain's Drive audit log (Admin SDK Reports,
``activities.list``, ``applicationName=drive``) from its cursor, and for each file that became public,
link-shared or shared outside since (a sharing event whose new ``visibility`` is ``people_with_link``,
``public_on_the_web`` or ``shared_externally``, or a ``publish_change`` to published) it scans just that
file: metadata and permissions (``files.get``), content, rules, findings, exposure dating, remediation
per policy, owner notices — a ScanRun of kind ``watch``. A nightly scan may run at the same time: the
watcher holds its own lock (``watch``; one watcher per database), not the scan lock.

Google's reporting lag: Drive events appear in the Reports API minutes (sometimes hours) after they
happen, not in time order. Each poll therefore reads from ``[watch] overlap_minutes`` before the newest
event already handled; events read twice are recognised by their unique id (``id.time`` +
``id.uniqueQualifier`` + event name) kept in the cursor for that window. The cursor (position and
handled ids) is in the database and advances only after the poll's files were scanned: a watcher that
is killed or restarted reads the same events again and handles the files it had not finished
(scanning a file twice changes nothing).

Concurrency with a nightly scan on the same file: remediation is two-phase (the permission is re-read
and must match before it is removed; an already removed one is recorded as gone), and the remediation
limits (``max_actions_per_run`` within ``limit_window_minutes``) count the changes of every process from
the database, so the watcher and the scan share one budget.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from scanner.app import App
from scanner.connectors.google.reports import AuditRecord, DriveAuditLog
from scanner.exposure_dating import OUTSIDE_VISIBILITIES, SHARING_EVENTS
from scanner.store.models import DriveFileRow, Finding, ScanRun, WatchCursor, utcnow

log = logging.getLogger(__name__)

CURSOR = "drive"
AUDIT_METHOD = "reports.activities.list"
CRAWLER_MAX_AGE_SECONDS = 3600.0
LOCK_NAME = "watch"
#: Events read per poll and event name at most (the rest are read by the next poll, from the cursor).
MAX_EVENTS_PER_POLL = 20_000
#: The sharing events a poll asks for, one ``activities.list`` each (``eventName`` takes one name): views and
#: edits, most of the log, are never read. Inherited fan-out (``*_hierarchy_reconciled``) is not asked for:
#: the folder's own event triggers its re-read, which follows the folder down.
WATCHED_EVENTS = ("change_document_visibility", "change_document_access_scope", "change_user_access",
                  "publish_change")


def is_exposing(record: AuditRecord) -> bool:
    """A sharing change that opens a file beyond the organisation."""
    if record.text("doc_type") == "shared_drive":
        return False
    if record.name == "publish_change":
        return record.text("new_value") == "published"
    return record.name in SHARING_EVENTS and (record.text("visibility") or "") in OUTSIDE_VISIBILITIES


@dataclass(frozen=True)
class Exposed:
    """A file an event says became exposed, and who owns it (for a file sharescan has not seen yet)."""

    file_id: str
    owner: str | None
    drive_id: str | None
    at: dt.datetime


def exposed_files(records: Sequence[AuditRecord]) -> list[Exposed]:
    """The files the events expose, oldest event first, each once."""
    out: dict[str, Exposed] = {}
    for r in sorted(records, key=lambda r: r.time):
        file_id = r.doc_id
        if not file_id or file_id in out or not is_exposing(r):
            continue
        shared_drive = r.param("owner_is_shared_drive") is True
        out[file_id] = Exposed(file_id, None if shared_drive else r.text("owner"),
                               r.text("shared_drive_id") if shared_drive else None, r.time)
    return list(out.values())


@dataclass
class PollReport:
    started_at: dt.datetime
    window_start: dt.datetime
    events: int = 0
    new_events: int = 0
    exposed: list[str] = field(default_factory=list)
    #: Exposed files left for the next poll ([watch] max_files_per_poll).
    deferred: int = 0
    run_id: int | None = None
    scan: dict[str, Any] = field(default_factory=dict)
    #: Seconds from each exposing event (its audit time) to the end of the poll that handled it.
    latencies: list[float] = field(default_factory=list)
    api_calls: int = 0
    #: Of which Reports API calls (``activities.list``: the poll's reads, and the dating of scanned files).
    audit_calls: int = 0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"started_at": self.started_at, "window_start": self.window_start, "events": self.events,
                "new_events": self.new_events, "exposed": self.exposed, "deferred": self.deferred,
                "run_id": self.run_id, "scan": self.scan, "latencies": self.latencies,
                "api_calls": self.api_calls, "audit_calls": self.audit_calls, "error": self.error}


class Watcher:
    """Polls the Drive audit log and scans the files it exposes. ``clients`` is injectable for tests."""

    def __init__(self, app: App, *, clients: Any = None, apply: bool | None = None,
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.app = app
        self.settings = app.settings
        self.apply = apply
        self.clock = clock
        self._clients = clients
        self._service: Any = None
        self._crawler: Any = None
        self._crawler_born = 0.0

    @property
    def service(self) -> Any:
        """One ScanService for the watcher's life: its content pipeline (patterns, the NLP model) is built once."""
        if self._service is None:
            from scanner.run import ScanService

            self._service = ScanService(self.app, clients=self.clients, clock=self.clock)
        return self._service

    def crawler(self) -> Any:
        """The re-reader of files, kept for up to an hour: it caches the Directory's active users (who may
        read a file), one listing of every user instead of one per poll."""
        from scanner.drive.crawler import Crawler

        if self._crawler is None or time.monotonic() - self._crawler_born > CRAWLER_MAX_AGE_SECONDS:
            self._crawler = Crawler(self.settings, self.clients, self.app.sessions, clock=self.clock)
            self._crawler_born = time.monotonic()
        return self._crawler

    @property
    def clients(self) -> Any:
        if self._clients is None:
            from scanner.connectors.google.client import GoogleClients

            self._clients = GoogleClients(self.settings)
        return self._clients

    # ------------------------------------------------------------------ the loop
    def run(self, *, stop: threading.Event | None = None, max_polls: int | None = None,
            interval_seconds: float | None = None, on_poll: Callable[[PollReport], None] | None = None) -> int:
        """Hold the watch lock and poll until ``stop`` is set (or ``max_polls``); returns the polls made.
        A poll that fails (Google unreachable, a quota) is logged and retried at the next interval."""
        from scanner.schedule.lock import Heartbeat, run_lock_for

        self.app.sessions  # noqa: B018 - refuses a database that is missing or not at head, before locking
        stop = stop or threading.Event()
        interval = interval_seconds if interval_seconds is not None else self.settings.watch.interval_minutes * 60
        polls = 0
        lock = run_lock_for(self.app, LOCK_NAME)
        with lock, Heartbeat(lock):
            self.service.check_settings()
            self.service.prepare_analysis()  # built now, not when the first exposed file is waiting
            while not stop.is_set():
                begun = time.monotonic()
                try:
                    report = self.poll()
                except Exception as exc:  # noqa: BLE001 - a watcher outlives one bad poll; the next one retries
                    log.warning("watch poll failed: %s: %s", type(exc).__name__, exc)
                    report = PollReport(self.clock(), self.clock(), error=f"{type(exc).__name__}: {exc}")
                    self._record_error(report.error or "")
                polls += 1
                if on_poll is not None:
                    on_poll(report)
                if max_polls is not None and polls >= max_polls:
                    break
                stop.wait(max(0.0, interval - (time.monotonic() - begun)))
        return polls

    # ------------------------------------------------------------------ one poll
    def poll(self) -> PollReport:
        cfg = self.settings.watch
        overlap = dt.timedelta(minutes=cfg.overlap_minutes)
        now = self.clock()
        with self.app.sessions() as s:
            cursor = s.get(WatchCursor, CURSOR)
            position = cursor.position if cursor is not None else None
            seen = set(cursor.seen or []) if cursor is not None else set()
        start = min(now, (position or now) - overlap)
        report = PollReport(started_at=now, window_start=start)
        stats = self.clients.stats
        before, audit_before = stats.calls, stats.by_method.get(AUDIT_METHOD, 0)
        page = DriveAuditLog(self.clients, self.settings).window(start, event_names=WATCHED_EVENTS,
                                                                 max_events=MAX_EVENTS_PER_POLL)
        records = page.records
        fresh = [r for r in records if r.key not in seen]
        report.events, report.new_events = len(records), len(fresh)
        exposed = exposed_files(fresh)
        now_handled, deferred = exposed[:cfg.max_files_per_poll], exposed[cfg.max_files_per_poll:]
        report.deferred = len(deferred)
        if now_handled:
            report.exposed = [e.file_id for e in now_handled]
            report.run_id, report.scan = self.scan_files(now_handled)
            done = self.clock()
            report.latencies = [round((done - e.at).total_seconds(), 3) for e in now_handled]
        # Advance the cursor: newest event read; remember the ids inside the overlap (not the deferred files').
        waiting = {e.file_id for e in deferred}
        newest = max((r.time for r in records), default=position)
        if page.truncated and records:  # read the rest next time: do not jump past what was not read
            newest = position or min(r.time for r in records)
        keep_from = (newest or now) - overlap
        handled = {r.key for r in records if r.time >= keep_from and r.doc_id not in waiting}
        with self.app.sessions.begin() as s:
            cursor = s.get(WatchCursor, CURSOR) or WatchCursor(name=CURSOR, seen=[], polls=0)
            cursor.position = max(newest, cursor.position) if newest and cursor.position else newest
            kept = {k for k in (cursor.seen or []) if k.split("/", 1)[0] >= keep_from.isoformat()}
            cursor.seen = sorted(kept | handled)
            cursor.polls = (cursor.polls or 0) + 1
            cursor.last_poll_at = now
            cursor.last_error = None
            cursor.updated_at = self.clock()
            s.add(cursor)
        report.api_calls = stats.calls - before
        report.audit_calls = stats.by_method.get(AUDIT_METHOD, 0) - audit_before
        if report.exposed:
            log.info("watch: %d exposed file(s) scanned in run %s: %s", len(report.exposed), report.run_id,
                     report.scan)
        return report

    def _record_error(self, error: str) -> None:
        try:
            with self.app.sessions.begin() as s:
                cursor = s.get(WatchCursor, CURSOR) or WatchCursor(name=CURSOR, seen=[], polls=0)
                cursor.last_error = error[:2000]
                cursor.updated_at = self.clock()
                s.add(cursor)
        except Exception:  # noqa: BLE001 - the database itself may be what failed
            log.debug("could not record the watch error", exc_info=True)

    # ------------------------------------------------------------------ scanning the exposed files
    def scan_files(self, exposed: Sequence[Exposed]) -> tuple[int, dict[str, Any]]:
        """Scan these files as one ScanRun of kind ``watch``: re-read (files.get, permissions, publishing),
        analyse, evaluate, date, remediate per policy, notify. Returns (run id, the run's stats)."""
        from scanner.core.errors import RemediationRefused
        from scanner.core.exposure import normalise_domains
        from scanner.drive.crawler import CrawlSummary
        from scanner.policy.loader import load_configured_rules
        from scanner.remediate.engine import Remediator
        from scanner.run import ScanOptions, ScanResult

        started = time.monotonic()
        service = self.service
        service.check_settings()
        options = ScanOptions(full=False, apply=self.apply)
        with self.app.sessions.begin() as s:
            run = ScanRun(kind="watch", status="running", remediation_mode=service.mode_label(options),
                          hostname=socket.gethostname(), pid=os.getpid(), heartbeat_at=self.clock(), stats={})
            s.add(run)
            s.flush()
            run_id = run.id
            stubs = []
            for e in exposed:  # a file sharescan has never seen: a placeholder the re-read fills in
                if s.get(DriveFileRow, e.file_id) is None and (e.owner or e.drive_id):
                    s.add(DriveFileRow(id=e.file_id, owner_email=e.owner, drive_id=e.drive_id,
                                       first_seen=self.clock(), last_seen=self.clock(), last_run_id=run_id))
                    stubs.append(e.file_id)
        result = ScanResult(run_id=run_id, kind="watch", status="running")
        ids = [e.file_id for e in exposed]
        try:
            rules = load_configured_rules(self.settings)
            result.api_calls_by_method = self.clients.stats.by_method
            refreshed = self.crawler().refresh(run_id, ids)
            read = [*refreshed.refreshed, *refreshed.removed]
            unread = sorted(set(stubs) - set(read))
            if unread:  # the placeholder of a file that could not be read goes: nothing was learned
                with self.app.sessions.begin() as s:
                    for file_id in unread:
                        row = s.get(DriveFileRow, file_id)
                        if row is not None:
                            s.delete(row)
            org = tuple(sorted(normalise_domains(self.settings.organisation.domains)))
            summary = CrawlSummary(run_id=run_id, full=False, complete=not refreshed.failed, targets=(),
                                   covered_owners=frozenset(), covered_drives=frozenset(), files_seen=len(read),
                                   files_exposed=0, files_removed=len(refreshed.removed), api_calls=0,
                                   elapsed_seconds=0.0, org_domains=org)
            result.files_seen, result.files_removed = len(read), len(refreshed.removed)
            evaluated = service.analyse_files(run_id, summary, rules, self.clients, result, only=read)
            service.close_findings(run_id, summary, evaluated, result)
            result.exposure_dating = service.date_exposures(run_id, self.clients, only=read)
            result.domain_check = service.domain_check(self.clients).to_json()
            with self.app.sessions() as s:
                finding_ids = list(s.scalars(select(Finding.id).where(
                    Finding.file_id.in_(read), Finding.status == "open", Finding.detection_state == "active")
                    .order_by(Finding.id)))
            if finding_ids:
                remediator = Remediator(self.settings, self.app.sessions, self.app.actor, rules=rules.rules,
                                        clock=self.clock)
                blocked = (result.domain_check or {}).get("blocked")
                plan = remediator.plan(finding_ids, apply=self.apply, run_id=run_id, only_changes=True,
                                       blocked=blocked)
                result.actions_unchanged = plan.unchanged
                try:
                    outcome = remediator.execute(plan)
                    result.actions = dict(outcome.status_counts)
                    result.remediation_stopped = outcome.stopped
                    result.findings_remediated = len(service.refresh_fixed(outcome.action_ids, run_id=run_id))
                except RemediationRefused as exc:
                    result.remediation_refused = str(exc)
                    log.warning("watch: remediation refused: %s", exc)
            service.notify(run_id, result)
            result.status = "completed" if summary.complete else "partial"
        except Exception as exc:
            service.finish(run_id, result, "failed", started, error=f"{type(exc).__name__}: {exc}")
            raise
        service.finish(run_id, result, result.status, started)
        return run_id, result.as_dict()
