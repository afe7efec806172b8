"""The folder tree as the last crawl stored it: parents, children, permissions (no Drive calls).

Used to find what lies below a folder whose sharing changed (its descendants are re-read and
re-evaluated whatever the Changes feed listed) and to measure what fixing a folder touches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from scanner.core.models import DriveFile
from scanner.store.db import in_chunks
from scanner.store.models import DriveFileRow, PermissionRow
from scanner.store.snapshot import row_to_file

#: Deepest folder nesting followed (Drive allows 100 levels; loops in bad data stop here too).
MAX_DEPTH = 100


class StoredTree:
    """Reads the snapshot in one session; the children map is built once, on first use."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._files: dict[str, DriveFile | None] = {}
        self._children: dict[str, list[str]] | None = None
        self._parents: dict[str, tuple[str, ...]] = {}

    def get(self, item_id: str) -> DriveFile | None:
        if item_id not in self._files:
            row = self.session.get(DriveFileRow, item_id, options=[selectinload(DriveFileRow.permissions)])
            self._files[item_id] = row_to_file(row) if row is not None and row.removed_at is None else None
        return self._files[item_id]

    def _parents_of(self, item_id: str) -> tuple[str, ...]:
        if item_id not in self._parents:
            parents = self.session.scalar(select(DriveFileRow.parents).where(DriveFileRow.id == item_id))
            self._parents[item_id] = tuple(parents or ())
        return self._parents[item_id]

    def ancestors(self, item_id: str) -> tuple[str, ...]:
        """Parents first, then theirs (first parent each), up to the root or the shared drive."""
        out: list[str] = []
        current = item_id
        while len(out) < MAX_DEPTH:
            parents = self._parents_of(current)
            if not parents or parents[0] in out or parents[0] == item_id:
                break
            out.append(parents[0])
            current = parents[0]
        return tuple(out)

    def children_map(self) -> dict[str, list[str]]:
        if self._children is None:
            children: dict[str, list[str]] = {}
            rows = self.session.execute(select(DriveFileRow.id, DriveFileRow.parents)
                                        .where(DriveFileRow.removed_at.is_(None)))
            for item_id, parents in rows:
                for parent in parents or ():
                    children.setdefault(parent, []).append(item_id)
            self._children = children
        return self._children

    def descendants(self, folder_id: str) -> list[str]:
        children = self.children_map()
        out: list[str] = []
        seen = {folder_id}
        frontier = [folder_id]
        while frontier:
            for child in children.get(frontier.pop(), ()):
                if child not in seen:
                    seen.add(child)
                    out.append(child)
                    frontier.append(child)
        return out

    def inherited_holders(self, item_ids: Sequence[str], permission_ids: Iterable[str]) -> set[str]:
        wanted = sorted(set(permission_ids))
        if not wanted or not item_ids:
            return set()
        out: set[str] = set()
        for chunk in in_chunks(list(item_ids)):
            rows = self.session.execute(select(PermissionRow.file_id).where(
                PermissionRow.file_id.in_(chunk), PermissionRow.permission_id.in_(wanted),
                PermissionRow.inherited_only.is_(True)))
            out.update(file_id for (file_id,) in rows)
        return out


#: Ancestors followed for a file's rule context (folder-scoped rules and exemptions).
MAX_ANCESTRY = 32


def ancestors_of(session: Session, row: DriveFileRow) -> tuple[str, ...]:
    """The file's folders up the stored tree (nearest first, at most MAX_ANCESTRY), then its shared drive."""
    return ancestors_of_many(session, [row])[row.id]


def ancestors_of_many(session: Session, rows: Iterable[DriveFileRow]) -> dict[str, tuple[str, ...]]:
    """``ancestors_of`` for many files: the stored tree above them read one level at a time (one
    query per level and chunk of ids, not one per folder and file); the same answer per file."""
    rows = list(rows)
    parents_of: dict[str, tuple[str, ...] | None] = {}  # None: not in the snapshot
    level = {p for row in rows for p in (row.parents or ())}
    for _ in range(MAX_ANCESTRY):
        wanted = sorted(level - parents_of.keys())
        if not wanted:
            break
        for chunk in in_chunks(wanted):
            for item_id, parents in session.execute(select(DriveFileRow.id, DriveFileRow.parents)
                                                    .where(DriveFileRow.id.in_(chunk))):
                parents_of[item_id] = tuple(parents or ())
        for item_id in wanted:
            parents_of.setdefault(item_id, None)
        level = {p for item_id in wanted for p in (parents_of[item_id] or ())}
    out: dict[str, tuple[str, ...]] = {}
    for row in rows:
        found: list[str] = []
        frontier = list(row.parents or [])
        while frontier and len(found) < MAX_ANCESTRY:
            parent_id = frontier.pop(0)
            if parent_id in found:
                continue
            found.append(parent_id)
            frontier.extend(parents_of.get(parent_id) or ())
        if row.drive_id and row.drive_id not in found:
            found.append(row.drive_id)
        out[row.id] = tuple(found)
    return out
