"""State changes that Drive would record: each bumps versions, appends changes and audit events.

Callers hold ``ws.lock``. Used by the Drive handlers and by the admin/mutate API alike.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .model import ROLE_RANK, Change, DriveFile, NativeContent, Permission, Revision
from .workspace import Workspace, now_iso, permission_id_for


class MutationError(ValueError):
    """Raised for impossible mutations; carries the Google reason to answer with."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message


def _affected(ws: Workspace, f: DriveFile) -> list[DriveFile]:
    if not f.is_folder:
        return [f]
    return [f, *(ws.files[i] for i in ws.descendants(f.id))]


def _sharing_affected(ws: Workspace, f: DriveFile) -> list[DriveFile]:
    """What a sharing change on ``f`` shows in the Changes feed: ``f`` and, unless the workspace is set
    to report the folder alone (``report_descendant_changes``), everything below it."""
    return _affected(ws, f) if ws.report_descendant_changes else [f]


def _snapshot(ws: Workspace, files: list[DriveFile]) -> dict[str, frozenset[str]]:
    return {x.id: ws.corpus_keys(x) for x in files}


def _record(ws: Workspace, files: list[DriveFile], before: dict[str, frozenset[str]],
            removed: bool = False) -> None:
    ws.touch()
    time = now_iso()
    for x in files:
        ws.changes.append(Change(seq=len(ws.changes) + 1, time=time, file_id=x.id, drive_id=x.drive_id,
                                 change_type="file", before=before.get(x.id, frozenset()), removed=removed))


def _perm_json(ws: Workspace, perm: Permission) -> dict[str, Any]:
    from ..resources import permission_json  # local import: resources depends on state

    return permission_json(ws, perm)


def get_file(ws: Workspace, file_id: str) -> DriveFile:
    f = ws.files.get(file_id)
    if f is None:
        raise MutationError(404, "notFound", f"File not found: {file_id}.")
    return f


def create_file(ws: Workspace, f: DriveFile, actor: str) -> DriveFile:
    ws.add_file(f)
    _record(ws, [f], {f.id: frozenset()})
    return f


def edit_content(ws: Workspace, file_id: str, actor: str, *, text: str | None = None,
                 content: bytes | None = None, sheets: list[tuple[str, list[list[Any]]]] | None = None,
                 slides: list[str] | None = None, name: str | None = None) -> DriveFile:
    f = get_file(ws, file_id)
    before = _snapshot(ws, [f])
    if name is not None:
        f.name = name
    if f.is_native:
        native = f.native or NativeContent()
        if text is not None:
            native.text = text
        if sheets is not None:
            native.sheets = sheets
        if slides is not None:
            native.slides = slides
        f.native = native
    elif content is not None or text is not None:
        f.content = content if content is not None else (text or "").encode()
        f.lazy = None
    f.version += 1
    f.modified_time = now_iso()
    f.last_modifier = actor
    rev = Revision(id=_next_revision_id(f), modified_time=f.modified_time, modifier=actor)
    if not f.is_native and f.content is not None:
        rev.size = len(f.content)
        rev.md5 = hashlib.md5(f.content, usedforsecurity=False).hexdigest()
    elif f.revisions and f.revisions[-1].publish_auto:
        head = f.revisions[-1]
        rev.published, rev.publish_auto = head.published, True
        rev.published_outside_domain = head.published_outside_domain
    f.revisions.append(rev)
    _record(ws, [f], before)
    return f


def _next_revision_id(f: DriveFile) -> str:
    if f.is_native:
        return str(max((int(r.id) for r in f.revisions if r.id.isdigit()), default=0) + 1)
    return hashlib.sha1(f"{f.id}:{f.version}".encode(), usedforsecurity=False).hexdigest()[:26]


def set_trashed(ws: Workspace, file_id: str, actor: str, trashed: bool = True) -> DriveFile:
    f = get_file(ws, file_id)
    files = _affected(ws, f)
    before = _snapshot(ws, files)
    for x in files:
        x.trashed = trashed
    _record(ws, files, before)
    ws.new_event("file.trashed" if trashed else "file.untrashed", actor, file_id, None, None)
    return f


def delete_file(ws: Workspace, file_id: str, actor: str) -> None:
    f = get_file(ws, file_id)
    files = _affected(ws, f)
    before = _snapshot(ws, files)
    for x in files:
        ws.remove_file(x.id)
    _record(ws, files, before, removed=True)
    ws.new_event("file.deleted", actor, file_id, None, None)


def make_permission(ws: Workspace, body: dict[str, Any]) -> Permission:
    ptype = body.get("type")
    role = body.get("role")
    if ptype not in ("user", "group", "domain", "anyone"):
        raise MutationError(400, "invalidSharingRequest" if ptype else "required",
                            "Bad Request. User message: \"The permission type field is required.\"")
    if role not in ROLE_RANK:
        raise MutationError(400, "invalid", f"Invalid permission role: {role}")
    email = body.get("emailAddress")
    domain = body.get("domain")
    if ptype in ("user", "group") and not email:
        raise MutationError(400, "invalidSharingRequest", "Bad Request. User message: \"You must specify an "
                            "email address for user or group permissions.\"")
    if ptype == "domain" and not domain:
        raise MutationError(400, "invalidSharingRequest", "A domain must be specified for domain permissions.")
    discover = body.get("allowFileDiscovery") if ptype in ("domain", "anyone") else None
    if ptype in ("domain", "anyone"):
        discover = bool(discover)
    view = body.get("view")
    if view not in (None, "published"):
        raise MutationError(400, "invalid", f"Invalid value for view: {view}")
    if view is not None and role != "reader":
        raise MutationError(400, "invalidSharingRequest", "Permissions in the published view must have the "
                                                          "reader role.")
    expiration = body.get("expirationTime")
    if expiration:
        check_expiration(ptype, str(expiration))
    email = email.lower() if email else None
    return Permission(id=permission_id_for(ptype, email, domain, discover, view), type=ptype, role=role,
                      email=email, domain=domain, allow_file_discovery=discover,
                      display_name=ws.display_name(email) if email else None,
                      expiration_time=expiration, view=view)


#: Drive refuses expiry dates more than a year ahead.
MAX_EXPIRATION_DAYS = 366


def check_expiration(ptype: str, value: str) -> None:
    """Drive's rules for ``expirationTime``: user and group permissions only, in the future, at most a
    year ahead (RFC 3339)."""
    from datetime import UTC, datetime, timedelta

    if ptype not in ("user", "group"):
        raise MutationError(403, "cannotSetExpiration", "Expiration dates cannot be set on this item.")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MutationError(400, "invalid", f"Invalid value for expirationTime: {value}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = datetime.now(UTC)
    if when <= now:
        raise MutationError(400, "expirationDatesMustBeInTheFuture", "Expiration dates must be in the future.")
    if when > now + timedelta(days=MAX_EXPIRATION_DAYS):
        raise MutationError(400, "expirationDateTooFarInFuture",
                            "Expiration dates cannot be more than a year in the future.")


def add_permission(ws: Workspace, file_id: str, actor: str, perm: Permission) -> Permission:
    """Add (or, for an existing principal, replace) a direct permission."""
    f = get_file(ws, file_id)
    if perm.view is not None and not f.is_form:
        raise MutationError(400, "invalidSharingRequest", "The published view is only supported for forms.")
    files = _sharing_affected(ws, f)
    before_snap = _snapshot(ws, files)
    old = next((p for p in f.permissions if p.id == perm.id), None)
    if old is not None:
        f.permissions.remove(old)
    f.permissions.append(perm)
    _record(ws, files, before_snap)
    ws.new_event("permission.updated" if old else "permission.created", actor, file_id,
                 _perm_json(ws, old) if old else None, _perm_json(ws, perm))
    return perm


def _direct_permission(f: DriveFile, perm_id: str) -> Permission:
    perm = next((p for p in f.permissions if p.id == perm_id), None)
    if perm is None:
        raise MutationError(404, "notFound", f"Permission not found: {perm_id}.")
    return perm


def update_permission(ws: Workspace, file_id: str, perm_id: str, actor: str, *, role: str | None = None,
                      expiration_time: str | None = None, remove_expiration: bool = False) -> Permission:
    f = get_file(ws, file_id)
    perm = _direct_permission(f, perm_id)
    files = _sharing_affected(ws, f)
    before_snap = _snapshot(ws, files)
    before = _perm_json(ws, perm)
    if expiration_time is not None:
        check_expiration(perm.type, expiration_time)
    if role is not None:
        if role not in ROLE_RANK:
            raise MutationError(400, "invalid", f"Invalid permission role: {role}")
        perm.role = role
    if expiration_time is not None:
        perm.expiration_time = expiration_time
    if remove_expiration:
        perm.expiration_time = None
    _record(ws, files, before_snap)
    ws.new_event("permission.updated", actor, file_id, before, _perm_json(ws, perm))
    return perm


def delete_permission(ws: Workspace, file_id: str, perm_id: str, actor: str) -> Permission:
    f = get_file(ws, file_id)
    perm = _direct_permission(f, perm_id)
    files = _sharing_affected(ws, f)
    before_snap = _snapshot(ws, files)
    f.permissions.remove(perm)
    _record(ws, files, before_snap)
    ws.new_event("permission.deleted", actor, file_id, _perm_json(ws, perm), None)
    return perm


def set_limited_access(ws: Workspace, file_id: str, actor: str, disabled: bool) -> DriveFile:
    """Turn a folder's limited access on (``inheritedPermissionsDisabled=true``) or off."""
    f = get_file(ws, file_id)
    if not f.is_folder:
        raise MutationError(400, "invalid", "Limited access is only available for folders.")
    if f.inherited_permissions_disabled == disabled:
        return f
    files = _sharing_affected(ws, f)
    before_snap = _snapshot(ws, files)
    f.inherited_permissions_disabled = disabled
    _record(ws, files, before_snap)
    ws.new_event("file.inheritedPermissionsDisabled", actor, file_id, {"inheritedPermissionsDisabled": not disabled},
                 {"inheritedPermissionsDisabled": disabled})
    return f


def transfer_ownership(ws: Workspace, file_id: str, new_owner: str, actor: str) -> None:
    f = get_file(ws, file_id)
    before_snap = _snapshot(ws, [f])
    old_owner = f.owner
    new_owner = new_owner.lower()
    f.permissions = [p for p in f.permissions if p.email != new_owner]
    if old_owner:
        f.permissions.append(Permission(id=permission_id_for("user", old_owner), type="user", role="writer",
                                        email=old_owner, display_name=ws.display_name(old_owner)))
    f.owner = new_owner
    _record(ws, [f], before_snap)
    ws.new_event("ownership.transferred", actor, file_id, {"owner": old_owner}, {"owner": new_owner})


def set_published(ws: Workspace, file_id: str, revision_id: str, actor: str, *, published: bool | None = None,
                  publish_auto: bool | None = None, published_outside_domain: bool | None = None) -> Revision:
    f = get_file(ws, file_id)
    rev = next((r for r in f.revisions if r.id == revision_id), None)
    if rev is None:
        raise MutationError(404, "notFound", f"Revision not found: {revision_id}.")
    before = {"published": rev.published, "publishAuto": rev.publish_auto,
              "publishedOutsideDomain": rev.published_outside_domain}
    if published is not None:
        rev.published = published
        if not published:
            rev.publish_auto = False
            rev.published_outside_domain = False
    if publish_auto is not None:
        rev.publish_auto = publish_auto
    if published_outside_domain is not None:
        rev.published_outside_domain = published_outside_domain
    after = {"published": rev.published, "publishAuto": rev.publish_auto,
             "publishedOutsideDomain": rev.published_outside_domain}
    _record(ws, [f], _snapshot(ws, [f]))
    kind = "revision.unpublished" if before["published"] and not rev.published else (
        "revision.published" if rev.published and not before["published"] else "revision.updated")
    ws.new_event(kind, actor, file_id, {"revisionId": rev.id, **before}, {"revisionId": rev.id, **after})
    return rev


def record_file_change(ws: Workspace, file_id: str) -> DriveFile:
    """A change to a file's metadata that does not move its access (labels): its version moves and the
    Changes feed reports it."""
    f = get_file(ws, file_id)
    before = _snapshot(ws, [f])
    f.version += 1
    _record(ws, [f], before)
    return f
