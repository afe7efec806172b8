"""The analysis phase, one file at a time: ``analyse_file(ctx, file_id) -> FileOutcome``.

A file goes through three stages, which an executor may run in different places:

1. ``prepare`` (database read): the stored file, its exposure, rule context, and whether its rules
   need content that is not cached for its current revision;
2. ``fetch`` (I/O: export or download, as a member of its shared drive, its owner, then the admin)
   and ``analyse_fetched`` (CPU: extraction and detection; a process pool in the in-process executor);
3. ``record`` (one database transaction): the content cache, pending reads, findings upserted, and
   the file's ``scan_file_outcomes`` row. A file whose row exists for the run is not done twice.

Unread content is not clean content: while a file's content cannot be read only the rules that need
no content are evaluated, and its findings keep their state.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from scanner.config import Settings
from scanner.connectors.base import Connector
from scanner.connectors.google.client import GoogleClients
from scanner.connectors.google.connector import GoogleConnector
from scanner.core.exposure import classify
from scanner.core.models import DriveFile, FileExposure
from scanner.core.unread import ReadAspect, ReadFailure, Unread
from scanner.detect.models import ContentResult
from scanner.policy.evaluate import FileContext, PolicyEngine
from scanner.scan.content_cache import cached_content, store_content
from scanner.scan.units import FileOutcome, OutcomeKind
from scanner.store.db import in_chunks, snapshot_reads
from scanner.store.models import DriveFileRow, Finding, PendingRead, ScanFileOutcome, ScanRun
from scanner.store.pending import PendingFile, PendingReads, pending_file_ids
from scanner.store.repo import FindingRepo
from scanner.store.snapshot import row_to_file
from scanner.store.tree import ancestors_of_many

#: Extraction and detection of fetched bytes: ``(data, mime_type, name) -> ContentResult``.
Analyze = Callable[[bytes, str, str], ContentResult]


@dataclass
class AnalysisContext:
    """What every file of a run's analysis shares (built once per run and per worker process)."""

    settings: Settings
    sessions: sessionmaker[Session]
    actor: str
    run_id: int
    engine: PolicyEngine
    #: The rules that need no content, for files whose content could not be read.
    without_content: PolicyEngine
    org_domains: frozenset[str]
    #: Where content is read from: who may read an item, and its bytes (scanner.connectors.base).
    connector: Connector
    clock: Callable[[], dt.datetime]

    @classmethod
    def build(cls, settings: Settings, sessions: sessionmaker[Session], actor: str, clients: GoogleClients | None,
              rules: Iterable[Any], *, run_id: int, org_domains: frozenset[str],
              clock: Callable[[], dt.datetime], connector: Connector | None = None) -> AnalysisContext:
        """``connector``: the provider to read from (default: Google through ``clients``)."""
        rules = list(rules)
        with sessions() as s:
            exemptions = FindingRepo(s, actor).active_exemptions()
        return cls(settings=settings, sessions=sessions, actor=actor, run_id=run_id,
                   engine=PolicyEngine(rules, exemptions=exemptions),
                   without_content=PolicyEngine([r for r in rules if r.content is None], exemptions=exemptions),
                   org_domains=org_domains, clock=clock,
                   connector=connector if connector is not None else _google(settings, clients, org_domains))


def _google(settings: Settings, clients: GoogleClients | None, org_domains: frozenset[str]) -> Connector:
    if clients is None:
        raise ValueError("the Google connector needs GoogleClients")
    return GoogleConnector(settings, clients, org_domains=org_domains)


@dataclass
class FilePlan:
    """A candidate file as stored, and what its analysis needs."""

    file_id: str
    file: DriveFile
    removed: bool
    exposure: FileExposure
    context: FileContext
    needs_content: bool
    cached: ContentResult | None
    unread_aspects: frozenset[ReadAspect]
    #: A stored outcome of this run (a re-delivered task): nothing is done again.
    done: FileOutcome | None = None

    @property
    def permissions_unknown(self) -> bool:
        return ReadAspect.PERMISSIONS in self.unread_aspects and not self.removed

    @property
    def must_fetch(self) -> bool:
        return self.done is None and not self.permissions_unknown and self.cached is None and self.needs_content


@dataclass(frozen=True)
class Fetched:
    """A fetch's result: bytes to analyse, or the analysis already settled (a lasting reason), or
    the failed read."""

    data: bytes = b""
    mime_type: str = ""
    name: str = ""
    truncated: bool = False
    content: ContentResult | None = None
    unread: Unread | None = None

    @property
    def to_analyse(self) -> bool:
        return self.content is None and self.unread is None


def candidate_ids(sessions: sessionmaker[Session], run_id: int) -> list[str]:
    """Files that are exposed or had findings and were crawled by this run or by any run since the
    last one that finished its analysis: the interrupted runs it resumed (however many in a row)
    and failed runs, whose crawl moved the change tokens on before their analysis was done; and
    every file with a pending read (an incremental crawl does not see them again by itself)."""
    with sessions() as s:
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


def prepare(ctx: AnalysisContext, file_id: str) -> FilePlan | None:
    """The stored file and what its rules need (None: no longer in the snapshot)."""
    return prepare_many(ctx, [file_id])[0]


def prepare_many(ctx: AnalysisContext, file_ids: Sequence[str]) -> list[FilePlan | None]:
    """``prepare`` for several files in one read-only session (in the order given): their rows,
    permissions, stored outcomes and pending reads in one query each, not one session per file.

    The session is a snapshot read (``scanner.store.db.snapshot_reads``): on SQLite a deferred
    transaction, so planning never waits for (nor holds) the write lock the recording of outcomes
    takes."""
    if not file_ids:
        return []
    ids = list(file_ids)
    with ctx.sessions() as s:
        snapshot_reads(s)
        stored: dict[str, ScanFileOutcome] = {}
        rows: dict[str, DriveFileRow] = {}
        aspects: dict[str, set[ReadAspect]] = {}
        for chunk in in_chunks(ids):
            stored.update((o.file_id, o) for o in s.scalars(select(ScanFileOutcome).where(
                ScanFileOutcome.run_id == ctx.run_id, ScanFileOutcome.file_id.in_(chunk))))
            rows.update((r.id, r) for r in s.scalars(select(DriveFileRow).where(DriveFileRow.id.in_(chunk))
                                                     .options(selectinload(DriveFileRow.permissions))))
            for file_id, aspect in s.execute(select(PendingRead.file_id, PendingRead.aspect)
                                             .where(PendingRead.file_id.in_(chunk))):
                aspects.setdefault(file_id, set()).add(ReadAspect(aspect))
        ancestry = ancestors_of_many(s, rows.values())
        plans: list[FilePlan | None] = []
        for file_id in ids:
            row = rows.get(file_id)
            if row is None:
                plans.append(None)
                continue
            done = stored.get(file_id)
            plans.append(_plan(ctx, s, row, ancestry[file_id], frozenset(aspects.get(file_id, ())),
                               FileOutcome.from_row(done) if done is not None else None))
    return plans


def _plan(ctx: AnalysisContext, s: Session, row: DriveFileRow, ancestors: tuple[str, ...],
          unread_aspects: frozenset[ReadAspect], done: FileOutcome | None) -> FilePlan:
    file = row_to_file(row)
    removed = row.removed_at is not None
    # the crawler's verdict on groups with outside members ([google] expand_groups) is kept
    outside = frozenset((p.email_address or "").lower() for p in row.permissions
                        if p.type == "group" and p.exposure == "external_group")
    exposure = FileExposure(file=file, exposed=()) if removed else classify(file, ctx.org_domains, outside)
    fctx = FileContext(ancestors=ancestors, now=ctx.clock())
    needs_content = not removed and ctx.engine.needs_content(exposure, fctx)
    cached = cached_content(s, row, file.revision_key) if needs_content else None
    return FilePlan(file_id=row.id, file=file, removed=removed, exposure=exposure, context=fctx,
                    needs_content=needs_content, cached=cached, unread_aspects=unread_aspects, done=done)


def fetch(ctx: AnalysisContext, file: DriveFile,
          acquire: Callable[[str], Any] | None = None) -> Fetched:
    """Read the file's content through the connector as the first identity that can read it
    (``identities_for``). ``acquire(subject)``, when given, is a context manager held around each
    fetch (per-user concurrency bounds)."""
    from contextlib import nullcontext

    max_bytes = ctx.settings.limits.max_download_bytes
    failure, detail = ReadFailure.NO_READER, "no identity could read the file"
    for subject in ctx.connector.identities_for(file):
        with acquire(subject) if acquire is not None else nullcontext():
            fetched = ctx.connector.fetch_content(file, as_identity=subject, max_bytes=max_bytes)
        if not fetched.ok:
            if fetched.denied:  # this identity cannot read it: try the next one
                failure, detail = fetched.failure or ReadFailure.NO_READER, fetched.skip_reason or detail
                continue
            if fetched.failure is not None:
                return Fetched(unread=Unread(ReadAspect.CONTENT, fetched.failure, fetched.skip_reason or ""))
            reason = fetched.skip_reason or "unknown"
            reason = reason if reason.startswith("not analysed") else f"not analysed: {reason}"
            return Fetched(content=ContentResult(analysed=False, skip_reason=reason))
        return Fetched(data=fetched.data, mime_type=fetched.mime_type, name=file.name, truncated=fetched.truncated)
    return Fetched(unread=Unread(ReadAspect.CONTENT, failure, detail))


def analyse_fetched(fetched: Fetched, analyze: Analyze) -> tuple[ContentResult | None, Unread | None]:
    """The fetched bytes analysed (or the settled outcome of the fetch)."""
    if not fetched.to_analyse:
        return fetched.content, fetched.unread
    content = analyze(fetched.data, fetched.mime_type, fetched.name)
    if fetched.truncated:
        content = replace(content, truncated=True)
    return content, None


def lean(content: ContentResult) -> ContentResult:
    """The analysis without the in-memory detections (matched values): what crosses a process boundary."""
    return replace(content, detections=[]) if content.detections else content


def record(ctx: AnalysisContext, plan: FilePlan, fresh: ContentResult | None, unread: Unread | None) -> FileOutcome:
    """One transaction: the content cache, pending reads, findings and the file's outcome row."""
    return record_many(ctx, [(plan, fresh, unread)])[0]


def record_many(ctx: AnalysisContext,
                items: Sequence[tuple[FilePlan, ContentResult | None, Unread | None]]) -> list[FileOutcome]:
    """Several files' records in one transaction (in the order given): one commit, not one per file."""
    with ctx.sessions.begin() as s:
        ids = [plan.file_id for plan, _, _ in items if plan.done is None]
        stored: dict[str, ScanFileOutcome] = {}
        # One query each for the batch's outcomes and rows; ``rows`` keeps the rows in the session's
        # identity map (it holds them weakly), so the per-file ``Session.get`` of the content cache
        # and the finding upserts do not go back to the database.
        rows: list[DriveFileRow] = []
        for chunk in in_chunks(ids):
            stored.update((o.file_id, o) for o in s.scalars(select(ScanFileOutcome).where(
                ScanFileOutcome.run_id == ctx.run_id, ScanFileOutcome.file_id.in_(chunk))))
            rows += s.scalars(select(DriveFileRow).where(DriveFileRow.id.in_(chunk)))
        cleared = _Cleared()
        outcomes = [_record(s, ctx, plan, fresh, unread, stored.get(plan.file_id), cleared)
                    for plan, fresh, unread in items]
        del rows
        # the batch's pending reads that succeeded (or are no longer needed), two deletes in all
        pending = PendingReads(s)
        pending.clear(cleared.every_aspect)
        pending.clear(cleared.content, [ReadAspect.CONTENT])
        return outcomes


@dataclass
class _Cleared:
    """Files of a batch whose pending reads go: every aspect (removed files), or the content one."""

    every_aspect: list[str] = field(default_factory=list)
    content: list[str] = field(default_factory=list)


def _record(s: Session, ctx: AnalysisContext, plan: FilePlan, fresh: ContentResult | None,
            unread: Unread | None, existing: ScanFileOutcome | None, cleared: _Cleared) -> FileOutcome:
    if plan.done is not None:
        return plan.done
    if existing is not None:  # another delivery of this file recorded it first
        return FileOutcome.from_row(existing)
    file, file_id = plan.file, plan.file_id
    target = ("drive", file.drive_id) if file.drive_id else ("user", (file.owner_email or "").lower())
    if plan.permissions_unknown:
        # Who can open it is unknown: its findings keep their state until the crawl reads it.
        outcome = FileOutcome(file_id, OutcomeKind.PERMISSIONS_UNKNOWN)
        s.add(outcome.to_row(ctx.run_id))
        return outcome
    content = plan.cached if plan.cached is not None else fresh
    if plan.cached is not None:
        kind = OutcomeKind.CACHED
    elif unread is not None:
        kind = OutcomeKind.UNREAD
    elif fresh is None:
        kind = OutcomeKind.NO_CONTENT
    else:
        kind = OutcomeKind.ANALYSED if fresh.analysed else OutcomeKind.NOT_ANALYSED
    evaluated = unread is None and ReadAspect.PUBLISH_STATE not in plan.unread_aspects
    outcome = FileOutcome(file_id, kind, evaluated=evaluated,
                          partial=bool(fresh is not None and fresh.analysed and fresh.is_partial),
                          target=target if kind is OutcomeKind.ANALYSED else None,
                          nlp_mode=(content.nlp_mode or "") if content is not None and content.analysed else "")
    # Unread content is not clean content: the rules that need it keep their previous verdict.
    matches = (ctx.without_content if unread is not None else ctx.engine).evaluate(plan.exposure, content, plan.context)
    repo = FindingRepo(s, ctx.actor, clock=ctx.clock)
    pending = PendingReads(s, unreadable_after=ctx.settings.limits.unreadable_after_attempts, clock=ctx.clock)
    if unread is not None:
        pending.record(PendingFile(file_id, file.owner_email, file.drive_id, file.name), unread, run_id=ctx.run_id)
    elif plan.removed:
        cleared.every_aspect.append(file_id)
    elif fresh is not None or not plan.needs_content:
        cleared.content.append(file_id)
    if fresh is not None:
        store_content(s, repo, file_id, file.revision_key, fresh, ctx.clock())
    for match in matches:
        repo.upsert(match, ctx.run_id)
    s.add(outcome.to_row(ctx.run_id))
    s.flush()
    return outcome


def analyse_file(ctx: AnalysisContext, file_id: str, analyze: Analyze) -> FileOutcome:
    """One candidate file, start to end, in this thread (the sequential path and a Celery task)."""
    plan = prepare(ctx, file_id)
    if plan is None:
        return FileOutcome(file_id, OutcomeKind.GONE)
    fresh: ContentResult | None = None
    unread: Unread | None = None
    if plan.must_fetch:
        fresh, unread = analyse_fetched(fetch(ctx, plan.file), analyze)
    return record(ctx, plan, fresh, unread)


def analyse_files(ctx: AnalysisContext, file_ids: Sequence[str], analyze: Analyze, *,
                  fetch_threads: int = 1) -> list[FileOutcome]:
    """Several candidate files in this process (a Celery task's batch): their plans in one read-only
    session, fetches overlapping on ``fetch_threads`` threads (at most twice that many fetched and
    not yet analysed: the bytes held stay bounded), analysis here, records in one transaction."""
    from concurrent.futures import Future, ThreadPoolExecutor

    plans = [plan for plan in prepare_many(ctx, file_ids) if plan is not None]
    results: dict[str, tuple[ContentResult | None, Unread | None]] = {}
    to_fetch = deque(plan for plan in plans if plan.must_fetch)
    with ThreadPoolExecutor(max_workers=max(1, fetch_threads), thread_name_prefix="fetch") as pool:
        window: deque[tuple[FilePlan, Future[Fetched]]] = deque()
        while to_fetch or window:
            while to_fetch and len(window) < 2 * max(1, fetch_threads):
                plan = to_fetch.popleft()
                window.append((plan, pool.submit(fetch, ctx, plan.file)))
            plan, fetched = window.popleft()
            results[plan.file_id] = analyse_fetched(fetched.result(), analyze)
    return record_many(ctx, [(plan, *results.get(plan.file_id, (None, None))) for plan in plans])
