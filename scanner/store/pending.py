"""Pending reads: what a run could not read about a file, kept until a later run reads it.

A file with a pending read keeps its previous verdict: its findings are never resolved nor made
inactive while any read of it is pending (:meth:`scanner.store.repo.FindingRepo.close_missing`
leaves them alone), and every run — incremental ones too — tries it again. One row per file and
aspect (content, publish state, permissions); ``attempts`` counts the runs that failed, and once it
reaches ``[limits] unreadable_after_attempts`` the row is ``unreadable``: listed as such in
``sharescan scans show`` and the exports, still retried, and still never a reason to change a verdict.

Everything runs in the caller's transaction; the caller commits.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, delete, select
from sqlalchemy.orm import Session

from scanner.core.unread import ReadAspect, Unread
from scanner.store.models import PendingRead, utcnow

#: ``[limits] unreadable_after_attempts`` when no setting is given.
DEFAULT_UNREADABLE_AFTER = 3


@dataclass(frozen=True)
class PendingFile:
    """Identity of a file a read failed for (the snapshot may not exist yet)."""

    file_id: str
    owner_email: str | None = None
    drive_id: str | None = None
    name: str = ""


@dataclass
class TargetPending:
    """Pending and unreadable files of one owner's My Drive or one shared drive."""

    pending: int = 0
    unreadable: int = 0
    #: reason → files (a file counts once, under its first aspect's reason).
    reasons: Counter[str] = field(default_factory=Counter)


class PendingReads:
    """Record, clear and query pending reads in one session."""

    def __init__(self, session: Session, *, unreadable_after: int = DEFAULT_UNREADABLE_AFTER,
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.session = session
        self.unreadable_after = max(1, unreadable_after)
        self.clock = clock

    def record(self, file: PendingFile, unread: Unread, *, run_id: int | None) -> PendingRead:
        """A failed read of ``file``: a new pending row, or one more attempt (once per run)."""
        now = self.clock()
        row = self.session.scalars(select(PendingRead).where(PendingRead.file_id == file.file_id,
                                                             PendingRead.aspect == unread.aspect.value)).first()
        if row is None:
            row = PendingRead(file_id=file.file_id, aspect=unread.aspect.value, attempts=1, first_failed_at=now,
                              unreadable=False)
            self.session.add(row)
        elif run_id is None or row.last_run_id != run_id:
            row.attempts += 1
        row.reason = unread.failure.value
        row.detail = unread.detail[:2000]
        row.owner_email = (file.owner_email or "").lower() or None
        row.drive_id = file.drive_id
        row.name = file.name or row.name or ""
        row.last_failed_at = now
        row.last_run_id = run_id
        row.unreadable = row.attempts >= self.unreadable_after
        self.session.flush()
        return row

    def clear(self, file_ids: Collection[str], aspects: Iterable[ReadAspect] | None = None) -> int:
        """The reads of these files succeeded (or are no longer needed): drop their pending rows.

        One Core DELETE built once (pending reads carry no audit state events); pending changes are
        flushed first and rows of these files loaded in the session are dropped from it."""
        if not file_ids:
            return 0
        ids = list(file_ids)
        wanted = None if aspects is None else [a.value for a in aspects]
        self.session.flush()
        conn = self.session.connection()
        if wanted is None:
            result = conn.execute(_CLEAR, {"ids": ids})
        else:
            result = conn.execute(_CLEAR_ASPECTS, {"ids": ids, "aspects": wanted})
        gone = set(ids)
        for obj in list(self.session.identity_map.values()):
            if isinstance(obj, PendingRead) and obj.file_id in gone and (wanted is None or obj.aspect in wanted):
                self.session.expunge(obj)
        return int(getattr(result, "rowcount", 0) or 0)

    def aspects_of(self, file_id: str) -> frozenset[ReadAspect]:
        return frozenset(ReadAspect(a) for a in self.session.scalars(
            select(PendingRead.aspect).where(PendingRead.file_id == file_id)))

    def for_target(self, *, owner_email: str | None, drive_id: str | None,
                   aspects: Iterable[ReadAspect] | None = None) -> list[PendingRead]:
        """Pending rows of one owner's My Drive (``drive_id`` None) or one shared drive."""
        stmt = _target(select(PendingRead), owner_email, drive_id)
        if aspects is not None:
            stmt = stmt.where(PendingRead.aspect.in_([a.value for a in aspects]))
        return list(self.session.scalars(stmt.order_by(PendingRead.file_id, PendingRead.aspect)))

    def summary_for_target(self, *, owner_email: str | None, drive_id: str | None) -> TargetPending:
        out = TargetPending()
        by_file: dict[str, list[PendingRead]] = {}
        for row in self.for_target(owner_email=owner_email, drive_id=drive_id):
            by_file.setdefault(row.file_id, []).append(row)
        for rows in by_file.values():
            if any(r.unreadable for r in rows):
                out.unreadable += 1
            else:
                out.pending += 1
            out.reasons[rows[0].reason] += 1
        return out


_PENDING = cast(Table, PendingRead.__table__)
_CLEAR = delete(_PENDING).where(_PENDING.c.file_id.in_(bindparam("ids", expanding=True)))
_CLEAR_ASPECTS = _CLEAR.where(_PENDING.c.aspect.in_(bindparam("aspects", expanding=True)))


def pending_file_ids() -> Select[Any]:
    """Every file with a pending read (a subquery for ``IN``)."""
    return select(PendingRead.file_id).distinct()


def unreadable_file_ids() -> Select[Any]:
    return select(PendingRead.file_id).where(PendingRead.unreadable.is_(True)).distinct()


def _target(stmt: Select[Any], owner_email: str | None,
            drive_id: str | None) -> Select[Any]:
    if drive_id is not None:
        return stmt.where(PendingRead.drive_id == drive_id)
    return stmt.where(PendingRead.owner_email == (owner_email or "").lower(), PendingRead.drive_id.is_(None))


def unreadable_reads(session: Session, file_ids: Collection[str]) -> dict[str, str]:
    """Of these files, the unreadable ones, each with what could not be read and why
    (``content: download_failed (drive.files.get: 503 backendError)``)."""
    if not file_ids:
        return {}
    out: dict[str, str] = {}
    rows = session.scalars(select(PendingRead).where(PendingRead.file_id.in_(list(file_ids)),
                                                     PendingRead.unreadable.is_(True))
                           .order_by(PendingRead.file_id, PendingRead.aspect))
    for row in rows:
        text = f"{row.aspect}: {row.reason}" + (f" ({row.detail})" if row.detail else "")
        out[row.file_id] = f"{out[row.file_id]}; {text}" if row.file_id in out else text
    return out
