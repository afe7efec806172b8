"""Cloud Identity Policy API v1: ``policies.list`` / ``policies.get`` and ``allowlistedDomains.list`` / ``get``.

Only super administrators may call it (403 ``PERMISSION_DENIED`` otherwise). ``policies.list`` takes a
CEL ``filter`` of the documented clauses — ``customer == "customers/{id|my_customer}"`` and
``setting.type.matches('<RE2 regex>')`` — combined with ``&&``, ``||`` and parentheses; anything else is
400 ``INVALID_ARGUMENT``. Google documents no org-unit or group clause: clients filter on
``policyQuery.orgUnit`` / ``policyQuery.group`` themselves. Only explicitly set policies are returned
(see :mod:`scanner.emulator.state.policies`).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any

from ..errors import RpcError, rpc_insufficient_scopes
from ..fields import Mask, sub_mask, wants
from ..state.policies import Policy, group_id
from .common import Ctx, Request, Response, Route, mask_for, masked, route

API = "cloudidentity.v1"
SERVICE = "cloudidentity.googleapis.com"
POLICY_SCOPES = frozenset({"https://www.googleapis.com/auth/cloud-identity.policies",
                           "https://www.googleapis.com/auth/cloud-identity.policies.readonly"})
ALLOWLIST_SCOPES = frozenset({"https://www.googleapis.com/auth/cloud-identity.allowlisteddomains",
                              "https://www.googleapis.com/auth/cloud-identity.allowlisteddomains.readonly"})
LIST_DEFAULT: Mask = {"policies": None, "nextPageToken": None}
PolicyPredicate = Callable[[Policy], bool]


def _need(ctx: Ctx, scopes: frozenset[str], method: str) -> None:
    if not ctx.scopes & scopes:
        raise rpc_insufficient_scopes(SERVICE, method)
    if not ctx.is_admin:
        raise RpcError(403, "PERMISSION_DENIED", "The caller does not have permission")


def _bad(message: str) -> RpcError:
    return RpcError(400, "INVALID_ARGUMENT", message)


def policy_json(ctx: Ctx, p: Policy) -> dict[str, Any]:
    unit = ctx.ws.policies.ensure_unit(p.org_unit)
    query = f"entity.org_units.exists(org_unit, org_unit.org_unit_id == orgUnitId('{unit.id}'))"
    policy_query: dict[str, Any] = {"query": query, "orgUnit": f"orgUnits/{unit.id}", "sortOrder": p.sort_order}
    if p.group:
        gid = group_id(p.group)
        policy_query["query"] = query + f" && entity.groups.exists(group, group.group_id == groupId('{gid}'))"
        policy_query["group"] = f"groups/{gid}"
    return {"name": f"policies/{p.id}", "customer": f"customers/{ctx.ws.customer_id}", "policyQuery": policy_query,
            "setting": {"type": p.setting_type, "value": p.value}, "type": str(p.type)}


# ---- the filter: a small CEL subset ----------------------------------------------------------------
_TOKEN = re.compile(r"""\s*(?:(?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(?P<op>&&|\|\||==|\(|\)|\.)"""
                    r"""|(?P<word>[A-Za-z_][A-Za-z0-9_]*))""")


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\([\\'\"])", r"\1", body)


class _FilterParser:
    def __init__(self, ctx: Ctx, text: str) -> None:
        self.ctx = ctx
        self.text = text
        self.toks: list[tuple[str, str]] = []
        pos = 0
        text = text.rstrip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise _bad(f"Invalid filter: unexpected input at position {pos}: {text[pos:pos + 20]!r}")
            pos = m.end()
            kind = m.lastgroup or ""
            self.toks.append((kind, m.group(kind)))
        self.i = 0

    def peek(self) -> tuple[str, str]:
        return self.toks[self.i] if self.i < len(self.toks) else ("eof", "")

    def take(self, kind: str, value: str | None = None) -> str:
        tok = self.peek()
        if tok[0] != kind or (value is not None and tok[1] != value):
            raise _bad(f"Invalid filter {self.text!r}: expected {value or kind}, got {tok[1] or 'end'}")
        self.i += 1
        return tok[1]

    def parse(self) -> PolicyPredicate:
        pred = self.or_expr()
        if self.peek()[0] != "eof":
            raise _bad(f"Invalid filter {self.text!r}: unexpected {self.peek()[1]!r}")
        return pred

    def or_expr(self) -> PolicyPredicate:
        parts = [self.and_expr()]
        while self.peek() == ("op", "||"):
            self.i += 1
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else (lambda p: any(f(p) for f in parts))

    def and_expr(self) -> PolicyPredicate:
        parts = [self.unary()]
        while self.peek() == ("op", "&&"):
            self.i += 1
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else (lambda p: all(f(p) for f in parts))

    def unary(self) -> PolicyPredicate:
        if self.peek() == ("op", "("):
            self.i += 1
            inner = self.or_expr()
            self.take("op", ")")
            return inner
        return self.clause()

    def clause(self) -> PolicyPredicate:
        word = self.take("word")
        if word == "customer":
            self.take("op", "==")
            value = _unquote(self.take("str"))
            if value not in ("customers/my_customer", f"customers/{self.ctx.ws.customer_id}"):
                raise RpcError(403, "PERMISSION_DENIED", "The caller does not have permission")
            return lambda p: True
        if word == "setting":
            self.take("op", ".")
            self.take("word", "type")
            self.take("op", ".")
            self.take("word", "matches")
            self.take("op", "(")
            pattern = _unquote(self.take("str"))
            self.take("op", ")")
            try:
                regex = re.compile(pattern)
            except re.error as exc:
                raise _bad(f"Invalid filter: bad regular expression {pattern!r}: {exc}") from exc
            return lambda p: regex.search(p.setting_type) is not None  # CEL matches(): RE2, unanchored
        raise _bad(f"Invalid filter {self.text!r}: unsupported field {word!r} (use customer or setting.type)")


# ---- paging ------------------------------------------------------------------------------------------
def _page_token(key: str, offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([key, offset]).encode()).decode().rstrip("=")


def _page(req: Request, key: str, items: list[Any], size: int) -> tuple[list[Any], str | None]:
    raw = req.param("pageToken")
    offset = 0
    if raw:
        try:
            token_key, offset = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
            if token_key != key:
                raise ValueError("page token of another request")
        except (ValueError, TypeError) as exc:
            raise _bad("Invalid page token.") from exc
    end = offset + size
    return items[offset:end], (_page_token(key, end) if end < len(items) else None)


def _page_size(req: Request, default: int, maximum: int) -> int:
    raw = req.param("pageSize")
    if not raw:
        return default
    try:
        size = int(raw)
    except ValueError as exc:
        raise _bad(f"Invalid value at 'page_size' (TYPE_INT32), \"{raw}\"") from exc
    if size < 0:
        raise _bad("page_size must not be negative.")
    return default if size == 0 else min(size, maximum)


# ---- handlers -----------------------------------------------------------------------------------------
def policies_list(ctx: Ctx, req: Request) -> Response:
    _need(ctx, POLICY_SCOPES, "google.apps.cloudidentity.policies.v1.PoliciesService.ListPolicies")
    text = req.param("filter") or ""
    predicate = _FilterParser(ctx, text).parse() if text.strip() else (lambda p: True)
    mask = mask_for(req, LIST_DEFAULT, "ListPoliciesResponse", API)
    found = [p for p in ctx.ws.policies.policies if predicate(p)]
    page, next_token = _page(req, text, found, _page_size(req, 50, 100))
    out: dict[str, Any] = {}
    if page and wants(mask, "policies"):
        pmask = sub_mask(mask, "policies")
        out["policies"] = [masked(policy_json(ctx, p), pmask) for p in page]
    if next_token and wants(mask, "nextPageToken"):
        out["nextPageToken"] = next_token
    return Response.json(out)


def policies_get(ctx: Ctx, req: Request, policy_id: str) -> Response:
    _need(ctx, POLICY_SCOPES, "google.apps.cloudidentity.policies.v1.PoliciesService.GetPolicy")
    policy = next((p for p in ctx.ws.policies.policies if p.id == policy_id), None)
    if policy is None:
        raise RpcError(404, "NOT_FOUND", "Requested entity was not found.")
    return Response.json(masked(policy_json(ctx, policy), mask_for(req, {"*": None}, "Policy", API)))


def _domain_json(domain: str) -> dict[str, str]:
    return {"name": "allowlistedDomains/" + group_id("allowlist:" + domain)[1:], "domain": domain}


def allowlisted_list(ctx: Ctx, req: Request) -> Response:
    _need(ctx, ALLOWLIST_SCOPES, "google.apps.cloudidentity.allowlisteddomains.v1.AllowlistedDomainsService.List")
    domains = list(ctx.ws.policies.allowlisted_domains)
    page, next_token = _page(req, "allowlist", domains, _page_size(req, 50, 100))
    out: dict[str, Any] = {}
    if page:
        out["allowlistedDomains"] = [_domain_json(d) for d in page]
    if next_token:
        out["nextPageToken"] = next_token
    return Response.json(masked(out, mask_for(req, {"*": None}, "ListAllowlistedDomainsResponse", API)))


def allowlisted_get(ctx: Ctx, req: Request, domain_id: str) -> Response:
    _need(ctx, ALLOWLIST_SCOPES, "google.apps.cloudidentity.allowlisteddomains.v1.AllowlistedDomainsService.Get")
    for d in ctx.ws.policies.allowlisted_domains:
        item = _domain_json(d)
        if item["name"] == f"allowlistedDomains/{domain_id}":
            return Response.json(item)
    raise RpcError(404, "NOT_FOUND", "Requested entity was not found.")


ROUTES: list[Route] = [
    route("GET", r"/v1/policies", "cloudidentity.policies.list", policies_list),
    route("GET", r"/v1/policies/(?P<policy_id>[^/]+)", "cloudidentity.policies.get", policies_get),
    route("GET", r"/v1/allowlistedDomains", "cloudidentity.allowlistedDomains.list", allowlisted_list),
    route("GET", r"/v1/allowlistedDomains/(?P<domain_id>[^/]+)", "cloudidentity.allowlistedDomains.get",
          allowlisted_get),
]
