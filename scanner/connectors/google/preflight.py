"""Ask Google's OAuth token endpoint, one scope at a time, whether a key may act as a user.

This is the JWT-bearer grant that google-auth performs before every call (RFC 7523, the way
domain-wide delegation works), made by hand so that the preflight sees what the library hides: the
exact ``error``/``error_description`` per scope, and the server's ``Date`` header to measure the
clock skew that makes Google refuse assertions.
"""

from __future__ import annotations

import email.utils
import json
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httplib2
from google.auth import crypt, jwt

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: Seconds a server's clock may differ from ours before the assertion is refused (Google allows ~5 min).
MAX_SKEW_SECONDS = 300.0


@dataclass(frozen=True)
class TokenProbe:
    """The token endpoint's answer for one subject and one scope."""

    subject: str
    scope: str
    ok: bool
    error: str = ""  # OAuth error code: invalid_grant, unauthorized_client... or a transport failure
    description: str = ""
    server_time: float | None = None  # from the Date header
    local_time: float = 0.0

    @property
    def skew_seconds(self) -> float | None:
        """Our clock minus the server's (positive: ours is ahead)."""
        return None if self.server_time is None else self.local_time - self.server_time


def token_uri(info: dict[str, Any], endpoint: str = "") -> str:
    return f"{endpoint.rstrip('/')}/token" if endpoint else str(info.get("token_uri") or GOOGLE_TOKEN_URI)


def probe_token(info: dict[str, Any], subject: str, scope: str, *, endpoint: str = "", timeout: float = 30.0,
                clock: Callable[[], float] = time.time) -> TokenProbe:
    """Request an access token for ``subject`` with only ``scope``; the token itself is discarded."""
    uri = token_uri(info, endpoint)
    now = clock()
    payload = {"iss": info["client_email"], "scope": scope, "aud": GOOGLE_TOKEN_URI, "iat": int(now),
               "exp": int(now) + 3600, "sub": subject}
    signer = crypt.RSASigner.from_service_account_info(info)
    assertion = jwt.encode(signer, payload)
    body = urllib.parse.urlencode({"grant_type": JWT_GRANT, "assertion": assertion})
    http = httplib2.Http(proxy_info=None, timeout=timeout) if endpoint else httplib2.Http(timeout=timeout)
    try:
        response, content = http.request(uri, "POST", body=body,
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    except (OSError, httplib2.HttpLib2Error) as exc:
        return TokenProbe(subject, scope, ok=False, error=type(exc).__name__, description=str(exc), local_time=now)
    local = clock()
    server = None
    if response.get("date"):
        try:
            server = email.utils.parsedate_to_datetime(response["date"]).timestamp()
        except (TypeError, ValueError):
            server = None
    try:
        data = json.loads(content.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        data = {}
    if response.status == 200 and isinstance(data, dict) and data.get("access_token"):
        return TokenProbe(subject, scope, ok=True, server_time=server, local_time=local)
    error = str(data.get("error", f"HTTP {response.status}")) if isinstance(data, dict) else f"HTTP {response.status}"
    description = str(data.get("error_description", "")) if isinstance(data, dict) else ""
    return TokenProbe(subject, scope, ok=False, error=error, description=description, server_time=server,
                      local_time=local)
