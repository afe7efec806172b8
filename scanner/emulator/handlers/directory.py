"""Admin SDK Directory: users.list, users.get, domains.list, members.list (admins only, like Google)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..auth import DIRECTORY_SCOPES, GROUP_MEMBER_SCOPES
from ..errors import ApiError, bad_request, insufficient_scopes
from ..fields import sub_mask, wants
from ..resources import user_json
from ..state.workspace import Workspace
from .common import Ctx, Request, Response, Route, mask_for, masked, paginate, query_key, route

API = "admin.directory_v1"


def _need_admin(ctx: Ctx, scopes: frozenset[str] = DIRECTORY_SCOPES) -> None:
    if not ctx.scopes & scopes:
        raise insufficient_scopes()
    if not ctx.is_admin:
        raise ApiError(403, "forbidden", "Not Authorized to access this resource/api")


def _check_customer(ctx: Ctx, customer: str | None) -> None:
    if customer not in (None, "my_customer", ctx.ws.customer_id):
        raise ApiError(403, "forbidden", "Not Authorized to access this resource/api")


def _list_response(ctx: Ctx, mask: Any, kind: str, key: str, items: Callable[[], list[dict[str, Any]]],
                   next_token: str | None) -> Response:
    """A Directory list body (kind, etag, the items, nextPageToken) with only what the mask asks for."""
    out: dict[str, Any] = {}
    if wants(mask, "kind"):
        out["kind"] = kind
    if wants(mask, "etag"):
        out["etag"] = f'"{ctx.ws.version}"'
    if wants(mask, key):
        out[key] = items()
    if next_token and wants(mask, "nextPageToken"):
        out["nextPageToken"] = next_token
    return Response.json(out)


def users_list(ctx: Ctx, req: Request) -> Response:
    _need_admin(ctx)
    ws = ctx.ws
    customer = req.param("customer")
    domain = req.param("domain")
    if not customer and not domain:
        raise bad_request("Bad Request")
    _check_customer(ctx, customer)
    if domain and domain.lower() not in ws.domains:
        raise ApiError(403, "forbidden", "Not Authorized to access this resource/api")
    page_size = req.int_param("maxResults", 100, 500)
    mask = mask_for(req, {"kind": None, "etag": None, "users": None, "nextPageToken": None}, "Users", API)
    users = [u for u in ws.users.values() if not domain or u.domain == domain.lower()]
    order = req.param("orderBy")
    if order in ("email", "givenName", "familyName"):
        users.sort(key=lambda u: u.email if order == "email" else u.name.lower(),
                   reverse=(req.param("sortOrder") or "").upper() == "DESCENDING")
    page, next_token = paginate(req, query_key("users", customer, domain, order), users, page_size)
    umask = sub_mask(mask, "users")
    return _list_response(ctx, mask, "admin#directory#users", "users",
                          lambda: [masked(user_json(ws, u), umask) for u in page], next_token)


def users_get(ctx: Ctx, req: Request, user_key: str) -> Response:
    _need_admin(ctx)
    user = ctx.ws.users.get(user_key.lower()) or next(
        (u for u in ctx.ws.users.values() if u.id == user_key), None)
    if user is None:
        raise ApiError(404, "notFound", "Resource Not Found: userKey")
    return Response.json(masked(user_json(ctx.ws, user), mask_for(req, {"*": None}, "User", API)))


_CREATED = "1673254800000"


def _alias_json(alias: str, parent: str) -> dict[str, Any]:
    return {"kind": "admin#directory#domainAlias", "domainAliasName": alias, "parentDomainName": parent,
            "verified": True, "creationTime": _CREATED}


def domains_list(ctx: Ctx, req: Request, customer: str) -> Response:
    """The primary and secondary domains, each with its aliases (``Domains2``)."""
    _need_admin(ctx)
    _check_customer(ctx, customer)
    ws = ctx.ws
    domains = []
    for d in ws.domains:
        item: dict[str, Any] = {"kind": "admin#directory#domain", "domainName": d, "isPrimary": d == ws.domain,
                                "verified": True, "creationTime": _CREATED}
        aliases = [_alias_json(a, p) for a, p in sorted(ws.domain_aliases.items()) if p == d]
        if aliases:
            item["domainAliases"] = aliases
        domains.append(item)
    body = {"kind": "admin#directory#domains", "etag": f'"{ws.version}"', "domains": domains}
    return Response.json(masked(body, mask_for(req, {"*": None}, "Domains2", API)))


def domain_aliases_list(ctx: Ctx, req: Request, customer: str) -> Response:
    """``domainAliases.list``: every alias, or those of ``parentDomainName``."""
    _need_admin(ctx)
    _check_customer(ctx, customer)
    ws = ctx.ws
    parent = (req.param("parentDomainName") or "").lower()
    if parent and parent not in ws.domains:
        raise ApiError(400, "invalid", "Invalid Input: parentDomainName")
    aliases = [_alias_json(a, p) for a, p in sorted(ws.domain_aliases.items()) if not parent or p == parent]
    body = {"kind": "admin#directory#domainAliases", "etag": f'"{ws.version}"', "domainAliases": aliases}
    return Response.json(masked(body, mask_for(req, {"*": None}, "DomainAliases", API)))


def _member_json(ws: Workspace, email: str) -> dict[str, Any]:
    user = ws.users.get(email)
    kind = "GROUP" if email in ws.groups else "USER"
    member_id = user.id if user else query_key("member", email)[:21]
    out: dict[str, Any] = {"kind": "admin#directory#member", "etag": f'"{member_id}"', "id": member_id,
                           "email": email, "role": "MEMBER", "type": kind}
    if kind == "USER":
        out["status"] = "SUSPENDED" if user and user.suspended else "ACTIVE"
    return out


def _derived(ws: Workspace, group: str) -> list[str]:
    """Direct members first, then members of nested groups (each once, cycles cut), like
    ``includeDerivedMembership=true``."""
    out: list[str] = []
    seen_groups = {group}
    frontier = [group]
    while frontier:
        for email in ws.groups[frontier.pop(0)].members:
            if email not in out:
                out.append(email)
            if email in ws.groups and email not in seen_groups:
                seen_groups.add(email)
                frontier.append(email)
    return out


def members_list(ctx: Ctx, req: Request, group_key: str) -> Response:
    _need_admin(ctx, GROUP_MEMBER_SCOPES)
    ws = ctx.ws
    group = ws.groups.get(group_key.lower())
    if group is None:
        raise ApiError(404, "notFound", "Resource Not Found: groupKey")
    derived = (req.param("includeDerivedMembership") or "").lower() == "true"
    roles = req.param("roles")
    emails = _derived(ws, group.email) if derived else list(group.members)
    if roles and "MEMBER" not in roles.upper().split(","):
        emails = []  # the emulator's groups have plain members only (no OWNER/MANAGER roles)
    page_size = req.int_param("maxResults", 200, 200)
    mask = mask_for(req, {"kind": None, "etag": None, "members": None, "nextPageToken": None}, "Members", API)
    page, next_token = paginate(req, query_key("members", group.email, derived, roles), emails, page_size)
    mmask = sub_mask(mask, "members")
    return _list_response(ctx, mask, "admin#directory#members", "members",
                          lambda: [masked(_member_json(ws, e), mmask) for e in page], next_token)


ROUTES: list[Route] = [
    route("GET", r"/admin/directory/v1/users", "admin.users.list", users_list),
    route("GET", r"/admin/directory/v1/users/(?P<user_key>[^/]+)", "admin.users.get", users_get),
    route("GET", r"/admin/directory/v1/customer/(?P<customer>[^/]+)/domains", "admin.domains.list", domains_list),
    route("GET", r"/admin/directory/v1/customer/(?P<customer>[^/]+)/domainaliases", "admin.domainAliases.list",
          domain_aliases_list),
    route("GET", r"/admin/directory/v1/groups/(?P<group_key>[^/]+)/members", "admin.members.list", members_list),
]
