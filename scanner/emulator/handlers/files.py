"""Drive v3 files: list (q, corpora, paging, orderBy), get, alt=media downloads, export, update, delete."""

from __future__ import annotations

import re
from typing import Any

from ..content import binary_content, export, native_content, searchable_text
from ..errors import ApiError, bad_request, forbidden, invalid, not_found
from ..fields import sub_mask, wants
from ..query import parse_query
from ..resources import FILE_DEFAULT, FileRenderer, user_ref
from ..state import mutate
from ..state.model import ROLE_RANK, SHORTCUT, DriveFile
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
from .labels import include_labels

LIST_DEFAULT = {"kind": None, "incompleteSearch": None, "nextPageToken": None, "files": FILE_DEFAULT}


class SearchContext:
    """What `q` terms need to know about a file, from the caller's point of view."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.me = ctx.email.lower()
        self.domain = ctx.email.rsplit("@", 1)[-1]
        self.keys = ctx.ws.user_keys(ctx.email)

    def owners(self, f: DriveFile) -> list[str]:
        return [f.owner.lower()] if f.owner else []

    def emails_with_role(self, f: DriveFile, minimum: str) -> list[str]:
        rank = ROLE_RANK[minimum]
        return [ep.perm.email.lower() for ep in self.ctx.ws.effective_permissions(f)
                if ep.perm.email and ROLE_RANK[ep.role] >= rank]

    def visibility(self, f: DriveFile) -> str:
        best = "limited"
        order = ["limited", "domainWithLink", "domainCanFind", "anyoneWithLink", "anyoneCanFind"]
        for ep in self.ctx.ws.effective_permissions(f):
            p = ep.perm
            if p.type == "anyone":
                v = "anyoneCanFind" if p.allow_file_discovery else "anyoneWithLink"
            elif p.type == "domain":
                v = "domainCanFind" if p.allow_file_discovery else "domainWithLink"
            else:
                continue
            if order.index(v) > order.index(best):
                best = v
        return best

    def shared_with_me(self, f: DriveFile) -> bool:
        if f.drive_id or f.owner == self.ctx.email:
            return False
        return bool(self.ctx.ws.corpus_keys(f) & self.keys)

    def full_text(self, f: DriveFile) -> str:
        return searchable_text(f)

    def labels(self, f: DriveFile) -> dict[str, dict[str, list[str]]]:
        return {lid: a.values for lid, a in self.ctx.ws.labels.on_file(f.id).items()}


_ORDER_KEYS = {"name", "name_natural", "modifiedTime", "createdTime", "folder", "quotaBytesUsed", "recency",
               "modifiedByMeTime", "viewedByMeTime", "sharedWithMeTime", "starred"}


def _sort(ids: list[str], ctx: Ctx, order_by: str | None) -> list[str]:
    if not order_by:
        return ids
    files = ctx.ws.files
    specs = [s.strip().split() for s in order_by.split(",") if s.strip()]
    for spec in reversed(specs):
        key = spec[0]
        desc = len(spec) > 1 and spec[1].lower() == "desc"
        if key not in _ORDER_KEYS or (len(spec) > 1 and spec[1].lower() not in ("asc", "desc")):
            raise invalid("Invalid Value", location="orderBy")
        if key in ("name", "name_natural"):
            ids.sort(key=lambda i: files[i].name.lower(), reverse=desc)
        elif key == "createdTime":
            ids.sort(key=lambda i: files[i].created_time, reverse=desc)
        elif key in ("modifiedTime", "recency", "modifiedByMeTime", "viewedByMeTime", "sharedWithMeTime"):
            ids.sort(key=lambda i: files[i].modified_time, reverse=desc)
        elif key == "folder":
            ids.sort(key=lambda i: 0 if files[i].is_folder else 1, reverse=desc)
    return ids


def _candidates(ctx: Ctx, corpora: str, drive_id: str | None, include_all: bool) -> list[str]:
    ws = ctx.ws
    index = ws.corpus_index()
    if corpora == "drive":
        return list(index.get("drive:" + (drive_id or ""), []))
    keys = ws.user_keys(ctx.email)
    sources = [k for k in keys if not k.startswith("drive:")]
    if corpora == "domain":
        sources.append("discoverable:" + ctx.email.rsplit("@", 1)[-1])
    if include_all and corpora in ("allDrives", "domain"):
        sources.extend(k for k in keys if k.startswith("drive:"))
    if len(sources) == 1:
        return list(index.get(sources[0], []))
    merged: set[str] = set()
    for k in sources:
        merged.update(index.get(k, []))
    return sorted(merged, key=ws.order_of)


def files_list(ctx: Ctx, req: Request) -> Response:
    ctx.need_read()
    ws = ctx.ws
    drive_id = req.param("driveId") or req.param("teamDriveId")
    corpora = req.param("corpora") or req.param("corpus") or ("drive" if drive_id else "user")
    include_all = req.flag("includeItemsFromAllDrives") or req.flag("includeTeamDriveItems")
    supports = req.flag("supportsAllDrives") or req.flag("supportsTeamDrives")
    if corpora not in ("user", "drive", "allDrives", "domain"):
        raise invalid("Invalid Value", location="corpora")
    if (corpora == "drive") != bool(drive_id):
        raise invalid("The driveId parameter must be specified if and only if corpora is set to drive.",
                      location="driveId")
    if corpora in ("drive", "allDrives") and not include_all:
        raise invalid("The includeItemsFromAllDrives parameter must be set to true when corpora is set to "
                      "drive or allDrives.", location="includeItemsFromAllDrives")
    if include_all and not supports:
        raise invalid("The includeItemsFromAllDrives parameter can only be set to true when supportsAllDrives "
                      "is also true.", location="includeItemsFromAllDrives")
    if drive_id:
        drive = ws.drives.get(drive_id)
        if drive is None or ws.drive_role(ctx.email, drive) is None:
            raise ApiError(404, "notFound", f"Shared drive not found: {drive_id}", location="driveId")
    page_size = req.int_param("pageSize", 100, 1000)
    mask = mask_for(req, LIST_DEFAULT, "FileList")
    q = req.param("q") or ""
    order_by = req.param("orderBy")
    key = query_key(ctx.email, corpora, drive_id, include_all, q, order_by)
    ids = ctx.cache.get(key, ws.version)
    if ids is None:
        query = parse_query(q)
        cands = _candidates(ctx, corpora, drive_id, include_all)
        if query.parent_hint is not None:
            allowed = set(cands)
            cands = [i for i in ws.children(query.parent_hint) if i in allowed]
        search = SearchContext(ctx)
        files = ws.files
        ids = [i for i in cands if query(files[i], search)]
        ids = _sort(ids, ctx, order_by)
        ctx.cache.put(key, ws.version, ids)
    page, next_token = paginate(req, key, ids, page_size)
    out: dict[str, Any] = {}
    if wants(mask, "kind"):
        out["kind"] = "drive#fileList"
    if next_token and wants(mask, "nextPageToken"):
        out["nextPageToken"] = next_token
    if wants(mask, "incompleteSearch"):
        out["incompleteSearch"] = False
    if wants(mask, "files"):
        renderer = FileRenderer(ws, ctx.email, binary_content)
        renderer.include_labels = include_labels(req)
        fmask = sub_mask(mask, "files")
        out["files"] = [renderer.render(ws.files[i], fmask) for i in page]
    return Response.json(out)


def _download(ctx: Ctx, req: Request, f: DriveFile) -> Response:
    ctx.need_content()
    if f.is_native:
        raise forbidden("fileNotDownloadable", "Only files with binary content can be downloaded. Use Export "
                                               "with Docs Editors files.")
    if f.is_folder or f.mime_type == SHORTCUT:
        raise forbidden("fileNotDownloadable", "Only files with binary content can be downloaded.")
    data = binary_content(f)
    headers = {"Content-Type": f.mime_type, "Accept-Ranges": "bytes"}
    rng = req.headers.get("range")
    if rng:
        m = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", rng)
        if m and (m.group(1) or m.group(2)):
            total = len(data)
            if m.group(1):
                start = int(m.group(1))
                end = min(int(m.group(2)), total - 1) if m.group(2) else total - 1
            else:
                start = max(total - int(m.group(2)), 0)
                end = total - 1
            if start >= total or start > end:
                if total == 0 and start == 0:
                    return Response(200, b"", headers)
                return Response(416, b"", {"Content-Range": f"bytes */{total}"})
            headers["Content-Range"] = f"bytes {start}-{end}/{total}"
            return Response(206, data[start:end + 1], headers)
    return Response(200, data, headers)


def files_get(ctx: Ctx, req: Request, file_id: str) -> Response:
    ctx.need_read()
    ws = ctx.ws
    if file_id in ws.drives and (req.flag("supportsAllDrives") or req.flag("supportsTeamDrives")):
        drive = ws.drives[file_id]
        if ws.drive_role(ctx.email, drive) is None:
            raise not_found(file_id)
        root = {"kind": "drive#file", "id": drive.id, "name": drive.name,
                "mimeType": "application/vnd.google-apps.folder", "driveId": drive.id, "teamDriveId": drive.id}
        return Response.json(masked(root, mask_for(req, FILE_DEFAULT, "File")))
    f, _ = visible_file(ctx, req, file_id)
    if req.param("alt") == "media":
        return _download(ctx, req, f)
    mask = mask_for(req, FILE_DEFAULT, "File")
    renderer = FileRenderer(ws, ctx.email, binary_content)
    renderer.include_labels = include_labels(req)
    return Response.json(renderer.render(f, mask))


def files_export(ctx: Ctx, req: Request, file_id: str) -> Response:
    ctx.need_content()
    f, _ = visible_file(ctx, req, file_id, all_drives_flag=False)  # export has no supportsAllDrives
    mime = req.param("mimeType")
    if not mime:
        raise ApiError(400, "required", "Required parameter: mimeType", location="mimeType")
    native_content(f)
    data = export(f, mime, ctx.settings.export_limit)
    return Response(200, data, {"Content-Type": mime})


def files_update(ctx: Ctx, req: Request, file_id: str) -> Response:
    ctx.need_write()
    f, role = visible_file(ctx, req, file_id)
    if ROLE_RANK[role] < ROLE_RANK["writer"]:
        raise forbidden("insufficientFilePermissions", "The user does not have sufficient permissions for this "
                                                       "file.")
    body = req.json()
    if "inheritedPermissionsDisabled" in body:
        # only the My Drive owner or a shared drive's organizer may turn limited access on or off
        if role != ("organizer" if f.drive_id else "owner"):
            raise forbidden("insufficientFilePermissions", "The user does not have sufficient permissions for "
                                                           "this file.")
        mutate.set_limited_access(ctx.ws, f.id, ctx.email, bool(body["inheritedPermissionsDisabled"]))
    if "trashed" in body and bool(body["trashed"]) != f.trashed:
        mutate.set_trashed(ctx.ws, f.id, ctx.email, bool(body["trashed"]))
    if "name" in body or "description" in body:
        if "description" in body:
            f.description = body["description"]
        mutate.edit_content(ctx.ws, f.id, ctx.email, name=body.get("name"))
    mask = mask_for(req, FILE_DEFAULT, "File")
    return Response.json(FileRenderer(ctx.ws, ctx.email, binary_content).render(f, mask))


def files_delete(ctx: Ctx, req: Request, file_id: str) -> Response:
    ctx.need_write()
    f, role = visible_file(ctx, req, file_id)
    if role not in ("owner", "organizer"):
        raise forbidden("insufficientFilePermissions", "The user does not have sufficient permissions for this "
                                                       "file.")
    mutate.delete_file(ctx.ws, f.id, ctx.email)
    return Response.empty()


def about_get(ctx: Ctx, req: Request) -> Response:
    ctx.need_read()
    if not req.param("fields"):
        raise bad_request("The 'fields' parameter is required for this method.", location="fields",
                          reason="required")
    mask = mask_for(req, {}, "About")
    about = {"kind": "drive#about", "user": user_ref(ctx.ws, ctx.email, ctx.email),
             "storageQuota": {"limit": "16106127360", "usage": "0"}, "canCreateDrives": True}
    return Response.json(masked(about, mask))


ROUTES: list[Route] = [
    route("GET", r"/drive/v3/files", "drive.files.list", files_list),
    route("GET", r"/drive/v3/files/(?P<file_id>[^/]+)/export", "drive.files.export", files_export),
    route("GET", r"/drive/v3/files/(?P<file_id>[^/]+)", "drive.files.get", files_get),
    route("PATCH", r"/drive/v3/files/(?P<file_id>[^/]+)", "drive.files.update", files_update),
    route("DELETE", r"/drive/v3/files/(?P<file_id>[^/]+)", "drive.files.delete", files_delete),
    route("GET", r"/drive/v3/about", "drive.about.get", about_get),
]
