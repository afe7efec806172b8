"""Drive v3 changes: getStartPageToken and list, per user and per shared drive."""

from __future__ import annotations

from typing import Any

from ..content import binary_content
from ..errors import ApiError, invalid
from ..fields import sub_mask, wants
from ..resources import FILE_DEFAULT, FileRenderer
from .common import Ctx, Request, Response, Route, mask_for, route
from .labels import include_labels

CHANGE_DEFAULT = {"kind": None, "changeType": None, "time": None, "removed": None, "fileId": None,
                  "file": FILE_DEFAULT, "driveId": None, "teamDriveId": None}
LIST_DEFAULT = {"kind": None, "nextPageToken": None, "newStartPageToken": None, "changes": CHANGE_DEFAULT}


def _drive_param(ctx: Ctx, req: Request) -> str | None:
    drive_id = req.param("driveId") or req.param("teamDriveId")
    if drive_id:
        if not (req.flag("supportsAllDrives") or req.flag("supportsTeamDrives")):
            raise invalid("The driveId parameter requires supportsAllDrives=true.", location="driveId")
        d = ctx.ws.drives.get(drive_id)
        if d is None or ctx.ws.drive_role(ctx.email, d) is None:
            raise ApiError(404, "notFound", f"Shared drive not found: {drive_id}", location="driveId")
    return drive_id


def start_page_token(ctx: Ctx, req: Request) -> Response:
    ctx.need_read()
    _drive_param(ctx, req)
    return Response.json({"kind": "drive#startPageToken", "startPageToken": str(len(ctx.ws.changes) + 1)})


def changes_list(ctx: Ctx, req: Request) -> Response:
    ctx.need_read()
    ws = ctx.ws
    drive_id = _drive_param(ctx, req)
    raw = req.param("pageToken")
    if not raw:
        raise ApiError(400, "required", "Required parameter: pageToken", location="pageToken")
    try:
        start = int(raw)
    except ValueError as exc:
        raise invalid("Invalid Value", location="pageToken") from exc
    if start < 1:
        raise invalid("Invalid Value", location="pageToken")
    include_all = req.flag("includeItemsFromAllDrives") or req.flag("includeTeamDriveItems")
    include_removed = (req.param("includeRemoved") or "true").lower() != "false"
    page_size = req.int_param("pageSize", 100, 1000)
    mask = mask_for(req, LIST_DEFAULT, "ChangeList")
    keys = ws.user_keys(ctx.email)
    latest: dict[str, tuple[int, bool]] = {}
    for change in ws.changes[start - 1:]:
        if change.file_id is None:
            continue
        if drive_id:
            if change.drive_id != drive_id:
                continue
            scope = frozenset({"drive:" + drive_id})
        else:
            if change.drive_id and not (include_all and "drive:" + change.drive_id in keys):
                continue
            scope = keys
        f = ws.files.get(change.file_id)
        now_in = f is not None and bool((ws.corpus_keys(f) if not drive_id else {"drive:" + (f.drive_id or "")})
                                        & scope)
        if not now_in and not (change.before & scope):
            continue
        latest.pop(change.file_id, None)
        latest[change.file_id] = (change.seq, not now_in)
    entries = [(seq, fid, removed) for fid, (seq, removed) in latest.items() if include_removed or not removed]
    entries.sort()
    page = entries[:page_size]
    out: dict[str, Any] = {}
    if wants(mask, "kind"):
        out["kind"] = "drive#changeList"
    if len(entries) > page_size:
        if wants(mask, "nextPageToken"):
            out["nextPageToken"] = str(page[-1][0] + 1)
    elif wants(mask, "newStartPageToken"):
        out["newStartPageToken"] = str(len(ws.changes) + 1)
    if wants(mask, "changes"):
        cmask = sub_mask(mask, "changes")
        fmask = sub_mask(cmask, "file")
        renderer = FileRenderer(ws, ctx.email, binary_content)
        renderer.include_labels = include_labels(req)
        changes = []
        for seq, fid, removed in page:
            record = ws.changes[seq - 1]
            item: dict[str, Any] = {"kind": "drive#change", "changeType": "file", "time": record.time,
                                    "removed": removed, "fileId": fid}
            if record.drive_id:
                item["driveId"] = record.drive_id
                item["teamDriveId"] = record.drive_id
            f = ws.files.get(fid)
            if f is not None and not removed and wants(cmask, "file"):
                item["file"] = renderer.render(f, fmask)
            changes.append({k: v for k, v in item.items() if wants(cmask, k)})
        out["changes"] = changes
    return Response.json(out)


ROUTES: list[Route] = [
    route("GET", r"/drive/v3/changes/startPageToken", "drive.changes.getStartPageToken", start_page_token),
    route("GET", r"/drive/v3/changes", "drive.changes.list", changes_list),
]
