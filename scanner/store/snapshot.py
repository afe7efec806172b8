"""Persisting the crawl: crawl targets, per-run coverage, file and permission snapshots.

Everything here runs inside the caller's transaction (one per files.list / changes.list page,
together with the coverage cursor), so a crash resumes from the last committed page.
No document text is ever stored: only metadata and permissions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from scanner.core.models import GOOGLE, DriveFile, Exposure, FileExposure, ItemKind, Permission
from scanner.core.publish import StoredPublish
from scanner.store.db import in_chunks
from scanner.store.models import CrawlTarget, DriveFileRow, PermissionRow, ScanCoverage, ScanRun


@dataclass(frozen=True)
class FileChange:
    """What one upsert did to a file's snapshot."""

    exposure: FileExposure
    is_new: bool
    #: Exposure classes or the exposed permissions differ from the previous snapshot.
    exposure_changed: bool
    #: The content revision differs (or the file is new): content may need analysing again.
    revision_changed: bool


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
    Written in bulk (SQLAlchemy Core: one ``INSERT … ON CONFLICT DO UPDATE`` executemany for the files,
    one for the permissions, one DELETE for permissions gone) on SQLite and PostgreSQL alike: no ORM
    object is built per file or per permission. These tables carry no audit state events.
    """
    if not exposures:
        return []
    session.flush()
    latest: dict[str, FileExposure] = {}
    for exposure in exposures:  # a page may list a file twice: the last one wins, as row by row did
        latest[exposure.file.id] = exposure
    ids = list(latest)
    files_t, perms_t = _table(DriveFileRow), _table(PermissionRow)
    before: dict[str, Any] = {}
    stored_perms: dict[str, dict[str, str]] = {}
    for chunk in in_chunks(ids):
        for row in session.execute(select(
                files_t.c.id, files_t.c.exposure_classes, files_t.c.inherited_permissions_disabled,
                files_t.c.md5_checksum, files_t.c.head_revision_id, files_t.c.modified_time,
                files_t.c.exposed_since).where(files_t.c.id.in_(chunk))):
            before[row.id] = row
        for file_id, pid, exposure in session.execute(select(
                perms_t.c.file_id, perms_t.c.permission_id, perms_t.c.exposure).where(perms_t.c.file_id.in_(chunk))):
            stored_perms.setdefault(file_id, {})[pid] = exposure

    changes: list[FileChange] = []
    seen: dict[str, tuple[bool, bool, bool]] = {}
    file_rows: list[dict[str, Any]] = []
    perm_rows: list[dict[str, Any]] = []
    gone: list[dict[str, Any]] = []
    for file_id, exposure in latest.items():
        f = exposure.file
        old = before.get(file_id)
        classes = sorted(c.value for c in exposure.classes)
        exposed_by_id = {e.permission.id: e.exposure for e in exposure.exposed}
        new_key = _exposure_key(classes, ((pid, ex.value) for pid, ex in exposed_by_id.items()),
                                limited=f.inherited_permissions_disabled)
        revision = (f.md5_checksum, f.head_revision_id, f.modified_time)
        external = exposure.widest.is_external
        if old is None:
            flags = (True, True, True)
            exposed_since = now if external else None
        else:
            old_perms = stored_perms.get(file_id, {})
            old_key = _exposure_key(old.exposure_classes or [],
                                    ((pid, ex) for pid, ex in old_perms.items() if ex != Exposure.INTERNAL.value),
                                    limited=bool(old.inherited_permissions_disabled))
            flags = (False, old_key != new_key, (old.md5_checksum, old.head_revision_id, old.modified_time) != revision)
            exposed_since = (old.exposed_since or now) if external else None
        seen[file_id] = flags
        file_rows.append({
            "id": f.id, "provider": f.provider, "name": f.name, "mime_type": f.mime_type, "item_kind": f.kind.value,
            "owner_email": f.owner_email,
            "drive_id": f.drive_id, "parents": list(f.parents), "web_view_link": f.web_view_link,
            "created_time": f.created_time, "modified_time": f.modified_time, "md5_checksum": f.md5_checksum,
            "head_revision_id": f.head_revision_id, "size": f.size, "trashed": f.trashed, "published": f.published,
            "inherited_permissions_disabled": f.inherited_permissions_disabled, "labels": list(f.labels),
            "exposure": exposure.widest.value, "exposure_classes": classes, "exposed_since": exposed_since,
            "last_seen": now, "last_run_id": run_id, "removed_at": None,
            "first_seen": now, "content_status": "pending",
        })
        wanted = {p.id: p for p in f.permissions}
        gone.extend({"f": file_id, "p": pid} for pid in stored_perms.get(file_id, {}) if pid not in wanted)
        for pid, perm in wanted.items():
            perm_rows.append({
                "file_id": file_id, "permission_id": pid, "type": perm.type, "role": perm.role,
                "email_address": perm.email_address, "domain": perm.domain,
                "allow_file_discovery": perm.allow_file_discovery, "expiration_time": perm.expiration_time,
                "inherited": perm.inherited, "inherited_from": perm.inherited_from,
                "inherited_only": perm.inherited_only, "deleted": perm.deleted, "view": perm.view,
                "exposure": exposed_by_id.get(pid, Exposure.INTERNAL).value, "raw": dict(perm.raw),
                "first_seen": now, "last_seen": now,
            })
    upsert = _insert_for(session)
    stmt = upsert(files_t)
    keep_on_update = {"id", "first_seen", "content_status"}
    session.execute(stmt.on_conflict_do_update(
        index_elements=[files_t.c.id],
        set_={k: stmt.excluded[k] for k in file_rows[0] if k not in keep_on_update}), file_rows)
    if gone:
        session.execute(delete(perms_t).where(perms_t.c.file_id == bindparam("f"),
                                              perms_t.c.permission_id == bindparam("p")), gone)
    if perm_rows:
        pstmt = upsert(perms_t)
        session.execute(pstmt.on_conflict_do_update(
            index_elements=[perms_t.c.file_id, perms_t.c.permission_id],
            set_={k: pstmt.excluded[k] for k in perm_rows[0] if k not in {"file_id", "permission_id", "first_seen"}}),
            perm_rows)
    _expire_loaded(session, set(ids))
    for exposure in exposures:
        is_new, exposure_changed, revision_changed = seen[exposure.file.id]
        changes.append(FileChange(exposure=exposure, is_new=is_new, exposure_changed=exposure_changed,
                                  revision_changed=revision_changed))
        seen[exposure.file.id] = (False, False, False)  # a repeat in the page changed nothing more
    return changes


def _table(model: type[DriveFileRow] | type[PermissionRow]) -> Table:
    return cast(Table, model.__table__)


def _insert_for(session: Session) -> Callable[[Table], Any]:
    """The dialect's INSERT with ``on_conflict_do_update`` (SQLite and PostgreSQL spell it the same)."""
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert
    return sqlite_insert


def _expire_loaded(session: Session, file_ids: set[str]) -> None:
    """ORM objects of these files a caller loaded earlier in the session would be stale now."""
    for obj in list(session.identity_map.values()):
        if (isinstance(obj, DriveFileRow) and obj.id in file_ids) or (
                isinstance(obj, PermissionRow) and obj.file_id in file_ids):
            session.expire(obj)


def row_to_file(row: DriveFileRow) -> DriveFile:
    """The stored snapshot as a DriveFile (permissions from their raw JSON)."""
    return DriveFile(
        id=row.id, name=row.name, mime_type=row.mime_type, owner_email=row.owner_email, drive_id=row.drive_id,
        parents=tuple(row.parents or ()), modified_time=row.modified_time, created_time=row.created_time,
        md5_checksum=row.md5_checksum, head_revision_id=row.head_revision_id, size=row.size,
        web_view_link=row.web_view_link, trashed=row.trashed, published=row.published,
        inherited_permissions_disabled=bool(row.inherited_permissions_disabled),
        labels=tuple(row.labels or ()), provider=row.provider or GOOGLE, kind=ItemKind(row.item_kind or "file"),
        permissions=tuple(stored_permission(p) for p in row.permissions),
    )


def stored_permission(p: PermissionRow) -> Permission:
    """A stored grant, from its columns (``raw``: the provider's JSON, kept for restore and the audit trail)."""
    return Permission(id=p.permission_id, type=p.type, role=p.role, email_address=p.email_address, domain=p.domain,
                      allow_file_discovery=p.allow_file_discovery, expiration_time=p.expiration_time,
                      deleted=bool(p.deleted), inherited=bool(p.inherited), inherited_from=p.inherited_from,
                      view=p.view or None, all_inherited=bool(p.inherited_only), raw=dict(p.raw or {}))


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
    for chunk in in_chunks(list(file_ids)):
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


# --------------------------------------------------------------------------- publish checks
def stored_publish(session: Session, file_ids: Sequence[str]) -> dict[str, StoredPublish]:
    """What the snapshot knows of these files' publish state (files we have not stored are absent)."""
    out: dict[str, StoredPublish] = {}
    for chunk in in_chunks(list(file_ids)):
        rows = session.execute(select(DriveFileRow.id, DriveFileRow.published, DriveFileRow.publish_checked_at,
                                      DriveFileRow.publish_checked_revision).where(DriveFileRow.id.in_(chunk)))
        for file_id, published, checked_at, revision in rows:
            out[file_id] = StoredPublish(published=bool(published), checked_at=checked_at,
                                         checked_revision=revision)
    return out


def mark_publish_checked(session: Session, checked: Mapping[str, str], now: dt.datetime) -> None:
    """Record that these files' publish state was read now, at the given revision markers (one executemany)."""
    if not checked:
        return
    session.flush()  # the rows an upsert of this transaction added exist before they are updated
    table = cast(Table, DriveFileRow.__table__)
    session.connection().execute(
        update(table).where(table.c.id == bindparam("file_id"))
        .values(publish_checked_at=now, publish_checked_revision=bindparam("marker")),
        [{"file_id": k, "marker": v} for k, v in checked.items()],
    )
