"""Incremental crawl of one target from its stored Changes API page token.

The token is captured with ``changes.getStartPageToken`` before the target's full crawl
(``ScanCoverage.pending_start_token``) and becomes ``CrawlTarget.start_page_token`` when that
crawl completes, so nothing that changed during the crawl is missed. An unchanged target costs
one ``changes.list`` call. Changes are applied with the same field mask as the full crawl;
shared-drive files get their permissions re-read; removed or trashed files are marked removed.
My Drive changes are kept only for files the user owns (each file belongs to its owner's feed).

This module is the pure part (which changes count); ``Crawler.crawl_changes`` pages the feed, so the
crawler imports this module and never the other way round.
"""

from __future__ import annotations

from typing import Any


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
