"""Incremental crawl of one target from its stored Changes API page token.

The token is captured with ``changes.getStartPageToken`` before the target's full crawl
(``ScanCoverage.pending_start_token``) and becomes ``CrawlTarget.start_page_token`` when that
crawl completes, so nothing that changed during the crawl is missed. An unchanged target costs
one ``changes.list`` call. Changes are applied with the same field mask as the full crawl;
shared-drive files get their permissions re-read; removed or trashed files are marked removed.
My Drive changes are kept only for files the user owns (each file belongs to its owner's feed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scanner.connectors.google import drive_api as api
from scanner.connectors.google.client import CallTally

if TYPE_CHECKING:
    from scanner.drive.crawler import Crawler, _Job


def select_changes(changes: list[dict[str, Any]], *, owner: str | None,
                   drive_id: str | None) -> tuple[list[dict[str, Any]], list[str]]:
    """Split a changes page into live file resources to upsert and ids to mark removed.

    For a user's feed, files owned by someone else are ignored (their owner's feed has them);
    ``removed`` ids are filtered by owner/drive when stored (snapshot.mark_removed).
    """
    live: dict[str, dict[str, Any]] = {}
    removed: dict[str, None] = {}
    for change in changes:
        if change.get("changeType", "file") != "file":
            continue
        file_id = change.get("fileId") or (change.get("file") or {}).get("id")
        if not file_id:
            continue
        item = change.get("file")
        if change.get("removed") or item is None or item.get("trashed"):
            live.pop(file_id, None)
            removed[file_id] = None
            continue
        if drive_id is not None:
            if item.get("driveId") != drive_id:
                continue
        else:
            if item.get("driveId"):
                continue
            owners = [str(o.get("emailAddress", "")).lower() for o in item.get("owners") or []]
            if owner not in owners:
                # Not (or no longer) this user's file: if we had it under this owner, it moved away;
                # the new owner's feed or crawl brings it back under them.
                removed[file_id] = None
                continue
        removed.pop(file_id, None)
        live[file_id] = item
    return list(live.values()), list(removed)


def crawl_changes(crawler: Crawler, job: _Job, tally: CallTally) -> None:
    """Apply every change since the target's token, page by page, committing the cursor."""
    assert job.subject is not None
    drive = crawler.clients.drive(job.subject)
    token = job.cursor or job.start_token
    if not token:
        raise ValueError(f"{job.kind} {job.key} has no changes token")
    while True:
        page = crawler.clients.execute(api.list_changes(drive, token, job.drive_id,
                                                           include_labels=crawler.include_labels), tally=tally)
        live, removed = select_changes(page.get("changes", []), owner=job.owner, drive_id=job.drive_id)
        result = crawler.enrich(drive, job.subject, live, tally)
        result.removed_ids.extend(removed)
        next_token = page.get("nextPageToken")
        new_start = page.get("newStartPageToken")
        crawler.commit_page(job, result, tally, cursor=next_token or new_start,
                            finish=None if next_token else str(new_start or token))
        if not next_token:
            return
        token = next_token
