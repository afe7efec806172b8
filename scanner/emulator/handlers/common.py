"""Request/response types, the per-request context and helpers shared by the handlers."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qs

from ..auth import CONTENT_SCOPES, READ_SCOPES, WRITE_SCOPES
from ..content import EXPORT_LIMIT
from ..discovery import schemas
from ..errors import ApiError, insufficient_scopes, invalid, not_found
from ..fields import Mask, apply_mask, parse_fields, validate
from ..state.model import ROLE_RANK, DriveFile
from ..state.workspace import Workspace

T = TypeVar("T")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""

    @classmethod
    def build(cls, method: str, target: str, headers: dict[str, str], body: bytes) -> Request:
        path, _, qs = target.partition("?")
        return cls(method.upper(), path, parse_qs(qs, keep_blank_values=True),
                   {k.lower(): v for k, v in headers.items()}, body)

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def flag(self, name: str) -> bool:
        return (self.param(name) or "false").lower() == "true"

    def int_param(self, name: str, default: int, maximum: int, minimum: int = 1) -> int:
        raw = self.param(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError as exc:
            raise invalid("Invalid Value", location=name) from exc
        if value < minimum:
            raise invalid(f"Invalid value '{raw}'. Values must be within the range: [{minimum}, {maximum}]",
                          location=name)
        return min(value, maximum)

    def json(self) -> dict[str, Any]:
        if not self.body:
            return {}
        try:
            data = json.loads(self.body)
        except ValueError as exc:
            raise ApiError(400, "parseError", "Parse Error") from exc
        if not isinstance(data, dict):
            raise ApiError(400, "parseError", "Parse Error")
        return data


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, obj: Any, status: int = 200) -> Response:
        return cls(status, json.dumps(obj, separators=(",", ":")).encode(),
                   {"Content-Type": "application/json; charset=UTF-8"})

    @classmethod
    def empty(cls) -> Response:
        return cls(204, b"", {})


@dataclass
class Settings:
    export_limit: int = EXPORT_LIMIT
    #: Seconds before a Drive audit activity shows in the Reports API (Google: minutes to hours).
    reports_lag_seconds: float = 0.0


class ListCache:
    """Recent files.list result sets, so paging does not re-filter the whole domain for every page."""

    def __init__(self, size: int = 64) -> None:
        self._data: OrderedDict[str, tuple[int, list[str]]] = OrderedDict()
        self._size = size

    def get(self, key: str, version: int) -> list[str] | None:
        hit = self._data.get(key)
        if hit is None or hit[0] != version:
            return None
        self._data.move_to_end(key)
        return hit[1]

    def put(self, key: str, version: int, ids: list[str]) -> None:
        self._data[key] = (version, ids)
        self._data.move_to_end(key)
        while len(self._data) > self._size:
            self._data.popitem(last=False)


@dataclass
class Ctx:
    ws: Workspace
    email: str  # the caller (impersonated user)
    scopes: frozenset[str]
    settings: Settings
    cache: ListCache

    @property
    def is_admin(self) -> bool:
        user = self.ws.users.get(self.email)
        return bool(user and user.is_admin and not user.suspended)

    def need_read(self) -> None:
        if not self.scopes & READ_SCOPES:
            raise insufficient_scopes()

    def need_content(self) -> None:
        if not self.scopes & CONTENT_SCOPES:
            raise insufficient_scopes()

    def need_write(self) -> None:
        if not self.scopes & WRITE_SCOPES:
            raise insufficient_scopes()


Handler = Callable[..., Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    endpoint: str
    handler: Handler


def route(method: str, pattern: str, endpoint: str, handler: Handler) -> Route:
    return Route(method, re.compile("^" + pattern + "$"), endpoint, handler)


def mask_for(req: Request, default: Mask, schema: str, api: str = "drive.v3") -> Mask | None:
    """The field mask to apply: the request's `fields` (validated) or Google's default."""
    text = req.param("fields")
    if text is None or text.strip() == "":
        return default
    mask = parse_fields(text)
    validate(mask, schema, schemas(api))
    return mask


def masked(obj: dict[str, Any], mask: Mask | None) -> dict[str, Any]:
    result: dict[str, Any] = apply_mask(obj, mask)
    return result


def visible_file(ctx: Ctx, req: Request, file_id: str, *, all_drives_flag: bool = True) -> tuple[DriveFile, str]:
    """The file and the caller's role on it; 404 like Google when they cannot see it.

    Methods that take ``supportsAllDrives`` 404 on shared-drive items without it; methods that
    have no such parameter (``files.export``) pass ``all_drives_flag=False``.
    """
    f = ctx.ws.files.get(file_id)
    if f is None:
        raise not_found(file_id)
    if all_drives_flag and f.drive_id and not (req.flag("supportsAllDrives") or req.flag("supportsTeamDrives")):
        raise not_found(file_id)
    role = ctx.ws.role_of(ctx.email, f)
    if role is None:
        if req.flag("useDomainAdminAccess") and ctx.is_admin and f.drive_id:
            return f, "organizer"
        raise not_found(file_id)
    return f, role


def can_share(f: DriveFile, role: str) -> bool:
    if f.drive_id:
        return ROLE_RANK[role] >= ROLE_RANK["fileOrganizer"] or role == "writer"
    return role in ("owner", "writer")


def page_token(key: str, offset: int) -> str:
    raw = json.dumps({"k": key[:16], "o": offset}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_page_token(token: str | None, key: str) -> int:
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if data["k"] != key[:16]:
            raise ValueError("token for another query")
        return int(data["o"])
    except (ValueError, KeyError, TypeError) as exc:
        raise invalid("Invalid Value", location="pageToken") from exc


def paginate(req: Request, key: str, items: Sequence[T], page_size: int) -> tuple[Sequence[T], str | None]:
    """The page of `items` the request's ``pageToken`` points at, and the next page's token (None on the last)."""
    offset = read_page_token(req.param("pageToken"), key)
    end = offset + page_size
    return items[offset:end], (page_token(key, end) if end < len(items) else None)


def query_key(*parts: object) -> str:
    return hashlib.sha1(repr(parts).encode(), usedforsecurity=False).hexdigest()

