"""Google-shaped API errors raised by handlers and rendered by the server."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class DropConnection(Exception):
    """Close the socket without answering (a fault). Inside a batch only that part fails."""


@dataclass
class ApiError(Exception):
    """An error answered with Google's JSON error shape."""

    code: int
    reason: str
    message: str
    domain: str = "global"
    location: str | None = None
    location_type: str | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code} {self.reason}: {self.message}"

    def body(self) -> dict[str, Any]:
        item: dict[str, Any] = {"message": self.message, "domain": self.domain, "reason": self.reason}
        if self.location:
            item["location"] = self.location
            item["locationType"] = self.location_type or "parameter"
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "errors": [item],
                "status": _STATUS.get(self.code, "UNKNOWN"),
            }
        }

    def payload(self) -> bytes:
        return json.dumps(self.body()).encode()


def not_found(file_id: str, what: str = "File") -> ApiError:
    return ApiError(404, "notFound", f"{what} not found: {file_id}.", location="fileId")


def bad_request(message: str, location: str | None = None, reason: str = "badRequest") -> ApiError:
    return ApiError(400, reason, message, location=location)


def invalid(message: str, location: str | None = None) -> ApiError:
    return ApiError(400, "invalid", message, location=location)


def forbidden(reason: str, message: str) -> ApiError:
    return ApiError(403, reason, message)


def unauthenticated(message: str = "Request had invalid authentication credentials. Expected OAuth 2 access "
                    "token, login cookie or other valid authentication credential.") -> ApiError:
    return ApiError(401, "authError", message, location="Authorization", location_type="header",
                    extra_headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})


def insufficient_scopes() -> ApiError:
    return ApiError(403, "insufficientPermissions", "Request had insufficient authentication scopes.")


@dataclass
class RpcError(ApiError):
    """An error of Google's newer (one-platform) APIs such as Cloud Identity and Drive Labels: the body
    has ``code``, ``message``, ``status`` and ``details``, and no ``errors`` array."""

    details: list[dict[str, Any]] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message,
                                 "status": _STATUS.get(self.code, "UNKNOWN")}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def rpc_insufficient_scopes(service: str, method: str) -> RpcError:
    """403 for a token without the method's scope, as one-platform APIs answer it."""
    return RpcError(403, "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "Request had insufficient authentication scopes.",
                    details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                              "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "domain": "googleapis.com",
                              "metadata": {"service": service, "method": method}}])
