"""Read what an export needs from the database, in chunks, inside one session (one transaction).

Text a Drive user chose (file names, shared-drive names, principals, owners, action details) leaves
here through ``safetext.display``: every writer (HTML, CSV, JSONL, OCSF) shows ``invoice<U+202E>txt.exe``
for a name that a right-to-left override would make read ``invoiceexe.txt``, and no name spans lines.
Permission JSON (``before``/``after``, matched permissions) stays exactly as Drive returned it.

Nothing here holds every finding in memory. :class:`ExportData` streams records from the
database in id order, a chunk (:data:`CHUNK` findings with their evidence and actions) at a time;
the service makes one pass over the findings that feeds every writer and the aggregates
(:class:`~scanner.export.metrics.MetricsAccumulator`); the other tables are streamed again by each
writer that needs them. Breach candidates come out in deadline order from an ``ORDER BY`` in the
database, not from a sort in Python.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from scanner import __version__
from scanner.core.models import ItemKind
from scanner.export.acl import change
from scanner.export.metrics import (
    ComplianceTally,
    MetricsAccumulator,
    breach_candidate,
    is_breach_candidate,
    personal_data_exposed_outside,
)
from scanner.export.model import (
    EXTERNAL_EXPOSURES,
    ActionRecord,
    BreachCandidate,
    ContentGap,
    ControlSummary,
    CoverageRecord,
    EntityCount,
    ExemptionRecord,
    ExposureRecord,
    FindingRecord,
    Metrics,
    RunRecord,
)
from scanner.export.posture import collect_posture
from scanner.policy.compliance import Framework
from scanner.policy.schema import Rule
from scanner.safetext import display
from scanner.store.audit import head, verify_chain
from scanner.store.models import (
    CrawlTarget,
    DriveFileRow,
    Evidence,
    Exemption,
    ExposureDating,
    Finding,
    RemediationAction,
    ScanCoverage,
    ScanRun,
)
from scanner.store.pending import unreadable_file_ids, unreadable_reads
from scanner.store.repo import exemption_state

_Q = TypeVar("_Q", bound=Select)  # type: ignore[type-arg]

#: Findings (with their evidence and actions) read per query; also the size of IN lists.
CHUNK = 500

#: Finding columns a record needs (not ``detectors``: per-detector hit details no export shows).
_FINDING_COLUMNS = tuple(c for c in Finding.__table__.c if c.name != "detectors")
_FILE_COLUMNS = (DriveFileRow.name.label("file_name"), DriveFileRow.web_view_link.label("file_link"),
                 DriveFileRow.mime_type.label("file_mime_type"), DriveFileRow.owner_email.label("file_owner_email"),
                 DriveFileRow.exposure_classes.label("file_exposure_classes"),
                 DriveFileRow.content_revision.label("file_content_revision"))


def _shown(value: str | None) -> str | None:
    """Drive-chosen text as a person should see it (``safetext.display``); None stays None."""
    return None if value is None else display(value)


def _action(a: Any, file_name: str = "", file_link: str | None = None) -> ActionRecord:
    sharing = change(a.action, a.status, a.before, a.after)
    return ActionRecord(
        id=a.id, run_id=a.run_id, finding_id=a.finding_id, file_id=a.file_id, action=a.action,
        permission_id=a.permission_id, target_file_id=a.target_file_id, mode=a.mode, status=a.status,
        actor=a.actor, created_at=a.created_at, completed_at=a.completed_at, before=a.before, after=a.after,
        detail=_shown(a.detail), restores_action_id=a.restores_action_id, acted_as=a.acted_as,
        file_name=display(file_name), file_link=file_link, sharing_before=sharing.before,
        sharing_after=sharing.after,
    )


def exposure_record(row: ExposureDating) -> ExposureRecord:
    """A stored exposure dating as an export record (actors as a domain and keyed hash, or the address
    when the installation keeps addresses)."""
    dated = row.source != "first_seen"
    if row.exposed_by_kind in ("anonymous", "system"):
        by: str | None = row.exposed_by_kind
    elif row.exposed_by_email:
        by = display(row.exposed_by_email)
    elif row.exposed_by_domain:
        by = f"someone@{display(row.exposed_by_domain)} (#{(row.exposed_by_hash or '')[:8]})"
    else:
        by = None
    access = row.access or {}
    return ExposureRecord(
        source=row.source, exposed_since=row.exposed_since,
        reached_outside=("yes" if row.outside_total else "no") if dated else "unknown",
        exposed_by=by, exposed_by_domain=row.exposed_by_domain, exposed_by_hash=row.exposed_by_hash,
        anonymous_access=dict(access.get("anonymous", {})), outside_access=dict(access.get("outside", {})),
        insider_access=dict(access.get("insider", {})), outside_total=row.outside_total,
        outside_domains=[display(d) for d in row.outside_domains or []], outside_actors=row.outside_actors,
        window_start=row.window_start, window_end=row.window_end, truncated=row.truncated,
        skipped_reason=row.skipped_reason)


def _entities(rows: Sequence[Any], revision: str | None) -> list[EntityCount]:
    # Evidence of the analysed revision only (older revisions' rows may linger until cleaned).
    current = [e for e in rows if not revision or e.revision in ("", revision)] or list(rows)
    return sorted(
        (EntityCount(detector=e.detector, entity_type=e.entity_type, count=e.count,
                     distinct_values=e.distinct_values, best_score=round(e.best_score, 3), location=e.location,
                     masked_preview=e.masked_preview, categories=list(e.categories or [])) for e in current),
        key=lambda e: (e.detector, e.entity_type, e.location),
    )


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


class ExportData:
    """One export's view of the database: scalars now, records as streams, aggregates after
    :meth:`scan_findings` (the single pass over the findings)."""

    def __init__(self, session: Session, *, since: dt.datetime | None, statuses: Sequence[str], now: dt.datetime,
                 breach_deadline_hours: int, mapping: ComplianceMapping | None = None) -> None:
        self.session = session
        self.mapping = mapping or ComplianceMapping({}, [])
        self.generated_at = now
        self.tool_version = __version__
        self.since = since
        self.statuses = list(statuses)
        self.breach_deadline_hours = breach_deadline_hours
        chain = verify_chain(session)
        self.audit_head_seq, self.audit_head_hash = head(session)
        self.audit_events = chain.events
        self.audit_chain_ok = chain.ok
        self.actions_total = self._count(self._action_query(select(func.count(RemediationAction.id))))
        per_run = self._action_query(select(RemediationAction.run_id, func.count(RemediationAction.id)))
        self.actions_per_run: dict[int | None, int] = {
            run_id: n for run_id, n in session.execute(per_run.group_by(RemediationAction.run_id))}
        self.runs_total = self._count(self._run_query(select(func.count(ScanRun.id))))
        self.coverage_total = self._count(self._run_query(
            select(func.count(ScanCoverage.id)).join(ScanRun, ScanCoverage.run_id == ScanRun.id)))
        self.content_gaps_total = self._count(self._gap_query(select(func.count(DriveFileRow.id))))
        self._exemptions = self._load_exemptions()
        #: Drive sharing posture per org unit (posture findings, their links, the settings to change).
        self.posture = collect_posture(session)
        # Filled by scan_findings().
        self.findings_total = 0
        self.breach_total = 0
        self.breach_overdue = 0
        self.new_per_run: Counter[int | None] = Counter()
        self._metrics: Metrics | None = None
        self._controls: list[ControlSummary] | None = None

    # --- queries -------------------------------------------------------------------------------------------------

    def _count(self, query: Select[Any]) -> int:
        return int(self.session.execute(query).scalar_one())

    def _finding_query(self, query: _Q) -> _Q:
        if self.since is not None:
            query = query.where(or_(Finding.last_seen >= self.since, Finding.status_changed_at >= self.since))
        if self.statuses:
            query = query.where(Finding.status.in_(self.statuses))
        return query

    def _action_query(self, query: _Q) -> _Q:
        if self.since is not None:
            query = query.where(RemediationAction.created_at >= self.since)
        if self.statuses:  # the actions of the exported findings only
            query = query.where(RemediationAction.finding_id.in_(self._finding_query(select(Finding.id))))
        return query

    def _run_query(self, query: _Q) -> _Q:
        return query.where(ScanRun.started_at >= self.since) if self.since is not None else query

    def _gap_query(self, query: _Q) -> _Q:
        """Exposed files whose content a rule needed but was not read: refused (encrypted, too large,
        unreadable), or still pending while shared outside. Folders (no content) and domain-only files
        that no rule asked to read are not gaps."""
        return query.where(
            DriveFileRow.removed_at.is_(None), DriveFileRow.item_kind != ItemKind.FOLDER.value,
            or_(and_(DriveFileRow.content_status == "not_analysed",
                     DriveFileRow.exposure.in_(sorted(EXTERNAL_EXPOSURES | {"domain"}))),
                and_(DriveFileRow.content_status == "pending", DriveFileRow.exposure.in_(sorted(EXTERNAL_EXPOSURES))),
                DriveFileRow.id.in_(unreadable_file_ids())))

    def _records(self, rows: Sequence[Any], *, with_actions: bool = True) -> list[FindingRecord]:
        """Finding+file rows → records, with their evidence and actions (two more queries)."""
        if not rows:
            return []
        file_ids = sorted({r.file_id for r in rows})
        evidence: dict[str, list[Any]] = {}
        for ev in self.session.execute(select(Evidence.__table__).where(Evidence.file_id.in_(file_ids))
                                       .order_by(Evidence.id)):
            evidence.setdefault(ev.file_id, []).append(ev)
        actions: dict[int, list[ActionRecord]] = {}
        query = (select(RemediationAction.__table__).where(RemediationAction.finding_id.in_([r.id for r in rows]))
                 .order_by(RemediationAction.id))
        names = {r.id: (r.file_name, r.file_link) for r in rows}
        datings = {d.file_id: exposure_record(d) for d in self.session.scalars(
            select(ExposureDating).where(ExposureDating.file_id.in_(file_ids)))}
        for a in self.session.execute(query) if with_actions else ():
            actions.setdefault(a.finding_id, []).append(_action(a, *names.get(a.finding_id, ("", None))))
        return [FindingRecord(
            id=f.id, fingerprint=f.fingerprint, rule_id=f.rule_id, title=f.title, severity=f.severity,
            status=f.status, detection_state=f.detection_state, file_id=f.file_id, file_name=display(f.file_name or ""),
            file_link=f.file_link, mime_type=f.file_mime_type, owner_email=_shown(f.owner_email or f.file_owner_email),
            principal=_shown(f.principal), exposure_before=f.exposure, exposure_after=f.exposure_after,
            exposure_classes=list(f.file_exposure_classes or []), matched_permissions=list(f.matched_permissions or []),
            data_categories=sorted(set(f.data_categories or [])),
            entities=_entities(evidence.get(f.file_id, []), f.file_content_revision),
            first_seen=f.first_seen, last_seen=f.last_seen, exposed_since=f.exposed_since,
            remediated_at=f.remediated_at, resolved_at=f.resolved_at, status_changed_at=f.status_changed_at,
            accepted_until=f.accepted_until, recurrence_count=f.recurrence_count,
            first_run_id=f.first_run_id, last_run_id=f.last_run_id, actions=actions.get(f.id, []),
            compliance=list(self.mapping.controls_by_rule.get(f.rule_id, ())),
            exposure_dating=datings.get(f.file_id),
        ) for f in rows]

    def _finding_rows(self) -> Select[Any]:
        return self._finding_query(select(*_FINDING_COLUMNS, *_FILE_COLUMNS)
                                   .join(DriveFileRow, DriveFileRow.id == Finding.file_id))

    # --- streams -------------------------------------------------------------------------------------------------

    def findings(self) -> Iterator[FindingRecord]:
        """Every exported finding in id order, :data:`CHUNK` at a time (keyset pagination)."""
        last = 0
        while True:
            rows = self.session.execute(self._finding_rows().where(Finding.id > last)
                                        .order_by(Finding.id).limit(CHUNK)).all()
            if not rows:
                return
            yield from self._records(rows)
            last = rows[-1].id

    def scan_findings(self, sinks: Iterable[Callable[[FindingRecord], None]] = ()) -> None:
        """The one pass over the findings: feed each sink every record, and compute the aggregates."""
        sinks = list(sinks)
        acc = MetricsAccumulator(self.generated_at)
        controls = ComplianceTally(self.mapping.frameworks, self.mapping.rules_by_control())
        total = breach = overdue = 0
        per_run: Counter[int | None] = Counter()
        for f in self.findings():
            total += 1
            acc.add(f)
            controls.add(f)
            per_run[f.first_run_id] += 1
            if is_breach_candidate(f):
                breach += 1
                overdue += self._overdue(f)
            for sink in sinks:
                sink(f)
        self.findings_total, self.breach_total, self.breach_overdue = total, breach, overdue
        self.new_per_run = per_run
        self._metrics = acc.result()
        self._controls = controls.rows()

    def _overdue(self, f: FindingRecord) -> bool:
        end = f.remediated_at or f.resolved_at
        if end is not None and end <= self.generated_at:
            return False
        return self.generated_at > f.first_seen + dt.timedelta(hours=self.breach_deadline_hours)

    @property
    def metrics(self) -> Metrics:
        if self._metrics is None:
            raise RuntimeError("metrics are known after scan_findings()")
        return self._metrics

    @property
    def controls(self) -> list[ControlSummary]:
        """Per control of the chosen frameworks: the findings that evidence it (after scan_findings())."""
        if self._controls is None:
            raise RuntimeError("control summaries are known after scan_findings()")
        return self._controls

    def breach_candidates(self) -> Iterator[BreachCandidate]:
        """Personal data exposed outside the organisation and reached from outside (or not known not to
        be: no audit log): the most accessed from outside first (anonymous and outside accounts, from the
        Drive audit log), then overdue, then by notification deadline (= detection + deadline hours, so by
        first_seen), then by id — sorted by the database."""
        now = self.generated_at
        end = func.coalesce(Finding.remediated_at, Finding.resolved_at)
        cutoff = now - dt.timedelta(hours=self.breach_deadline_hours)
        overdue = and_(or_(end.is_(None), end > now), Finding.first_seen < cutoff)
        outside = func.coalesce(ExposureDating.outside_total, 0)
        order = (outside.desc(), case((overdue, 0), else_=1), Finding.first_seen, Finding.id)
        query = self._finding_query(
            select(Finding.id, Finding.exposure, Finding.data_categories, DriveFileRow.exposure_classes,
                   ExposureDating.source.label("dating_source"), outside.label("outside_total"))
            .join(DriveFileRow, DriveFileRow.id == Finding.file_id)
            .outerjoin(ExposureDating, ExposureDating.file_id == Finding.file_id)).order_by(*order)
        ids: list[int] = []
        for row in self.session.execute(query.execution_options(yield_per=5 * CHUNK)):
            unreached = row.dating_source not in (None, "first_seen") and not row.outside_total
            if not unreached and personal_data_exposed_outside(row.exposure, row.exposure_classes or [],
                                                               row.data_categories or []):
                ids.append(row.id)
                if len(ids) == CHUNK:
                    yield from self._breach_chunk(ids)
                    ids = []
        yield from self._breach_chunk(ids)

    def _breach_chunk(self, ids: list[int]) -> Iterator[BreachCandidate]:
        if not ids:
            return
        rows = self.session.execute(self._finding_rows().where(Finding.id.in_(ids))).all()
        by_id = {r.id: r for r in self._records(rows, with_actions=False)}  # a candidate shows no actions
        for i in ids:
            yield breach_candidate(by_id[i], self.generated_at, self.breach_deadline_hours)

    def actions(self) -> Iterator[ActionRecord]:
        last = 0
        while True:
            query = (select(RemediationAction.__table__, DriveFileRow.name.label("file_name"),
                            DriveFileRow.web_view_link.label("file_link"))
                     .outerjoin(DriveFileRow, DriveFileRow.id == RemediationAction.file_id))
            rows = self.session.execute(self._action_query(query).where(RemediationAction.id > last)
                                        .order_by(RemediationAction.id).limit(5 * CHUNK)).all()
            if not rows:
                return
            for a in rows:
                yield _action(a, a.file_name or "", a.file_link)
            last = rows[-1].id

    def runs(self) -> Iterator[RunRecord]:
        last = 0
        while True:
            rows = self.session.execute(self._run_query(select(ScanRun.__table__)).where(ScanRun.id > last)
                                        .order_by(ScanRun.id).limit(10)).all()
            if not rows:
                return
            coverage: dict[int, list[CoverageRecord]] = {}
            query = (select(ScanCoverage.__table__, CrawlTarget.kind.label("target_kind"),
                            CrawlTarget.key.label("target_key"), CrawlTarget.name.label("target_name"))
                     .join(CrawlTarget, CrawlTarget.id == ScanCoverage.target_id)
                     .where(ScanCoverage.run_id.in_([r.id for r in rows])))
            for c in self.session.execute(query):
                coverage.setdefault(c.run_id, []).append(CoverageRecord(
                    target_kind=c.target_kind, target_key=display(c.target_key),
                    target_name=display(c.target_name or ""), status=c.status,
                    files_seen=c.files_seen, files_exposed=c.files_exposed, files_analysed=c.files_analysed,
                    files_skipped=c.files_skipped, files_failed=c.files_failed, api_calls=c.api_calls,
                    reasons=dict(c.reasons or {}), started_at=c.started_at, finished_at=c.finished_at))
            for r in rows:
                yield RunRecord(
                    id=r.id, kind=r.kind, status=r.status, remediation_mode=r.remediation_mode,
                    started_at=r.started_at, finished_at=r.finished_at, hostname=r.hostname,
                    stats=dict(r.stats or {}), error=r.error,
                    coverage=sorted(coverage.get(r.id, []), key=lambda c: (c.target_kind, c.target_key)),
                    new_findings=self.new_per_run.get(r.id, 0), actions=self.actions_per_run.get(r.id, 0),
                )
            last = rows[-1].id

    def _load_exemptions(self) -> list[ExemptionRecord]:
        query = select(Exemption).order_by(Exemption.id)
        if self.since is not None:
            query = query.where(or_(Exemption.created_at >= self.since, Exemption.revoked_at >= self.since))
        return [
            ExemptionRecord(
                id=e.id, scope="finding" if e.finding_id else "file" if e.file_id else "folder" if e.folder_id
                else "rule", finding_id=e.finding_id, rule_id=e.rule_id, file_id=e.file_id, folder_id=e.folder_id,
                reason=e.reason, actor=e.actor, created_at=e.created_at, expires_at=e.expires_at,
                revoked_at=e.revoked_at, state=exemption_state(e, self.generated_at),
            )
            for e in self.session.scalars(query)
        ]

    def exemptions(self) -> list[ExemptionRecord]:
        """People-made exceptions (few: loaded once)."""
        return self._exemptions

    def content_gaps(self) -> Iterator[ContentGap]:
        last = ""
        while True:
            rows = self.session.execute(self._gap_query(select(DriveFileRow.id, DriveFileRow.name,
                                                               DriveFileRow.owner_email, DriveFileRow.exposure,
                                                               DriveFileRow.content_status,
                                                               DriveFileRow.content_skip_reason))
                                        .where(DriveFileRow.id > last).order_by(DriveFileRow.id)
                                        .limit(5 * CHUNK)).all()
            if not rows:
                return
            unreadable = unreadable_reads(self.session, [f.id for f in rows])
            for f in rows:
                status, reason = f.content_status, f.content_skip_reason or f.content_status
                if f.id in unreadable:
                    status, reason = "unreadable", unreadable[f.id]
                yield ContentGap(file_id=f.id, file_name=display(f.name or ""), owner_email=_shown(f.owner_email),
                                 exposure=f.exposure, content_status=status, reason=reason)
            last = rows[-1].id

    def counts(self) -> dict[str, int]:
        return {
            "findings": self.findings_total, "actions": self.actions_total, "scan_runs": self.runs_total,
            "coverage_rows": self.coverage_total, "exemptions": len(self._exemptions),
            "content_gaps": self.content_gaps_total, "breach_candidates": self.breach_total,
        }


@dataclass(frozen=True)
class ComplianceMapping:
    """Which controls each rule evidences (``framework:control``), and the frameworks to summarise."""

    controls_by_rule: dict[str, list[str]]
    frameworks: list[Framework]

    @classmethod
    def of(cls, rules: Iterable[Rule], frameworks: Sequence[Framework]) -> ComplianceMapping:
        return cls({r.id: r.controls() for r in rules}, list(frameworks))

    def rules_by_control(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for rule_id, refs in self.controls_by_rule.items():
            for ref in refs:
                out.setdefault(ref, []).append(rule_id)
        return out


def collect(session: Session, *, since: dt.datetime | None = None, statuses: Sequence[str] = (),
            now: dt.datetime | None = None, breach_deadline_hours: int = 72,
            mapping: ComplianceMapping | None = None) -> ExportData:
    """The export's view of ``session``. ``since`` keeps findings seen or changed since then, and runs,
    actions and exemptions created since then; ``statuses`` filters findings (and their actions).
    Call :meth:`ExportData.scan_findings` before reading the aggregates."""
    return ExportData(session, since=since, statuses=statuses, now=now or dt.datetime.now(dt.UTC),
                      breach_deadline_hours=breach_deadline_hours, mapping=mapping)
