"""Drive v3 revisions: list, get, update (publishing to the web)."""

from __future__ import annotations

from typing import Any

from ..errors import ApiError, forbidden
from ..fields import sub_mask, wants
from ..resources import REVISION_DEFAULT, revision_json
from ..state import mutate
from ..state.model import ROLE_RANK, DriveFile
from .common import (
    Ctx,
    Request,
    Response,
    Route,
    mask_for,
    masked,
    paginate,
    query_key,
    route,
    visible_file,
)

LIST_DEFAULT = {"kind": None, "nextPageToken": None, "revisions": REVISION_DEFAULT}
_NO_REVISIONS = "The user does not have sufficient permissions for this file."


def _file(ctx: Ctx, req: Request, file_id: str) -> DriveFile:
    # revisions.* have no supportsAllDrives parameter (see the discovery document): shared-drive
    # items are reachable without it, like files.export.
    f, role = visible_file(ctx, req, file_id, all_drives_flag=False)
    if ROLE_RANK[role] < ROLE_RANK["writer"]:
        raise forbidden("insufficientFilePermissions", _NO_REVISIONS)
    if f.is_folder:
        raise ApiError(403, "revisionsNotSupported", "The file does not support revisions.")
    if not f.revisions:  # synthetic files get their first revision when first asked for
        from ..state.model import Revision

        f.revisions.append(Revision(id="1" if f.is_native else f.id[:26], modified_time=f.modified_time,
                                    modifier=f.owner))
    return f


def revisions_list(ctx: Ctx, req: Request, file_id: str) -> Response:
    ctx.need_read()
    f = _file(ctx, req, file_id)
    page_size = req.int_param("pageSize", 200, 1000)
    mask = mask_for(req, LIST_DEFAULT, "RevisionList")
    page, next_token = paginate(req, query_key("rev", file_id), f.revisions, page_size)
    out: dict[str, Any] = {}
    if wants(mask, "kind"):
        out["kind"] = "drive#revisionList"
    if next_token and wants(mask, "nextPageToken"):
        out["nextPageToken"] = next_token
    if wants(mask, "revisions"):
        rmask = sub_mask(mask, "revisions")
        out["revisions"] = [masked(revision_json(ctx.ws, f, r, ctx.email), rmask) for r in page]
    return Response.json(out)


def _revision(f: DriveFile, revision_id: str) -> Any:
    if revision_id == "head" and f.revisions:
        return f.revisions[-1]
    for r in f.revisions:
        if r.id == revision_id:
            return r
    raise ApiError(404, "notFound", f"Revision not found: {revision_id}.", location="revisionId")


def revisions_get(ctx: Ctx, req: Request, file_id: str, revision_id: str) -> Response:
    ctx.need_read()
    f = _file(ctx, req, file_id)
    rev = _revision(f, revision_id)
    return Response.json(masked(revision_json(ctx.ws, f, rev, ctx.email),
                                mask_for(req, REVISION_DEFAULT, "Revision")))


def revisions_update(ctx: Ctx, req: Request, file_id: str, revision_id: str) -> Response:
    ctx.need_write()
    f = _file(ctx, req, file_id)
    rev = _revision(f, revision_id)
    body = req.json()
    if not f.is_native and any(k in body for k in ("published", "publishAuto", "publishedOutsideDomain")):
        raise ApiError(400, "invalid", "Only Docs Editors files can be published.", location="published")
    rev = mutate.set_published(ctx.ws, f.id, rev.id, ctx.email, published=body.get("published"),
                               publish_auto=body.get("publishAuto"),
                               published_outside_domain=body.get("publishedOutsideDomain"))
    return Response.json(masked(revision_json(ctx.ws, f, rev, ctx.email),
                                mask_for(req, REVISION_DEFAULT, "Revision")))


_R = r"/drive/v3/files/(?P<file_id>[^/]+)/revisions"
ROUTES: list[Route] = [
    route("GET", _R, "drive.revisions.list", revisions_list),
    route("GET", _R + r"/(?P<revision_id>[^/]+)", "drive.revisions.get", revisions_get),
    route("PATCH", _R + r"/(?P<revision_id>[^/]+)", "drive.revisions.update", revisions_update),
]
