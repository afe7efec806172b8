"""Admin SDK Directory: users.list, users.get, domains.list (admins only, like Google)."""

from __future__ import annotations

from typing import Any

from ..auth import DIRECTORY_SCOPES
from ..errors import ApiError, bad_request, insufficient_scopes
from ..fields import sub_mask, wants
from ..resources import user_json
from .common import Ctx, Request, Response, Route, mask_for, masked, paginate, query_key, route

API = "admin.directory_v1"


def _need_admin(ctx: Ctx) -> None:
    if not ctx.scopes & DIRECTORY_SCOPES:
        raise insufficient_scopes()
    if not ctx.is_admin:
        raise ApiError(403, "forbidden", "Not Authorized to access this resource/api")


def _check_customer(ctx: Ctx, customer: str | None) -> None:
    if customer not in (None, "my_customer", ctx.ws.customer_id):
        raise ApiError(403, "forbidden", "Not Authorized to access this resource/api")


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
    out: dict[str, Any] = {}
    if wants(mask, "kind"):
        out["kind"] = "admin#directory#users"
    if wants(mask, "etag"):
        out["etag"] = f'"{ws.version}"'
    if wants(mask, "users"):
        umask = sub_mask(mask, "users")
        out["users"] = [masked(user_json(ws, u), umask) for u in page]
    if next_token and wants(mask, "nextPageToken"):
        out["nextPageToken"] = next_token
    return Response.json(out)


def users_get(ctx: Ctx, req: Request, user_key: str) -> Response:
    _need_admin(ctx)
    user = ctx.ws.users.get(user_key.lower()) or next(
        (u for u in ctx.ws.users.values() if u.id == user_key), None)
    if user is None:
        raise ApiError(404, "notFound", "Resource Not Found: userKey")
    return Response.json(masked(user_json(ctx.ws, user), mask_for(req, {"*": None}, "User", API)))


def domains_list(ctx: Ctx, req: Request, customer: str) -> Response:
    _need_admin(ctx)
    _check_customer(ctx, customer)
    ws = ctx.ws
    domains = [{"kind": "admin#directory#domain", "domainName": d, "isPrimary": d == ws.domain,
                "verified": True, "creationTime": "1673254800000"} for d in ws.domains]
    body = {"kind": "admin#directory#domains", "etag": f'"{ws.version}"', "domains": domains}
    return Response.json(masked(body, mask_for(req, {"*": None}, "Domains2", API)))


ROUTES: list[Route] = [
    route("GET", r"/admin/directory/v1/users", "admin.users.list", users_list),
    route("GET", r"/admin/directory/v1/users/(?P<user_key>[^/]+)", "admin.users.get", users_get),
    route("GET", r"/admin/directory/v1/customer/(?P<customer>[^/]+)/domains", "admin.domains.list", domains_list),
]
