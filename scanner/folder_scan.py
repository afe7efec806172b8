"""A scan's folder findings: the stored findings and tree in, folder findings upserted and linked out.

Runs after the files of a scan (or of a refresh after remediation) were evaluated, over every open,
active finding with sensitive content whose exposure is inherited — not only this run's — so a folder
finding is stable across incremental scans and closes when its descendants no longer call for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scanner.policy.evaluate import DetectorMatch
from scanner.policy.folders import SensitiveFinding, evaluate_folders, grants_from_json
from scanner.policy.schema import Rule
from scanner.store.models import Finding, utcnow
from scanner.store.repo import ACTIVE, OPEN, FindingRepo
from scanner.store.tree import StoredTree

#: Rows fetched at a time when streaming findings.
STREAM_CHUNK = 1000


def sensitive_findings(session: Session, file_rule_ids: Collection[str], *, run_id: int | None = None,
                       closing: Collection[str] = ()) -> list[SensitiveFinding]:
    """Open, active findings of file rules that found sensitive content and match an inherited grant.

    ``closing``: files this run evaluated again; their findings it did not see again (``last_run_id``
    is not ``run_id``) are about to close and do not count."""
    rows = session.execute(select(Finding.id, Finding.file_id, Finding.severity, Finding.last_run_id,
                                  Finding.matched_permissions, Finding.detectors, Finding.data_categories)
                           .where(Finding.status == OPEN, Finding.detection_state == ACTIVE,
                                  Finding.rule_id.in_(list(file_rule_ids)))
                           .order_by(Finding.id).execution_options(yield_per=STREAM_CHUNK))
    closing = set(closing)
    out = []
    # the columns it needs, streamed: no ORM object per finding (docs/ARCHITECTURE.md, "Nightly cost")
    for finding_id, file_id, severity, last_run_id, matched, detectors_json, categories in rows:
        if file_id in closing and last_run_id != run_id:
            continue
        if not detectors_json:
            continue
        grants = grants_from_json(matched or [])
        if not any(g.inherited for g in grants):
            continue
        detectors = tuple(DetectorMatch(name, int(hit.get("count", 0)), float(hit.get("best_score", 0.0)),
                                        tuple(hit.get("categories") or ()))
                          for name, hit in sorted(detectors_json.items()))
        out.append(SensitiveFinding(finding_id, file_id, severity, grants, detectors, tuple(categories or ())))
    return out


@dataclass(frozen=True)
class FolderScan:
    evaluated: frozenset[str]
    matched: tuple[int, ...]
    resolved: tuple[int, ...]
    #: Findings whose link to a folder finding changed (their remediation plan changes with it).
    relinked: tuple[int, ...] = ()


def evaluate_folder_findings(sessions: sessionmaker[Session], actor: str, rules: Iterable[Rule], *,
                             run_id: int | None, org_domains: frozenset[str], complete: bool,
                             evaluated: Collection[str] = (),
                             clock: Callable[[], dt.datetime] = utcnow) -> FolderScan:
    """Upsert the folder findings the stored findings call for. With ``complete`` (the run read every
    target), the folder findings that no longer hold are resolved, and the findings of ``evaluated``
    files that the run did not see again (about to close) no longer call for one; a partial run
    resolves nothing."""
    rules = tuple(rules)
    folder_rules = [r for r in rules if r.target == "folder"]
    if not folder_rules:
        return FolderScan(frozenset(), (), ())
    with sessions.begin() as s:
        repo = FindingRepo(s, actor, clock=clock)
        folder_rule_ids = [r.id for r in folder_rules]
        active = set(s.scalars(select(Finding.file_id).where(Finding.rule_id.in_(folder_rule_ids),
                                                             Finding.detection_state == ACTIVE)))
        sensitive = sensitive_findings(s, [r.id for r in rules if r.target == "file"], run_id=run_id,
                                       closing=evaluated if complete else ())
        result = evaluate_folders(folder_rules, sensitive, StoredTree(s), org_domains=org_domains,
                                  exemptions=repo.active_exemptions(), now=clock(), also_evaluate=active)
        matched: set[int] = set()
        relinked: set[int] = set()
        for match in result.matches:
            finding = repo.upsert(match, run_id)
            relinked.update(repo.link_to_folder(finding.id, match.covers))
            matched.add(finding.id)
        # a folder finding that no longer holds covers no active finding (closed ones keep their history)
        for child in s.scalars(select(Finding).where(Finding.folder_finding_id.is_not(None),
                                                     Finding.folder_finding_id.not_in(matched),
                                                     Finding.detection_state == ACTIVE)):
            child.folder_finding_id = None
            relinked.add(child.id)
        resolved: list[int] = []
        if complete:
            gone = s.scalars(select(Finding).where(Finding.rule_id.in_(folder_rule_ids), Finding.id.not_in(matched),
                                                   Finding.detection_state == ACTIVE).order_by(Finding.id)).all()
            resolved = repo.resolve_unmatched(gone, run_id=run_id,
                                              reason="no sensitive descendant is exposed through the folder")
    return FolderScan(result.evaluated, tuple(sorted(matched)), tuple(resolved), tuple(sorted(relinked)))
