"""The content cache: a file revision's analysis as stored (hits and evidence summaries, never values).

``cached_content`` rebuilds the analysis of exactly the file's current revision, so a scan reads and
analyses each revision once; ``store_content`` records a fresh analysis (or why there is none) on the
file's row and replaces its evidence rows.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from scanner.content.extract_base import SkipKind
from scanner.detect.models import ContentResult, DetectorHit, EvidenceSummary
from scanner.store.models import DriveFileRow, Evidence
from scanner.store.repo import FindingRepo


def cached_content(session: Session, row: DriveFileRow, revision: str) -> ContentResult | None:
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


def store_content(session: Session, repo: FindingRepo, file_id: str, revision: str, content: ContentResult,
                  now: dt.datetime) -> None:
    """Record ``content`` as the analysis of ``revision`` of the file (idempotent: the same analysis
    stored twice leaves the same row and evidence)."""
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
