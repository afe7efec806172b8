"""Persisting the crawl: crawl targets, per-run coverage, file and permission snapshots.

Everything here runs inside the caller's transaction (one per files.list / changes.list page,
together with the coverage cursor), so a crash resumes from the last committed page.
No document text is ever stored: only metadata and permissions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from scanner.core.models import DriveFile, Exposure, FileExposure, Permission
from scanner.store.models import CrawlTarget, DriveFileRow, PermissionRow, ScanCoverage, ScanRun

#: SQLite's default host-parameter limit is 32766; stay well below it per IN clause.
_IN_CHUNK = 900


@dataclass(frozen=True)
class FileChange:
    """What one upsert did to a file's snapshot."""

    exposure: FileExposure
    is_new: bool
    #: Exposure classes or the exposed permissions differ from the previous snapshot.
    exposure_changed: bool
    #: The content revision differs (or the file is new): content may need analysing again.
    revision_changed: bool


def _chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield ids[start : start + _IN_CHUNK]


def _exposure_key(classes: Iterable[str], perms: Iterable[tuple[str, str]], *,
                  limited: bool) -> tuple[tuple[str, ...], tuple[Any, ...], bool]:
    """What makes a file's exposure: its classes, its exposing permissions, and (folders) limited access."""
    return tuple(sorted(classes)), tuple(sorted(perms)), limited


def upsert_files(
    session: Session,
    exposures: Sequence[FileExposure],
    *,
    run_id: int | None,
    now: dt.datetime,
) -> list[FileChange]:
    """Insert or update files and their permissions; returns what changed, in input order.

    Each permission is stored with the class it exposes the file to, ``internal`` when none.
    """
    ids = [e.file.id for e in exposures]
    existing: dict[str, DriveFileRow] = {}
    for chunk in _chunks(ids):
        rows = session.scalars(
            select(DriveFileRow).where(DriveFileRow.id.in_(chunk)).options(selectinload(DriveFileRow.permissions))
        )
        existing.update({r.id: r for r in rows})
    changes = []
    for exposure in exposures:
        f = exposure.file
        row = existing.get(f.id)
        is_new = row is None
        if row is None:
            row = DriveFileRow(id=f.id, first_seen=now, content_status="pending", permissions=[])
            session.add(row)
            existing[f.id] = row
            old_key = None
            old_revision = None
        else:
            old_key = _exposure_key(
                row.exposure_classes or [],
                ((p.permission_id, p.exposure) for p in row.permissions if p.exposure != Exposure.INTERNAL.value),
                limited=bool(row.inherited_permissions_disabled),
            )
            old_revision = (row.md5_checksum, row.head_revision_id, row.modified_time)
        classes = sorted(c.value for c in exposure.classes)
        exposed_by_id = {e.permission.id: e.exposure for e in exposure.exposed}
        new_key = _exposure_key(classes, ((pid, ex.value) for pid, ex in exposed_by_id.items()),
                                limited=f.inherited_permissions_disabled)
        _fill_row(row, f, exposure, classes, run_id=run_id, now=now)
        _sync_permissions(session, row, f.permissions, exposed_by_id, now)
        revision = (f.md5_checksum, f.head_revision_id, f.modified_time)
        changes.append(FileChange(
            exposure=exposure,
            is_new=is_new,
            exposure_changed=is_new or old_key != new_key,
            revision_changed=is_new or old_revision != revision,
        ))
    session.flush()
    return changes


def _fill_row(row: DriveFileRow, f: DriveFile, exposure: FileExposure, classes: list[str], *,
              run_id: int | None, now: dt.datetime) -> None:
    row.name = f.name
    row.mime_type = f.mime_type
    row.owner_email = f.owner_email
    row.drive_id = f.drive_id
    row.parents = list(f.parents)
    row.web_view_link = f.web_view_link
    row.created_time = f.created_time
    row.modified_time = f.modified_time
    row.md5_checksum = f.md5_checksum
    row.head_revision_id = f.head_revision_id
    row.size = f.size
    row.trashed = f.trashed
    row.published = f.published
    row.inherited_permissions_disabled = f.inherited_permissions_disabled
    row.exposure = exposure.widest.value
    row.exposure_classes = classes
    external = exposure.widest.is_external
    if external and row.exposed_since is None:
        row.exposed_since = now
    elif not external:
        row.exposed_since = None
    row.last_seen = now
    row.last_run_id = run_id
    row.removed_at = None


def _sync_permissions(
    session: Session,
    row: DriveFileRow,
    permissions: Sequence[Permission],
    exposed_by_id: dict[str, Exposure],
    now: dt.datetime,
) -> None:
    current = {p.permission_id: p for p in row.permissions}
    wanted = {p.id: p for p in permissions}
    for pid, prow in current.items():
        if pid not in wanted:
            row.permissions.remove(prow)
            session.delete(prow)
    for pid, perm in wanted.items():
        found = current.get(pid)
        if found is None:
            prow = PermissionRow(permission_id=pid, first_seen=now)
            row.permissions.append(prow)
        else:
            prow = found
        exposure = exposed_by_id.get(pid, Exposure.INTERNAL)
        prow.type = perm.type
        prow.role = perm.role
        prow.email_address = perm.email_address
        prow.domain = perm.domain
        prow.allow_file_discovery = perm.allow_file_discovery
        prow.expiration_time = perm.expiration_time
        prow.inherited = perm.inherited
        prow.inherited_from = perm.inherited_from
        prow.exposure = exposure.value
        prow.raw = dict(perm.raw)
        prow.last_seen = now


def row_to_file(row: DriveFileRow) -> DriveFile:
    """The stored snapshot as a DriveFile (permissions from their raw JSON)."""
    return DriveFile(
        id=row.id, name=row.name, mime_type=row.mime_type, owner_email=row.owner_email, drive_id=row.drive_id,
        parents=tuple(row.parents or ()), modified_time=row.modified_time, created_time=row.created_time,
        md5_checksum=row.md5_checksum, head_revision_id=row.head_revision_id, size=row.size,
        web_view_link=row.web_view_link, trashed=row.trashed, published=row.published,
        inherited_permissions_disabled=bool(row.inherited_permissions_disabled),
        permissions=tuple(Permission.from_api(p.raw or {"id": p.permission_id, "type": p.type, "role": p.role})
                          for p in row.permissions),
    )


@dataclass(frozen=True)
class RemovedFile:
    """A file whose snapshot was just marked removed, with the exposure it had before."""

    file: DriveFile
    previous_exposure: str


def _remove(row: DriveFileRow, *, run_id: int | None, now: dt.datetime) -> RemovedFile:
    removed = RemovedFile(file=row_to_file(row), previous_exposure=row.exposure)
    row.removed_at = now
    row.exposure = Exposure.INTERNAL.value
    row.exposure_classes = []
    row.exposed_since = None
    row.last_run_id = run_id
    return removed


def _owned_by(stmt: Select[DriveFileRow], owner_email: str | None,
              drive_id: str | None) -> Select[DriveFileRow]:
    """Narrow to one shared drive's files, or else to one owner's My Drive files."""
    if drive_id is not None:
        return stmt.where(DriveFileRow.drive_id == drive_id)
    if owner_email is not None:
        return stmt.where(DriveFileRow.owner_email == owner_email, DriveFileRow.drive_id.is_(None))
    return stmt


def mark_removed(
    session: Session, file_ids: Sequence[str], *, run_id: int | None, now: dt.datetime,
    owner_email: str | None = None, drive_id: str | None = None,
) -> list[RemovedFile]:
    """Mark files gone (deleted, trashed, or no longer visible). Only rows that belong to the
    given owner (My Drive) or shared drive are touched; returns the rows newly removed."""
    out = []
    for chunk in _chunks(list(file_ids)):
        stmt = _owned_by(select(DriveFileRow).where(DriveFileRow.id.in_(chunk), DriveFileRow.removed_at.is_(None)),
                         owner_email, drive_id)
        for row in session.scalars(stmt.options(selectinload(DriveFileRow.permissions))):
            out.append(_remove(row, run_id=run_id, now=now))
    session.flush()
    return out


def sweep_unseen(
    session: Session, *, seen_since: dt.datetime, run_id: int | None, now: dt.datetime,
    owner_email: str | None = None, drive_id: str | None = None,
) -> list[RemovedFile]:
    """After a complete full crawl of one owner or shared drive: every file of theirs not seen
    since the crawl began is gone."""
    if owner_email is None and drive_id is None:
        raise ValueError("sweep_unseen needs an owner or a shared drive")
    stmt = _owned_by(select(DriveFileRow).where(DriveFileRow.removed_at.is_(None), DriveFileRow.last_seen < seen_since),
                     owner_email, drive_id)
    out = [_remove(row, run_id=run_id, now=now)
           for row in session.scalars(stmt.options(selectinload(DriveFileRow.permissions)))]
    session.flush()
    return out


# --------------------------------------------------------------------------- targets and coverage
def upsert_target(session: Session, kind: str, key: str, name: str = "", *, active: bool = True,
                  skip_reason: str | None = None) -> CrawlTarget:
    target = session.scalar(select(CrawlTarget).where(CrawlTarget.kind == kind, CrawlTarget.key == key))
    if target is None:
        target = CrawlTarget(kind=kind, key=key, name=name, active=active, skip_reason=skip_reason)
        session.add(target)
    else:
        target.name = name or target.name
        target.active = active
        target.skip_reason = skip_reason
    session.flush()
    return target


def coverage_for(session: Session, run_id: int, target_id: int) -> ScanCoverage:
    cov = session.scalar(
        select(ScanCoverage).where(ScanCoverage.run_id == run_id, ScanCoverage.target_id == target_id)
    )
    if cov is None:
        cov = ScanCoverage(run_id=run_id, target_id=target_id, status="pending", reasons={}, files_seen=0,
                           files_exposed=0, files_analysed=0, files_skipped=0, files_failed=0, api_calls=0)
        session.add(cov)
        session.flush()
    return cov


def run_coverage(session: Session, run_id: int) -> list[tuple[ScanCoverage, CrawlTarget]]:
    rows = session.execute(
        select(ScanCoverage, CrawlTarget)
        .join(CrawlTarget, ScanCoverage.target_id == CrawlTarget.id)
        .where(ScanCoverage.run_id == run_id)
        .order_by(CrawlTarget.kind.desc(), CrawlTarget.key)
    )
    return [(c, t) for c, t in rows]


def coverage_mode(reasons: dict[str, Any] | None) -> str:
    """How a target was crawled in a run: full | incremental | partial, or ``resumed`` when the
    run carried the result over from the interrupted run it resumed."""
    reasons = reasons or {}
    return "resumed" if reasons.get("carried") else str(reasons.get("mode", ""))


def heartbeat(session: Session, run_id: int, now: dt.datetime) -> None:
    run = session.get(ScanRun, run_id)
    if run is not None:
        run.heartbeat_at = now


#: Exposure classes of grants to people outside the organisation (users, groups, domains).
EXTERNAL_GRANTS = (Exposure.EXTERNAL_USER.value, Exposure.EXTERNAL_GROUP.value, Exposure.EXTERNAL_DOMAIN.value)


def external_grant_domains(session: Session) -> dict[str, int]:
    """How many stored grants of live files go to each external domain (a user's or group's email
    domain, or the domain of a domain grant)."""
    rows = session.execute(select(PermissionRow.email_address, PermissionRow.domain)
                           .join(DriveFileRow, DriveFileRow.id == PermissionRow.file_id)
                           .where(PermissionRow.exposure.in_(EXTERNAL_GRANTS), DriveFileRow.removed_at.is_(None)))
    out: dict[str, int] = {}
    for email, domain in rows:
        name = (domain or (email or "").rpartition("@")[2]).strip().lower().rstrip(".")
        if name:
            out[name] = out.get(name, 0) + 1
    return out
