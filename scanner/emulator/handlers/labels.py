"""Drive labels: the Drive Labels API v2 (``labels.list``, ``labels.get``) and Drive v3's
``files.modifyLabels`` / ``files.listLabels``.

``labelInfo`` on files (``files.get``/``files.list``/``changes.list`` with ``includeLabels``) is rendered
by :class:`scanner.emulator.resources.FileRenderer`; the ``'labels/ID' in labels`` query term lives in
:mod:`scanner.emulator.query`.
"""

from __future__ import annotations

from typing import Any

from ..auth import READ_SCOPES
from ..errors import ApiError, RpcError, forbidden, insufficient_scopes, invalid, rpc_insufficient_scopes
from ..fields import Mask, sub_mask, wants
from ..resources import applied_label_json
from ..state import labeling
from ..state.labels import FieldKind, LabelDef, LabelState
from ..state.model import ROLE_RANK
from .common import Ctx, Request, Response, Route, mask_for, masked, paginate, query_key, route, visible_file

SERVICE = "drivelabels.googleapis.com"
API = "drivelabels.v2"
LABEL_SCOPES = frozenset({"https://www.googleapis.com/auth/drive.labels",
                          "https://www.googleapis.com/auth/drive.labels.readonly",
                          "https://www.googleapis.com/auth/drive.admin.labels",
                          "https://www.googleapis.com/auth/drive.admin.labels.readonly"})
ADMIN_LABEL_SCOPES = frozenset({"https://www.googleapis.com/auth/drive.admin.labels",
                                "https://www.googleapis.com/auth/drive.admin.labels.readonly"})
#: files.modifyLabels: drive, drive.file or drive.metadata (see the discovery document)
MODIFY_SCOPES = frozenset({"https://www.googleapis.com/auth/drive", "https://www.googleapis.com/auth/drive.file",
                           "https://www.googleapis.com/auth/drive.metadata"})
BASIC_VIEW = frozenset({"name", "id", "revisionId", "labelType", "properties"})


# ---- rendering --------------------------------------------------------------------------------------
def label_resource(ctx: Ctx, d: LabelDef, *, full: bool, name: str | None = None) -> dict[str, Any]:
    """A ``GoogleAppsDriveLabelsV2Label`` (``LABEL_VIEW_BASIC`` keeps name, id, revisionId, labelType,
    properties)."""
    ws = ctx.ws
    creator = ws.users.get(d.creator)
    person = {"person": f"people/{creator.id}"} if creator else {}
    state = {"state": str(d.state)}
    out: dict[str, Any] = {
        "name": name or f"labels/{d.id}", "id": d.id, "revisionId": d.revision_id, "labelType": d.label_type,
        "properties": {"title": d.title, **({"description": d.description} if d.description else {})},
        "customer": f"customers/{ws.customer_id}", "creator": person, "createTime": d.created,
        "revisionCreator": person, "revisionCreateTime": d.published, "publisher": person,
        "publishTime": d.published, "lifecycle": state,
        "displayHints": {"shownInApply": d.state == LabelState.PUBLISHED, "priority": "1"},
        "appliedCapabilities": {"canRead": True, "canApply": d.state == LabelState.PUBLISHED,
                                "canRemove": True},
        "schemaCapabilities": {"canUpdate": ctx.is_admin, "canDelete": ctx.is_admin, "canDisable": ctx.is_admin,
                               "canEnable": ctx.is_admin},
        "appliedLabelPolicy": {"copyMode": "DO_NOT_COPY"},
        "fields": [],
    }
    for f in d.fields:
        item: dict[str, Any] = {
            "id": f.id, "queryKey": f"labels/{d.id}.{f.id}",
            "properties": {"displayName": f.display_name, "required": f.required}, "lifecycle": state,
            "displayHints": {"shownInApply": True}, "creator": person, "createTime": d.created,
            "appliedCapabilities": {"canRead": True, "canSearch": True, "canWrite": True},
        }
        if f.kind == FieldKind.SELECTION:
            item["selectionOptions"] = {"choices": [
                {"id": c.id, "properties": {"displayName": c.display_name}, "lifecycle": state,
                 "appliedCapabilities": {"canRead": True, "canSearch": True, "canSelect": True}}
                for c in f.choices]}
        elif f.kind == FieldKind.TEXT:
            item["textOptions"] = {"minLength": 0, "maxLength": 200}
        elif f.kind == FieldKind.INTEGER:
            item["integerOptions"] = {}
        elif f.kind == FieldKind.DATE:
            item["dateOptions"] = {"dateFormatType": "LONG_DATE"}
        else:
            item["userOptions"] = {}
        out["fields"].append(item)
    if not full:
        return {k: v for k, v in out.items() if k in BASIC_VIEW}
    return out


def include_labels(req: Request) -> frozenset[str]:
    raw = req.param("includeLabels") or ""
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


# ---- Drive Labels API v2 -------------------------------------------------------------------------------
def _need_labels(ctx: Ctx, req: Request, method: str) -> bool:
    """Scope checks; True when the caller asked for (and may use) admin access."""
    if not ctx.scopes & LABEL_SCOPES:
        raise rpc_insufficient_scopes(SERVICE, method)
    if (req.param("useAdminAccess") or "").lower() == "true":
        if not ctx.is_admin or not ctx.scopes & ADMIN_LABEL_SCOPES:
            raise RpcError(403, "PERMISSION_DENIED", "The caller does not have permission")
        return True
    return False


def _view(req: Request) -> bool:
    view = req.param("view") or "LABEL_VIEW_BASIC"
    if view not in ("LABEL_VIEW_BASIC", "LABEL_VIEW_FULL"):
        raise RpcError(400, "INVALID_ARGUMENT", f"Invalid value at 'view' (type.googleapis.com/"
                                                f"google.apps.drive.labels.v2.LabelView), \"{view}\"")
    return view == "LABEL_VIEW_FULL"


def labels_list(ctx: Ctx, req: Request) -> Response:
    admin = _need_labels(ctx, req, "google.apps.drive.labels.v2.LabelService.ListLabels")
    full = _view(req)
    published_only = (req.param("publishedOnly") or "").lower() == "true"
    raw = req.param("pageSize")
    try:
        size = min(int(raw), 200) if raw else 50
    except ValueError as exc:
        raise RpcError(400, "INVALID_ARGUMENT", f"Invalid value at 'page_size' (TYPE_INT32), \"{raw}\"") from exc
    size = size if size > 0 else 50
    labels = [d for d in ctx.ws.labels.labels.values()
              if admin or d.state != LabelState.UNPUBLISHED_DRAFT
              if not published_only or d.state in (LabelState.PUBLISHED, LabelState.DISABLED)]
    page, next_token = paginate(req, query_key("labels", admin, published_only, full), labels, size)
    mask = mask_for(req, {"labels": None, "nextPageToken": None}, "GoogleAppsDriveLabelsV2ListLabelsResponse", API)
    out: dict[str, Any] = {}
    if page and wants(mask, "labels"):
        lmask = sub_mask(mask, "labels")
        out["labels"] = [masked(label_resource(ctx, d, full=full, name=f"labels/{d.id}@{d.revision_id}"
                                               if published_only else None), lmask) for d in page]
    if next_token and wants(mask, "nextPageToken"):
        out["nextPageToken"] = next_token
    return Response.json(out)


def labels_get(ctx: Ctx, req: Request, label: str) -> Response:
    admin = _need_labels(ctx, req, "google.apps.drive.labels.v2.LabelService.GetLabel")
    full = _view(req)
    label_id, _, revision = label.partition("@")
    d = ctx.ws.labels.labels.get(label_id)
    if d is None or (d.state == LabelState.UNPUBLISHED_DRAFT and not admin) or \
            revision not in ("", "latest", "published", d.revision_id):
        raise RpcError(404, "NOT_FOUND", f"Label not found: labels/{label}")
    name = f"labels/{label_id}" + (f"@{d.revision_id}" if revision else "")
    return Response.json(masked(label_resource(ctx, d, full=full, name=name),
                                mask_for(req, {"*": None}, "GoogleAppsDriveLabelsV2Label", API)))


# ---- Drive v3 -------------------------------------------------------------------------------------------
def modify_labels(ctx: Ctx, req: Request, file_id: str) -> Response:
    if not ctx.scopes & MODIFY_SCOPES:
        raise insufficient_scopes()
    f, role = visible_file(ctx, req, file_id, all_drives_flag=False)  # modifyLabels has no supportsAllDrives
    if ROLE_RANK[role] < ROLE_RANK["writer"]:
        raise forbidden("insufficientFilePermissions",
                        "The user does not have sufficient permissions for this file.")
    body = req.json()
    mods = body.get("labelModifications")
    if not isinstance(mods, list) or not mods:
        raise ApiError(400, "required", "Required parameter: labelModifications", location="labelModifications")
    results = labeling.modify(ctx.ws, f.id, ctx.email, mods)
    modified = [{"kind": "drive#label", "id": r} if isinstance(r, str)
                else applied_label_json(ctx.ws, r) for r in results]
    mask: Mask | None = mask_for(req, {"kind": None, "modifiedLabels": None}, "ModifyLabelsResponse")
    return Response.json(masked({"kind": "drive#modifyLabelsResponse", "modifiedLabels": modified}, mask))


def list_labels(ctx: Ctx, req: Request, file_id: str) -> Response:
    if not ctx.scopes & READ_SCOPES:
        raise insufficient_scopes()
    f, _ = visible_file(ctx, req, file_id, all_drives_flag=False)
    raw = req.param("maxResults")
    size = 100
    if raw:
        try:
            size = int(raw)
        except ValueError as exc:
            raise invalid(f"Invalid value '{raw}'.", location="maxResults") from exc
        if not 1 <= size <= 100:
            raise invalid(f"Invalid value '{raw}'. Values must be within the range: [1, 100]",
                          location="maxResults")
    applied = list(ctx.ws.labels.on_file(f.id).values())
    page, next_token = paginate(req, query_key("listLabels", f.id), applied, size)
    mask = mask_for(req, {"kind": None, "labels": None, "nextPageToken": None}, "LabelList")
    out: dict[str, Any] = {"kind": "drive#labelList",
                           "labels": [applied_label_json(ctx.ws, a) for a in page]}
    if next_token:
        out["nextPageToken"] = next_token
    return Response.json(masked(out, mask))


ROUTES: list[Route] = [
    route("GET", r"/v2/labels", "drivelabels.labels.list", labels_list),
    route("GET", r"/v2/labels/(?P<label>[^/]+)", "drivelabels.labels.get", labels_get),
    route("POST", r"/drive/v3/files/(?P<file_id>[^/]+)/modifyLabels", "drive.files.modifyLabels", modify_labels),
    route("GET", r"/drive/v3/files/(?P<file_id>[^/]+)/listLabels", "drive.files.listLabels", list_labels),
]
