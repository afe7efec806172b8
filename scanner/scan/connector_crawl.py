"""Crawl one target of any provider through the Connector protocol into the snapshot.

``crawl_connector_target(sessions, connector, target, ...)`` pages ``connector.crawl(target, cursor)``,
classifies each page's items (``scanner.core.exposure``) and stores them with the page's cursor in one
transaction, so a killed crawl resumes from its last page and a target already ``done`` for the run is
not crawled again. The items keep their ``provider``; findings on them get fingerprints with it.

Google's crawl (``scanner/drive/crawler.py``) does more than the protocol carries yet: batched publish
checks gated by the stored state, pending reads, group expansion, shortcuts and the change feed's
removals by owner. See docs/ARCHITECTURE.md, "How to add a connector".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from scanner.connectors.base import Connector, Target
from scanner.core.exposure import classify, is_exposed
from scanner.store import snapshot
from scanner.store.models import ScanCoverage


@dataclass(frozen=True)
class ConnectorCrawlResult:
    kind: str
    key: str
    status: str  # done | skipped
    files_seen: int
    files_exposed: int


def crawl_connector_target(sessions: sessionmaker[Session], connector: Connector, target: Target, *, run_id: int,
                           org_domains: frozenset[str], clock: Callable[[], dt.datetime]) -> ConnectorCrawlResult:
    """One target, from the cursor its coverage row holds for this run (a unit of work: safe to run again)."""
    with sessions.begin() as s:
        row = snapshot.upsert_target(s, target.kind, target.key, target.title, active=target.skip_reason is None,
                                     skip_reason=target.skip_reason)
        row.provider = connector.provider
        cov = snapshot.coverage_for(s, run_id, row.id)
        coverage_id, cursor = cov.id, cov.cursor
        if cov.status in ("done", "skipped"):
            return ConnectorCrawlResult(target.kind, target.key, cov.status, cov.files_seen, cov.files_exposed)
        if target.skip_reason is not None:
            cov.status, cov.reasons, cov.finished_at = "skipped", {"target": target.skip_reason}, clock()
            return ConnectorCrawlResult(target.kind, target.key, "skipped", 0, 0)
        cov.status = "running"
        cov.started_at = cov.started_at or clock()
    for page in connector.crawl(target, cursor):
        exposures = [classify(item, org_domains) for item in page.items]
        now = clock()
        with sessions.begin() as s:
            changes = snapshot.upsert_files(s, exposures, run_id=run_id, now=now)
            page_cov = s.get(ScanCoverage, coverage_id)
            assert page_cov is not None
            page_cov.files_seen += len(changes)
            page_cov.files_exposed += sum(1 for c in changes if is_exposed(c.exposure))
            page_cov.cursor = page.next_cursor
            if page.next_cursor is None:
                page_cov.status, page_cov.finished_at = "done", now
    with sessions.begin() as s:
        last = s.get(ScanCoverage, coverage_id)
        assert last is not None
        if last.status == "running" and last.cursor is None:  # a target with no pages at all
            last.status, last.finished_at = "done", clock()
        return ConnectorCrawlResult(target.kind, target.key, last.status, last.files_seen, last.files_exposed)
