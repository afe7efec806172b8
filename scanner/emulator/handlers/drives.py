"""Drive v3 shared drives: drives.list (incl. useDomainAdminAccess) and drives.get."""

from __future__ import annotations

from typing import Any

from ..errors import ApiError, forbidden
from ..fields import sub_mask, wants
from ..resources import DRIVE_DEFAULT, drive_json
from .common import Ctx, Request, Response, Route, mask_for, masked, paginate, query_key, route

LIST_DEFAULT = {"kind": None, "nextPageToken": None, "drives": DRIVE_DEFAULT}


def drives_list(ctx: Ctx, req: Request) -> Response:
    ctx.need_read()
    ws = ctx.ws
    admin_mode = req.flag("useDomainAdminAccess")
    if admin_mode and not ctx.is_admin:
        raise forbidden("forbidden", "The user does not have sufficient permissions for this request.")
    page_size = req.int_param("pageSize", 10, 100)
    mask = mask_for(req, LIST_DEFAULT, "DriveList")
    q = (req.param("q") or "").strip()
    drives = []
    for d in ws.drives.values():
        role = ws.drive_role(ctx.email, d)
        if role is None and not admin_mode:
            continue
        if q.startswith("name contains "):
            needle = q[len("name contains "):].strip("'").lower()
            if needle not in d.name.lower():
                continue
        drives.append((d, role))
    page, next_token = paginate(req, query_key("drives", ctx.email, admin_mode, q), drives, page_size)
    out: dict[str, Any] = {}
    if wants(mask, "kind"):
        out["kind"] = "drive#driveList"
    if next_token and wants(mask, "nextPageToken"):
        out["nextPageToken"] = next_token
    if wants(mask, "drives"):
        dmask = sub_mask(mask, "drives")
        out["drives"] = [masked(drive_json(d, role), dmask) for d, role in page]
    return Response.json(out)


def drives_get(ctx: Ctx, req: Request, drive_id: str) -> Response:
    ctx.need_read()
    ws = ctx.ws
    d = ws.drives.get(drive_id)
    role = ws.drive_role(ctx.email, d) if d else None
    if d is not None and role is None and req.flag("useDomainAdminAccess") and ctx.is_admin:
        role = "organizer"
    if d is None or role is None:
        raise ApiError(404, "notFound", f"Shared drive not found: {drive_id}", location="driveId")
    return Response.json(masked(drive_json(d, role), mask_for(req, DRIVE_DEFAULT, "Drive")))


ROUTES: list[Route] = [
    route("GET", r"/drive/v3/drives", "drive.drives.list", drives_list),
    route("GET", r"/drive/v3/drives/(?P<drive_id>[^/]+)", "drive.drives.get", drives_get),
]
