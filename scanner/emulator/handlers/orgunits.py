"""Admin SDK Directory: ``orgunits.list`` / ``orgunits.get`` and ``groups.list`` / ``groups.get``.

They resolve the ids the Policy API and the Reports API speak in (``orgUnits/{id}``, ``groups/{id}``,
``orgUnitID=id:{id}``) to org unit paths and group addresses. Org units are those the policy store
knows plus every user's ``orgUnitPath`` (and its ancestors). ``orgunits.list`` lists immediate children
by default (``type=children``), like Google.
"""

from __future__ import annotations

from typing import Any

from ..errors import ApiError, bad_request, insufficient_scopes
from ..fields import sub_mask, wants
from ..state.policies import OrgUnit, group_id
from ..state.workspace import Workspace
from .common import Ctx, Request, Response, Route, mask_for, masked, paginate, query_key, route

API = "admin.directory_v1"
ORGUNIT_SCOPES = frozenset({"https://www.googleapis.com/auth/admin.directory.orgunit",
                            "https://www.googleapis.com/auth/admin.directory.orgunit.readonly"})
GROUP_SCOPES = frozenset({"https://www.googleapis.com/auth/admin.directory.group",
                          "https://www.googleapis.com/auth/admin.directory.group.readonly"})
_FORBIDDEN = "Not Authorized to access this resource/api"


def _need_admin(ctx: Ctx, scopes: frozenset[str]) -> None:
    if not ctx.scopes & scopes:
        raise insufficient_scopes()
    if not ctx.is_admin:
        raise ApiError(403, "forbidden", _FORBIDDEN)


def _check_customer(ctx: Ctx, customer: str | None) -> None:
    if customer not in (None, "my_customer", ctx.ws.customer_id):
        raise ApiError(403, "forbidden", _FORBIDDEN)


def org_units(ws: Workspace) -> dict[str, OrgUnit]:
    """Every org unit: the policy store's and those users are in (registered on first sight)."""
    for user in ws.users.values():
        ws.policies.ensure_unit(user.org_unit)
    return ws.policies.org_units


def _unit_json(ws: Workspace, unit: OrgUnit) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": "admin#directory#orgUnit", "etag": f'"{unit.id}"',
                           "name": unit.name or ws.org_name, "description": unit.description,
                           "orgUnitPath": unit.path, "orgUnitId": f"id:{unit.id}", "blockInheritance": False}
    if unit.parent is not None:
        parent = ws.policies.ensure_unit(unit.parent)
        out["parentOrgUnitPath"] = parent.path
        out["parentOrgUnitId"] = f"id:{parent.id}"
    return out


def _find_unit(ws: Workspace, key: str) -> OrgUnit:
    units = org_units(ws)
    if key.startswith("id:"):
        found = ws.policies.unit_by_id(key)
    else:
        found = units.get("/" + key.strip("/") if key.strip("/") else "/")
    if found is None:
        raise ApiError(404, "notFound", "Org unit not found")
    return found


def orgunits_list(ctx: Ctx, req: Request, customer: str) -> Response:
    _need_admin(ctx, ORGUNIT_SCOPES)
    _check_customer(ctx, customer)
    ws = ctx.ws
    base = _find_unit(ws, req.param("orgUnitPath") or "/")
    kind = req.param("type") or "children"
    if kind not in ("all", "children", "allIncludingParent"):
        raise bad_request(f"Invalid value '{kind}'", location="type")
    prefix = base.path.rstrip("/") + "/"
    units = []
    for unit in org_units(ws).values():
        below = unit.path != base.path and unit.path.startswith(prefix)
        if kind == "children" and unit.parent == base.path or kind != "children" and below \
                or kind == "allIncludingParent" and unit.path == base.path:
            units.append(unit)
    units.sort(key=lambda u: u.path)
    mask = mask_for(req, {"kind": None, "etag": None, "organizationUnits": None}, "OrgUnits", API)
    out: dict[str, Any] = {}
    if wants(mask, "kind"):
        out["kind"] = "admin#directory#orgUnits"
    if wants(mask, "etag"):
        out["etag"] = f'"{ws.version}"'
    if units and wants(mask, "organizationUnits"):
        umask = sub_mask(mask, "organizationUnits")
        out["organizationUnits"] = [masked(_unit_json(ws, u), umask) for u in units]
    return Response.json(out)


def orgunits_get(ctx: Ctx, req: Request, customer: str, path: str) -> Response:
    _need_admin(ctx, ORGUNIT_SCOPES)
    _check_customer(ctx, customer)
    unit = _find_unit(ctx.ws, path)
    return Response.json(masked(_unit_json(ctx.ws, unit), mask_for(req, {"*": None}, "OrgUnit", API)))


def _group_json(ws: Workspace, email: str) -> dict[str, Any]:
    group = ws.groups[email]
    gid = group_id(email)
    return {"kind": "admin#directory#group", "id": gid, "etag": f'"{gid}"', "email": group.email,
            "name": group.name, "directMembersCount": str(len(group.members)), "description": "",
            "adminCreated": True}


def groups_list(ctx: Ctx, req: Request) -> Response:
    _need_admin(ctx, GROUP_SCOPES)
    ws = ctx.ws
    customer, domain, user_key = req.param("customer"), req.param("domain"), req.param("userKey")
    if not (customer or domain or user_key):
        raise bad_request("Bad Request")
    _check_customer(ctx, customer)
    emails = sorted(ws.groups)
    if domain:
        emails = [e for e in emails if e.rsplit("@", 1)[1] == domain.lower()]
    if user_key:
        emails = [e for e in emails if user_key.lower() in ws.groups[e].members]
    page, next_token = paginate(req, query_key("groups", customer, domain, user_key), emails,
                                req.int_param("maxResults", 200, 200))
    mask = mask_for(req, {"kind": None, "etag": None, "groups": None, "nextPageToken": None}, "Groups", API)
    out: dict[str, Any] = {}
    if wants(mask, "kind"):
        out["kind"] = "admin#directory#groups"
    if wants(mask, "etag"):
        out["etag"] = f'"{ws.version}"'
    if page and wants(mask, "groups"):
        out["groups"] = [masked(_group_json(ws, e), sub_mask(mask, "groups")) for e in page]
    if next_token and wants(mask, "nextPageToken"):
        out["nextPageToken"] = next_token
    return Response.json(out)


def groups_get(ctx: Ctx, req: Request, group_key: str) -> Response:
    _need_admin(ctx, GROUP_SCOPES)
    ws = ctx.ws
    email = group_key.lower()
    if email not in ws.groups:
        email = next((e for e in ws.groups if group_id(e) == group_key), "")
    if not email:
        raise ApiError(404, "notFound", "Resource Not Found: groupKey")
    return Response.json(masked(_group_json(ws, email), mask_for(req, {"*": None}, "Group", API)))


ROUTES: list[Route] = [
    route("GET", r"/admin/directory/v1/customer/(?P<customer>[^/]+)/orgunits", "admin.orgunits.list", orgunits_list),
    route("GET", r"/admin/directory/v1/customer/(?P<customer>[^/]+)/orgunits/(?P<path>.+)", "admin.orgunits.get",
          orgunits_get),
    route("GET", r"/admin/directory/v1/groups", "admin.groups.list", groups_list),
    route("GET", r"/admin/directory/v1/groups/(?P<group_key>[^/]+)", "admin.groups.get", groups_get),
]
