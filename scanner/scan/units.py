"""The units of work of a scan and what they come to.

A scan is planned as ``TargetTask`` s (one per My Drive or shared drive, ``Crawler.plan_targets``),
each crawled into a ``TargetResult`` (``Crawler.crawl_target``); then one ``FileOutcome`` per
candidate file (``scanner.scan.analysis.analyse_file``). Payloads are ids; outcomes are stored per
(run, file) in ``scan_file_outcomes`` and summed by the run (``sum_outcomes``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from scanner.drive.crawler import TargetResult, TargetTask
from scanner.store.models import ScanFileOutcome

__all__ = ["AnalysisTotals", "FileOutcome", "OutcomeKind", "TargetResult", "TargetTask", "evaluated_file_ids",
           "sum_outcomes"]


class OutcomeKind(StrEnum):
    #: Who can open it is unknown (its permissions could not be read): left as it was.
    PERMISSIONS_UNKNOWN = "perm_unknown"
    #: The rules needed no content.
    NO_CONTENT = "no_content"
    #: This revision's analysis was stored: reused.
    CACHED = "cached"
    ANALYSED = "analysed"
    #: Read, but not analysable for a lasting reason (encrypted, too large...).
    NOT_ANALYSED = "not_analysed"
    #: The content could not be read this time: a pending read.
    UNREAD = "unread"
    #: The file is no longer in the snapshot.
    GONE = "gone"


@dataclass(frozen=True)
class FileOutcome:
    file_id: str
    kind: OutcomeKind
    #: Every rule was evaluated with what it needed: findings it no longer raised may close.
    evaluated: bool = False
    partial: bool = False
    #: ("user", owner) or ("drive", shared drive id): whose coverage counts an analysed file.
    target: tuple[str, str] | None = None
    nlp_mode: str = ""

    def to_row(self, run_id: int) -> ScanFileOutcome:
        return ScanFileOutcome(run_id=run_id, file_id=self.file_id, kind=self.kind.value, evaluated=self.evaluated,
                               partial=self.partial, target_kind=self.target[0] if self.target else None,
                               target_key=self.target[1] if self.target else None, nlp_mode=self.nlp_mode or None)

    @classmethod
    def from_row(cls, row: ScanFileOutcome) -> FileOutcome:
        target = (row.target_kind, row.target_key) if row.target_kind and row.target_key is not None else None
        return cls(file_id=row.file_id, kind=OutcomeKind(row.kind), evaluated=row.evaluated, partial=row.partial,
                   target=target, nlp_mode=row.nlp_mode or "")


@dataclass
class AnalysisTotals:
    """The analysis phase's outcomes summed (what ScanResult and the coverage rows report)."""

    files: int = 0
    files_analysed: int = 0
    files_not_analysed: int = 0
    files_partial: int = 0
    content_cache_hits: int = 0
    files_evaluated: int = 0
    nlp_mode: str = ""
    analysed_per_target: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, outcome: FileOutcome) -> None:
        self.files += 1
        self.files_evaluated += outcome.evaluated
        if outcome.kind is OutcomeKind.CACHED:
            self.content_cache_hits += 1
        elif outcome.kind is OutcomeKind.ANALYSED:
            self.files_analysed += 1
            self.files_partial += outcome.partial
            if outcome.target is not None:
                self.analysed_per_target[outcome.target] += 1
        elif outcome.kind is OutcomeKind.NOT_ANALYSED:
            self.files_not_analysed += 1
        if outcome.nlp_mode and outcome.kind in (OutcomeKind.CACHED, OutcomeKind.ANALYSED):
            self.nlp_mode = outcome.nlp_mode  # the last file's, in file id order


def sum_outcomes(session: Session, run_id: int) -> AnalysisTotals:
    """The run's stored outcomes, summed in file id order (whichever process wrote them)."""
    totals = AnalysisTotals()
    rows = session.scalars(select(ScanFileOutcome).where(ScanFileOutcome.run_id == run_id)
                           .order_by(ScanFileOutcome.file_id))
    for row in rows:
        totals.add(FileOutcome.from_row(row))
    return totals


def evaluated_file_ids(session: Session, run_id: int) -> set[str]:
    """Files this run evaluated with everything their rules needed."""
    return set(session.scalars(select(ScanFileOutcome.file_id).where(ScanFileOutcome.run_id == run_id,
                                                                     ScanFileOutcome.evaluated.is_(True))))
