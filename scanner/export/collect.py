"""Read everything an export needs from the database in one session (a consistent snapshot)."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from scanner import __version__
from scanner.export.metrics import breach_candidates, compute_metrics
from scanner.export.model import (
    EXTERNAL_EXPOSURES,
    ActionRecord,
    ContentGap,
    CoverageRecord,
    EntityCount,
    ExemptionRecord,
    ExportData,
    FindingRecord,
    RunRecord,
)
from scanner.store.audit import head_hash, verify_chain
from scanner.store.models import (
    DriveFileRow,
    Evidence,
    Exemption,
    Finding,
    RemediationAction,
    ScanCoverage,
    ScanRun,
)
from scanner.store.repo import exemption_state


def _action(a: RemediationAction) -> ActionRecord:
    return ActionRecord(
        id=a.id, run_id=a.run_id, finding_id=a.finding_id, file_id=a.file_id, action=a.action,
        permission_id=a.permission_id, target_file_id=a.target_file_id, mode=a.mode, status=a.status,
        actor=a.actor, created_at=a.created_at, completed_at=a.completed_at, before=a.before, after=a.after,
        detail=a.detail, restores_action_id=a.restores_action_id,
    )


def _entities(rows: Sequence[Evidence], revision: str | None) -> list[EntityCount]:
    # Evidence of the analysed revision only (older revisions' rows may linger until cleaned).
    current = [e for e in rows if not revision or e.revision in ("", revision)] or list(rows)
    return sorted(
        (EntityCount(detector=e.detector, entity_type=e.entity_type, count=e.count,
                     distinct_values=e.distinct_values, best_score=round(e.best_score, 3), location=e.location,
                     masked_preview=e.masked_preview, categories=list(e.categories or [])) for e in current),
        key=lambda e: (e.detector, e.entity_type, e.location),
    )


def collect(session: Session, *, since: dt.datetime | None = None, statuses: Sequence[str] = (),
            now: dt.datetime | None = None, breach_deadline_hours: int = 72) -> ExportData:
    """Build the export's records. ``since`` keeps findings seen or changed since then, and runs,
    actions and exemptions created since then; ``statuses`` filters findings (and their actions)."""
    now = now or dt.datetime.now(dt.UTC)
    chain = verify_chain(session)

    query = select(Finding).options(selectinload(Finding.file), selectinload(Finding.actions)).order_by(Finding.id)
    if since is not None:
        query = query.where(or_(Finding.last_seen >= since, Finding.status_changed_at >= since))
    if statuses:
        query = query.where(Finding.status.in_(list(statuses)))
    findings_orm = session.scalars(query).all()

    file_ids = sorted({f.file_id for f in findings_orm})
    evidence: dict[str, list[Evidence]] = defaultdict(list)
    for i in range(0, len(file_ids), 500):
        for ev in session.scalars(select(Evidence).where(Evidence.file_id.in_(file_ids[i:i + 500]))):
            evidence[ev.file_id].append(ev)

    findings = []
    for f in findings_orm:
        file: DriveFileRow = f.file
        findings.append(FindingRecord(
            id=f.id, fingerprint=f.fingerprint, rule_id=f.rule_id, title=f.title, severity=f.severity,
            status=f.status, detection_state=f.detection_state, file_id=f.file_id, file_name=file.name,
            file_link=file.web_view_link, mime_type=file.mime_type, owner_email=f.owner_email or file.owner_email,
            principal=f.principal, exposure_before=f.exposure, exposure_after=f.exposure_after,
            exposure_classes=list(file.exposure_classes or []), matched_permissions=list(f.matched_permissions or []),
            data_categories=sorted(set(f.data_categories or [])),
            entities=_entities(evidence.get(f.file_id, []), file.content_revision),
            first_seen=f.first_seen, last_seen=f.last_seen, exposed_since=f.exposed_since,
            remediated_at=f.remediated_at, resolved_at=f.resolved_at, status_changed_at=f.status_changed_at,
            accepted_until=f.accepted_until, recurrence_count=f.recurrence_count,
            first_run_id=f.first_run_id, last_run_id=f.last_run_id,
            actions=[_action(a) for a in f.actions],
        ))

    action_query = select(RemediationAction).order_by(RemediationAction.id)
    if since is not None:
        action_query = action_query.where(RemediationAction.created_at >= since)
    if statuses:
        action_query = action_query.where(RemediationAction.finding_id.in_([f.id for f in findings_orm]))
    actions = [_action(a) for a in session.scalars(action_query)]

    run_query = select(ScanRun).options(selectinload(ScanRun.coverage).selectinload(ScanCoverage.target))
    if since is not None:
        run_query = run_query.where(ScanRun.started_at >= since)
    runs_orm = session.scalars(run_query.order_by(ScanRun.id)).all()
    new_per_run = Counter(f.first_run_id for f in findings_orm)
    actions_per_run = Counter(a.run_id for a in actions)
    runs = [
        RunRecord(
            id=r.id, kind=r.kind, status=r.status, remediation_mode=r.remediation_mode, started_at=r.started_at,
            finished_at=r.finished_at, hostname=r.hostname, stats=dict(r.stats or {}), error=r.error,
            coverage=[CoverageRecord(
                target_kind=c.target.kind, target_key=c.target.key, target_name=c.target.name, status=c.status,
                files_seen=c.files_seen, files_exposed=c.files_exposed, files_analysed=c.files_analysed,
                files_skipped=c.files_skipped, files_failed=c.files_failed, api_calls=c.api_calls,
                reasons=dict(c.reasons or {}), started_at=c.started_at, finished_at=c.finished_at,
            ) for c in sorted(r.coverage, key=lambda c: (c.target.kind, c.target.key))],
            new_findings=new_per_run.get(r.id, 0), actions=actions_per_run.get(r.id, 0),
        )
        for r in runs_orm
    ]

    ex_query = select(Exemption).order_by(Exemption.id)
    if since is not None:
        ex_query = ex_query.where(or_(Exemption.created_at >= since, Exemption.revoked_at >= since))
    exemptions = [
        ExemptionRecord(
            id=e.id, scope="finding" if e.finding_id else "file" if e.file_id else "folder" if e.folder_id else "rule",
            finding_id=e.finding_id, rule_id=e.rule_id, file_id=e.file_id, folder_id=e.folder_id, reason=e.reason,
            actor=e.actor, created_at=e.created_at, expires_at=e.expires_at, revoked_at=e.revoked_at,
            state=exemption_state(e, now),
        )
        for e in session.scalars(ex_query)
    ]

    gap_query = (
        select(DriveFileRow)
        .where(DriveFileRow.content_status != "analysed", DriveFileRow.removed_at.is_(None),
               DriveFileRow.exposure.in_(sorted(EXTERNAL_EXPOSURES | {"domain"})))
        .order_by(DriveFileRow.id)
    )
    content_gaps = [
        ContentGap(file_id=f.id, file_name=f.name, owner_email=f.owner_email, exposure=f.exposure,
                   content_status=f.content_status, reason=f.content_skip_reason or f.content_status)
        for f in session.scalars(gap_query)
    ]

    return ExportData(
        generated_at=now, tool_version=__version__, since=since, statuses=list(statuses),
        audit_head_hash=head_hash(session), audit_events=chain.events, audit_chain_ok=chain.ok,
        findings=findings, actions=actions, runs=runs, exemptions=exemptions, content_gaps=content_gaps,
        breach_candidates=breach_candidates(findings, now, breach_deadline_hours),
        metrics=compute_metrics(findings, now), breach_deadline_hours=breach_deadline_hours,
    )
