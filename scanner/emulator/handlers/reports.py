"""Admin SDK Reports API: ``activities.list`` (``applicationName=drive``: the Drive audit log).

Newest first; ``startTime``/``endTime`` (RFC 3339), ``eventName``, ``filters`` (``name==value``,
``<>``, ``<``, ``<=``, ``>``, ``>=``, comma-separated, all must hold), ``actorIpAddress``,
``orgUnitID``, ``groupIdFilter``, ``maxResults`` (1..1000, default 1000) and ``pageToken``.
Only the last 180 days are kept: older activities are never returned, a ``startTime`` further back
reads from the retention boundary, and a window that ends before it is refused as Google does
("Start time is after end time"). Activities appear ``Settings.reports_lag_seconds`` after they
happen (Google's reporting lag; 0 by default).
"""

from __future__ import annotations

import hashlib
import re
import time as clock
from datetime import datetime
from typing import Any

from ..errors import ApiError, insufficient_scopes, invalid
from ..fields import Mask, sub_mask, wants
from ..state.audit import RETENTION, Activity, AuditEvent, iso, now_utc, parse_time
from ..state.policies import group_id
from .common import Ctx, Request, Response, Route, mask_for, masked, route

API = "admin.reports_v1"
AUDIT_SCOPES = frozenset({"https://www.googleapis.com/auth/admin.reports.audit.readonly"})
APPLICATIONS = frozenset({
    "access_transparency", "admin", "calendar", "chat", "drive", "gcp", "gmail", "gplus", "groups",
    "groups_enterprise", "jamboard", "login", "meet", "mobile", "rules", "saml", "token", "user_accounts",
    "context_aware_access", "chrome", "data_studio", "keep", "vault", "gemini_in_workspace_apps", "classroom",
    "assignments", "cloud_search", "tasks", "data_migration", "meet_hardware", "directory_sync", "ldap", "profile",
    "access_evaluation", "admin_data_action", "contacts", "takeout", "graduation", "voice", "chrome_sync",
    "workspace_studio", "gemini_notebook"})
# the discovery document's pattern for startTime/endTime
_RFC3339 = re.compile(r"(\d\d\d\d)-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:(Z)|([-+])(\d\d):(\d\d))")
_FILTER = re.compile(r"^\s*([A-Za-z0-9_]+)\s*(==|<>|<=|>=|<|>)(.*)$")
LIST_DEFAULT: Mask = {"kind": None, "etag": None, "items": None, "nextPageToken": None}
_NOT_AUTHORIZED = "Access denied. You are not authorized to read activity records."


def _need_audit(ctx: Ctx) -> None:
    if not ctx.scopes & AUDIT_SCOPES:
        raise insufficient_scopes()
    if not ctx.is_admin:
        raise ApiError(401, "authError", _NOT_AUTHORIZED, location="Authorization", location_type="header")


def _time_param(req: Request, name: str) -> datetime | None:
    raw = req.param(name)
    if raw is None or raw == "":
        return None
    if not _RFC3339.fullmatch(raw):
        raise invalid(f"Invalid value '{raw}' for {name}.", location=name)
    try:
        return parse_time(raw)
    except ValueError as exc:
        raise invalid(f"Invalid value '{raw}' for {name}.", location=name) from exc


def _filters(text: str | None) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    for part in (text or "").split(","):
        if not part.strip():
            continue
        m = _FILTER.match(part)
        if m is None:
            raise invalid(f"Invalid value '{text}' for filters.", location="filters")
        out.append((m.group(1), m.group(2), m.group(3).strip()))
    return out


def _compare(actual: Any, op: str, wanted: str) -> bool:
    values = [str(v).lower() if isinstance(v, bool) else str(v) for v in
              (actual if isinstance(actual, tuple) else (actual,))]
    if op == "==":
        return wanted in values
    if op == "<>":
        return wanted not in values

    def ordered(a: str) -> bool:
        try:
            x: float | str = float(a)
            y: float | str = float(wanted)
        except ValueError:
            x, y = a, wanted
        return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]  # type: ignore[operator]

    return any(ordered(v) for v in values)


def _matching_events(activity: Activity, event_name: str | None,
                     filters: list[tuple[str, str, str]]) -> list[AuditEvent]:
    out = []
    for event in activity.events:
        if event_name and event.name != event_name:
            continue
        if all((value := event.param(name)) is not None and _compare(value, op, wanted)
               for name, op, wanted in filters):
            out.append(event)
    return out


def _token(key: str, activity: Activity) -> str:
    return f"A:{activity.time}:{activity.seq}:{key}"


def _read_token(raw: str | None, key: str) -> tuple[str, int] | None:
    """(time, seq) of the last activity of the previous page (the token names the query it belongs to)."""
    if not raw:
        return None
    try:
        prefix, rest = raw.split(":", 1)
        when, seq, token_key = rest.rsplit(":", 2)
        if prefix != "A" or token_key != key:
            raise ValueError("token of another query")
        return when, int(seq)
    except ValueError as exc:
        raise invalid("Invalid value for pageToken.", location="pageToken") from exc


def activities_list(ctx: Ctx, req: Request, user_key: str, application: str) -> Response:
    _need_audit(ctx)
    ws = ctx.ws
    if application not in APPLICATIONS:
        raise invalid(f"Invalid value '{application}' for applicationName.", location="applicationName")
    customer = req.param("customerId")
    if customer not in (None, "", "my_customer", ws.customer_id):
        raise ApiError(403, "forbidden", "Not Authorized to access this resource/api")
    actor: str | None = None
    if user_key.lower() != "all":
        user = ws.users.get(user_key.lower()) or next((u for u in ws.users.values() if u.id == user_key), None)
        if user is None:
            raise ApiError(404, "notFound", "Resource Not Found: userKey", location="userKey")
        actor = user.email
    raw_max = req.param("maxResults")
    page_size = 1000
    if raw_max:
        try:
            page_size = int(raw_max)
        except ValueError as exc:
            raise invalid(f"Invalid value '{raw_max}'.", location="maxResults") from exc
        if not 1 <= page_size <= 1000:
            raise invalid(f"Invalid value '{raw_max}'. Values must be within the range: [1, 1000]",
                          location="maxResults")
    now = now_utc()
    start, end = _time_param(req, "startTime"), _time_param(req, "endTime")
    floor = now - RETENTION
    effective_start = max(start, floor) if start else floor
    effective_end = min(end, now) if end else now
    if (start and start > now) or effective_start > effective_end:
        raise invalid("Invalid request: Start time is after end time.", location="startTime")
    event_name = req.param("eventName") or None
    filters = _filters(req.param("filters"))
    ip = req.param("actorIpAddress") or None
    members = _org_unit_members(ctx, req.param("orgUnitID"))
    group_members = _group_members(ctx, req.param("groupIdFilter"))
    mask = mask_for(req, LIST_DEFAULT, "Activities", API)
    key = hashlib.sha1(repr((user_key, application, start, end, event_name, filters, ip, req.param("orgUnitID"),
                             req.param("groupIdFilter"))).encode(), usedforsecurity=False).hexdigest()[:12]
    after = _read_token(req.param("pageToken"), key)
    lo, hi = iso(effective_start), iso(effective_end)
    visible_before = clock.time() - ctx.settings.reports_lag_seconds
    page: list[tuple[Activity, list[AuditEvent]]] = []
    more = False
    if application == "drive":
        for activity in ws.audit.newest_first():
            if activity.time > hi or (after and (activity.time, activity.seq) >= after):
                continue
            if activity.time < lo:
                break
            if activity.recorded and activity.recorded > visible_before:
                continue
            email = activity.actor_email
            if (actor and email != actor) or (ip and activity.ip_address != ip):
                continue
            if (members is not None and email not in members) or (group_members is not None
                                                                   and email not in group_members):
                continue
            events = _matching_events(activity, event_name, filters)
            if not events:
                continue
            if len(page) == page_size:
                more = True
                break
            page.append((activity, events))
    out: dict[str, Any] = {}
    if wants(mask, "kind"):
        out["kind"] = "admin#reports#activities"
    if wants(mask, "etag"):
        out["etag"] = f'"{key}/{len(ws.audit.activities)}"'
    if page and wants(mask, "items"):
        imask = sub_mask(mask, "items")
        items = []
        for activity, events in page:
            item = activity.to_json(ws)
            item["events"] = [e.to_json() for e in events]
            items.append(masked(item, imask))
        out["items"] = items
    if more and wants(mask, "nextPageToken"):
        out["nextPageToken"] = _token(key, page[-1][0])
    return Response.json(out)


def _org_unit_members(ctx: Ctx, raw: str | None) -> set[str] | None:
    if not raw:
        return None
    unit = ctx.ws.policies.unit_by_id(raw)
    if unit is None:
        raise invalid(f"Invalid value '{raw}' for orgUnitID.", location="orgUnitID")
    prefix = unit.path.rstrip("/") + "/"
    return {u.email for u in ctx.ws.users.values() if u.org_unit == unit.path or u.org_unit.startswith(prefix)}


def _group_members(ctx: Ctx, raw: str | None) -> set[str] | None:
    if not raw:
        return None
    wanted = {part.strip().removeprefix("id:") for part in raw.split(",") if part.strip()}
    emails = {g.email for g in ctx.ws.groups.values() if group_id(g.email) in wanted}
    return {u.email for u in ctx.ws.users.values() if emails & set(ctx.ws.groups_of(u.email))}


ROUTES: list[Route] = [
    route("GET", r"/admin/reports/v1/activity/users/(?P<user_key>[^/]+)/applications/(?P<application>[^/]+)",
          "admin.reports.activities.list", activities_list),
]
