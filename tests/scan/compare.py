"""What two scans of the same workspace must agree on, whichever executor ran them: findings, actions,
coverage, stored analyses and outcomes (ids and timestamps left out: they depend on who wrote first)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from scanner.app import App
from scanner.store.models import (
    CrawlTarget,
    DriveFileRow,
    Evidence,
    Finding,
    RemediationAction,
    ScanCoverage,
    ScanFileOutcome,
    ScanRun,
)


def scan_state(app: App) -> dict[str, Any]:
    with app.sessions() as s:
        runs = {r.id: i for i, r in enumerate(s.scalars(select(ScanRun).order_by(ScanRun.id)))}
        findings = sorted(
            (f.fingerprint, f.rule_id, f.file_id, f.principal or "", f.severity, f.status, f.detection_state,
             runs.get(f.first_run_id), runs.get(f.last_run_id), tuple(sorted(f.data_categories or [])))
            for f in s.scalars(select(Finding)))
        by_finding = {f.id: f.fingerprint for f in s.scalars(select(Finding))}
        actions = sorted(
            (by_finding.get(a.finding_id, ""), a.action, a.mode, a.status, a.file_id, a.target_file_id or "")
            for a in s.scalars(select(RemediationAction)))
        coverage = sorted(
            (runs[c.run_id], t.kind, t.key, c.status, c.files_seen, c.files_exposed, c.files_analysed,
             c.files_skipped, c.files_failed, c.files_pending, c.files_unreadable)
            for c, t in s.execute(select(ScanCoverage, CrawlTarget).join(CrawlTarget,
                                                                         CrawlTarget.id == ScanCoverage.target_id)))
        files = sorted(
            (f.id, f.exposure, tuple(f.exposure_classes or ()), f.published, f.content_status, f.content_revision or "",
             f.content_skip_reason or "", repr(sorted((f.content_hits or {}).items())),
             tuple(f.data_categories or ()), f.removed_at is None)
            for f in s.scalars(select(DriveFileRow)))
        evidence = sorted((e.file_id, e.revision, e.detector, e.entity_type, e.count, e.value_hash or "",
                           e.masked_preview or "") for e in s.scalars(select(Evidence)))
        outcomes = sorted((runs[o.run_id], o.file_id, o.kind, o.evaluated, o.partial, o.target_kind or "",
                           o.target_key or "") for o in s.scalars(select(ScanFileOutcome)))
        statuses = [(r.kind, r.status) for r in s.scalars(select(ScanRun).order_by(ScanRun.id))]
    return {"findings": findings, "actions": actions, "coverage": coverage, "files": files, "evidence": evidence,
            "outcomes": outcomes, "runs": statuses}


def assert_same(left: dict[str, Any], right: dict[str, Any]) -> None:
    for key in left:
        assert left[key] == right[key], key
    assert left["findings"], "nothing to compare: the scans found nothing"
