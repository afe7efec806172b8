"""Drive v3 permissions: list/get/create/update/delete, incl. shared-drive members and inheritance."""

from __future__ import annotations

from typing import Any

from ..errors import ApiError, forbidden, invalid, not_found
from ..fields import sub_mask, wants
from ..resources import PERMISSION_DEFAULT, effective_json
from ..state import mutate
from ..state.model import DriveFile, Permission
from ..state.workspace import EffectivePermission
from .common import (
    Ctx,
    Request,
    Response,
    Route,
    can_share,
    mask_for,
    masked,
    paginate,
    query_key,
    route,
    visible_file,
)

LIST_DEFAULT = {"kind": None, "nextPageToken": None, "permissions": PERMISSION_DEFAULT}
_NO_SHARE = "The user does not have sufficient permissions for this file."


def _target(ctx: Ctx, req: Request, file_id: str) -> tuple[DriveFile | None, str, list[EffectivePermission]]:
    """(file or None for a shared drive, caller role, effective permissions)."""
    ws = ctx.ws
    drive = ws.drives.get(file_id)
    if drive is not None:
        if not (req.flag("supportsAllDrives") or req.flag("supportsTeamDrives")):
            raise not_found(file_id)
        role = ws.drive_role(ctx.email, drive)
        if role is None and req.flag("useDomainAdminAccess") and ctx.is_admin:
            role = "organizer"
        if role is None:
            raise not_found(file_id)
        from ..state.workspace import PermissionDetail

        eps = [EffectivePermission(perm=m, role=m.role,
                                   details=[PermissionDetail("member", m.role, False, None)])
               for m in drive.members]
        return None, role, eps
    f, role = visible_file(ctx, req, file_id)
    return f, role, ws.effective_permissions(f) + ws.view_permissions(f)


def permissions_list(ctx: Ctx, req: Request, file_id: str) -> Response:
    ctx.need_read()
    view = req.param("includePermissionsForView")
    if view not in (None, "", "published"):
        raise invalid(f"Invalid value for includePermissionsForView: {view}", location="includePermissionsForView")
    f, role, eps = _target(ctx, req, file_id)
    if view != "published":  # responder permissions of forms are listed only when asked for
        eps = [ep for ep in eps if ep.perm.view is None]
    if f is not None and f.drive_id is None and role not in ("owner", "writer"):
        raise forbidden("insufficientFilePermissions", _NO_SHARE)
    # unspecified: 100 on shared drives, the whole list elsewhere; at most 100 a page (discovery doc)
    in_drive = f is None or f.drive_id is not None
    page_size = req.int_param("pageSize", 100 if in_drive else max(len(eps), 1), 100)
    mask = mask_for(req, LIST_DEFAULT, "PermissionList")
    page, next_token = paginate(req, query_key("perm", ctx.email, file_id), eps, page_size)
    out: dict[str, Any] = {}
    if wants(mask, "kind"):
        out["kind"] = "drive#permissionList"
    if next_token and wants(mask, "nextPageToken"):
        out["nextPageToken"] = next_token
    if wants(mask, "permissions"):
        pmask = sub_mask(mask, "permissions")
        out["permissions"] = [masked(effective_json(ctx.ws, f, ep), pmask) for ep in page]
    return Response.json(out)


def _find(eps: list[EffectivePermission], perm_id: str) -> EffectivePermission:
    for ep in eps:
        if ep.perm.id == perm_id:
            return ep
    raise ApiError(404, "notFound", f"Permission not found: {perm_id}.", location="permissionId")


def permissions_get(ctx: Ctx, req: Request, file_id: str, perm_id: str) -> Response:
    ctx.need_read()
    f, _, eps = _target(ctx, req, file_id)
    ep = _find(eps, perm_id)
    return Response.json(masked(effective_json(ctx.ws, f, ep), mask_for(req, PERMISSION_DEFAULT, "Permission")))


def permissions_create(ctx: Ctx, req: Request, file_id: str) -> Response:
    if req.param("emailMessage") and req.param("sendNotificationEmail") == "false":
        raise invalid("Specifying a message is only allowed when sending notification emails.",
                      location="emailMessage")
    ctx.need_write()
    f, role, _ = _target(ctx, req, file_id)
    body = req.json()
    ws = ctx.ws
    perm = mutate.make_permission(ws, body)
    if f is None:  # adding a shared-drive member
        if role != "organizer":
            raise forbidden("insufficientFilePermissions", _NO_SHARE)
        drive = ws.drives[file_id]
        drive.members = [m for m in drive.members if m.id != perm.id] + [perm]
        ws.touch()
        ws.new_event("member.created", ctx.email, file_id, None, effective_json(ws, None, EffectivePermission(
            perm, perm.role, [])))
        return Response.json(masked(effective_json(ws, None, EffectivePermission(perm, perm.role, [])),
                                    mask_for(req, PERMISSION_DEFAULT, "Permission")))
    if not can_share(f, role):
        raise forbidden("insufficientFilePermissions", _NO_SHARE)
    if perm.role == "owner":
        if not req.flag("transferOwnership"):
            raise forbidden("forbidden", "The transferOwnership parameter must be enabled when the permission "
                                         "role is 'owner'.")
        if role != "owner" or f.drive_id:
            raise forbidden("insufficientFilePermissions", _NO_SHARE)
        if perm.email not in ws.users:
            raise forbidden("consentRequiredForOwnershipTransfer",
                            "Consent is required to transfer ownership of a file to another user.")
        mutate.transfer_ownership(ws, f.id, perm.email or "", ctx.email)
    else:
        if perm.type == "user" and perm.email == f.owner:
            raise forbidden("invalidSharingRequest", "The owner of a file already has access.")
        mutate.add_permission(ws, f.id, ctx.email, perm)
    ep = _find(ws.effective_permissions(f) + ws.view_permissions(f), perm.id)
    return Response.json(masked(effective_json(ws, f, ep), mask_for(req, PERMISSION_DEFAULT, "Permission")))


def _check_modifiable(f: DriveFile, ep: EffectivePermission, perm_id: str) -> Permission:
    if ep.owner:
        raise forbidden("cannotRemoveOwner", "The owner of a file cannot be removed.")
    direct = next((p for p in f.permissions if p.id == perm_id), None)
    if direct is None:
        reason = "cannotModifyInheritedTeamDrivePermission"
        raise forbidden(reason, "The permission cannot be modified because it is inherited from a parent "
                                "item. Modify it on the item it is inherited from.")
    return direct


def permissions_update(ctx: Ctx, req: Request, file_id: str, perm_id: str) -> Response:
    ctx.need_write()
    f, role, eps = _target(ctx, req, file_id)
    ws = ctx.ws
    body = req.json()
    new_role = body.get("role")
    if f is None:
        if role != "organizer":
            raise forbidden("insufficientFilePermissions", _NO_SHARE)
        member = _find(eps, perm_id).perm
        if new_role:
            member.role = new_role
        ws.touch()
        return Response.json(masked(effective_json(ws, None, EffectivePermission(member, member.role, [])),
                                    mask_for(req, PERMISSION_DEFAULT, "Permission")))
    if not can_share(f, role):
        raise forbidden("insufficientFilePermissions", _NO_SHARE)
    ep = _find(eps, perm_id)
    if new_role == "owner":
        if not req.flag("transferOwnership"):
            raise forbidden("forbidden", "The transferOwnership parameter must be enabled when the permission "
                                         "role is 'owner'.")
        if role != "owner":
            raise forbidden("insufficientFilePermissions", _NO_SHARE)
        mutate.transfer_ownership(ws, f.id, ep.perm.email or "", ctx.email)
    else:
        if ep.owner:
            raise forbidden("invalidOwnershipTransfer" if new_role else "cannotRemoveOwner",
                            "The owner's role cannot be changed; transfer ownership first.")
        _check_modifiable(f, ep, perm_id)
        mutate.update_permission(ws, f.id, perm_id, ctx.email, role=new_role,
                                 expiration_time=body.get("expirationTime"),
                                 remove_expiration=req.flag("removeExpiration"))
    ep = _find(ws.effective_permissions(f) + ws.view_permissions(f), perm_id)
    return Response.json(masked(effective_json(ws, f, ep), mask_for(req, PERMISSION_DEFAULT, "Permission")))


def permissions_delete(ctx: Ctx, req: Request, file_id: str, perm_id: str) -> Response:
    ctx.need_write()
    f, role, eps = _target(ctx, req, file_id)
    ws = ctx.ws
    if f is None:
        if role != "organizer":
            raise forbidden("insufficientFilePermissions", _NO_SHARE)
        drive = ws.drives[file_id]
        member = _find(eps, perm_id).perm
        drive.members = [m for m in drive.members if m.id != perm_id]
        ws.touch()
        ws.new_event("member.deleted", ctx.email, file_id,
                     effective_json(ws, None, EffectivePermission(member, member.role, [])), None)
        return Response.empty()
    if not can_share(f, role):
        raise forbidden("insufficientFilePermissions", _NO_SHARE)
    ep = _find(eps, perm_id)
    _check_modifiable(f, ep, perm_id)
    mutate.delete_permission(ws, f.id, perm_id, ctx.email)
    return Response.empty()


_P = r"/drive/v3/files/(?P<file_id>[^/]+)/permissions"
ROUTES: list[Route] = [
    route("GET", _P, "drive.permissions.list", permissions_list),
    route("POST", _P, "drive.permissions.create", permissions_create),
    route("GET", _P + r"/(?P<perm_id>[^/]+)", "drive.permissions.get", permissions_get),
    route("PATCH", _P + r"/(?P<perm_id>[^/]+)", "drive.permissions.update", permissions_update),
    route("DELETE", _P + r"/(?P<perm_id>[^/]+)", "drive.permissions.delete", permissions_delete),
]
