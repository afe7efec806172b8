"""OAuth for the emulator: a generated service-account key, the JWT-bearer token grant, bearer tokens."""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

GOOGLE_TOKEN_AUD = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
WRITE_SCOPES = frozenset({
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/drive.file",
})
READ_SCOPES = WRITE_SCOPES | {
    "https://www.googleapis.com/auth/drive.readonly",
    "https://www.googleapis.com/auth/drive.metadata.readonly",
    "https://www.googleapis.com/auth/drive.metadata",
}
CONTENT_SCOPES = WRITE_SCOPES | {"https://www.googleapis.com/auth/drive.readonly"}
DIRECTORY_SCOPES = frozenset({
    "https://www.googleapis.com/auth/admin.directory.user",
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
    "https://www.googleapis.com/auth/admin.directory.domain",
    "https://www.googleapis.com/auth/admin.directory.domain.readonly",
})
GROUP_MEMBER_SCOPES = frozenset({
    "https://www.googleapis.com/auth/admin.directory.group",
    "https://www.googleapis.com/auth/admin.directory.group.readonly",
    "https://www.googleapis.com/auth/admin.directory.group.member",
    "https://www.googleapis.com/auth/admin.directory.group.member.readonly",
})


@dataclass(frozen=True)
class ServiceAccountKey:
    client_email: str
    client_id: str
    private_key_id: str
    private_key_pem: str
    token_uri: str = ""

    @classmethod
    def generate(cls, project: str = "sharescan-emulator", bits: int = 2048) -> ServiceAccountKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        return cls(client_email=f"sharescan@{project}.iam.gserviceaccount.com",
                   client_id=str(100000000000000000000 + secrets.randbelow(10**20)),
                   private_key_id=secrets.token_hex(20), private_key_pem=pem)

    def info(self, token_uri: str, project: str = "sharescan-emulator") -> dict[str, str]:
        """The service-account key JSON, as Google's console would download it."""
        return {
            "type": "service_account", "project_id": project, "private_key_id": self.private_key_id,
            "private_key": self.private_key_pem, "client_email": self.client_email, "client_id": self.client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
                                    + self.client_email.replace("@", "%40"),
            "universe_domain": "googleapis.com",
        }

    def write(self, path: str | Path, token_uri: str) -> Path:
        path = Path(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(self.info(token_uri), fh, indent=2)
        os.chmod(path, 0o600)
        return path

    @classmethod
    def from_info(cls, info: dict[str, Any]) -> ServiceAccountKey:
        return cls(client_email=info["client_email"], client_id=info.get("client_id", ""),
                   private_key_id=info["private_key_id"], private_key_pem=info["private_key"])

    def public_key(self) -> rsa.RSAPublicKey:
        key = serialization.load_pem_private_key(self.private_key_pem.encode(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key.public_key()


UNAUTHORIZED_CLIENT = ("Client is unauthorized to retrieve access tokens using this method, or client not "
                       "authorized for any of the scopes requested.")


@dataclass
class Delegation:
    """Domain-wide delegation as an administrator set it up in the Admin console.

    ``scopes`` is the client ID's list (None: every scope); ``refused`` takes scopes away for one
    subject (``"*"``: everyone), so a test can make the token endpoint answer like Google does when a
    scope is missing: ``unauthorized_client``.
    """

    scopes: frozenset[str] | None = None
    refused: dict[str, set[str]] = field(default_factory=dict)

    def refuse(self, scope: str, subject: str = "*") -> None:
        self.refused.setdefault(subject.lower(), set()).add(scope)

    def permits(self, subject: str, scopes: frozenset[str]) -> bool:
        if self.scopes is not None and not scopes <= self.scopes:
            return False
        blocked = self.refused.get("*", set()) | self.refused.get(subject.lower(), set())
        return not (scopes & blocked)


@dataclass(frozen=True)
class Grant:
    token: str
    subject: str  # impersonated user (or the service account itself)
    scopes: frozenset[str]
    expires_at: float


class TokenError(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description

    def body(self) -> bytes:
        return json.dumps({"error": self.error, "error_description": self.description}).encode()


def _b64d(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@dataclass
class TokenIssuer:
    """Verifies JWT-bearer assertions and keeps the issued bearer tokens."""

    key: ServiceAccountKey
    lifetime: int = 3600
    delegation: Delegation = field(default_factory=Delegation)
    _tokens: dict[str, Grant] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._public = self.key.public_key()

    def grant(self, form_body: bytes, known_user: Any) -> dict[str, Any]:
        """Handle a POST /token form. `known_user(email)` → (exists, suspended). Raises TokenError."""
        form = {k: v[0] for k, v in parse_qs(form_body.decode()).items()}
        if form.get("grant_type") != JWT_GRANT:
            raise TokenError("unsupported_grant_type", "Invalid grant_type: " + form.get("grant_type", ""))
        claims = self._verify(form.get("assertion", ""))
        subject = claims.get("sub") or self.key.client_email
        if subject != self.key.client_email:
            exists, suspended = known_user(subject)
            if not exists or suspended:
                raise TokenError("invalid_grant", "Invalid email or User ID")
        scopes = frozenset(str(claims.get("scope", "")).split())
        if not scopes:
            raise TokenError("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
        if subject != self.key.client_email and not self.delegation.permits(subject, scopes):
            raise TokenError("unauthorized_client", UNAUTHORIZED_CLIENT)
        token = "ya29.emu-" + secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = Grant(token, subject.lower(), scopes, time.time() + self.lifetime)
        return {"access_token": token, "expires_in": self.lifetime - 1, "token_type": "Bearer",
                "scope": " ".join(sorted(scopes))}

    def _verify(self, assertion: str) -> dict[str, Any]:
        try:
            head_b64, claims_b64, sig_b64 = assertion.split(".")
            header = json.loads(_b64d(head_b64))
            claims = json.loads(_b64d(claims_b64))
            signature = _b64d(sig_b64)
        except (ValueError, TypeError) as exc:
            raise TokenError("invalid_grant", "Invalid JWT: malformed assertion") from exc
        if header.get("alg") != "RS256":
            raise TokenError("invalid_grant", "Invalid JWT Signature.")
        try:
            self._public.verify(signature, f"{head_b64}.{claims_b64}".encode(), padding.PKCS1v15(),
                                hashes.SHA256())
        except InvalidSignature as exc:
            raise TokenError("invalid_grant", "Invalid JWT Signature.") from exc
        if claims.get("iss") != self.key.client_email:
            raise TokenError("invalid_client", "The OAuth client was not found.")
        if claims.get("aud") != GOOGLE_TOKEN_AUD and not str(claims.get("aud", "")).endswith("/token"):
            raise TokenError("invalid_grant", "Invalid JWT: Failed audience check.")
        now = time.time()
        if float(claims.get("exp", 0)) < now - 300 or float(claims.get("iat", 0)) > now + 300:
            raise TokenError("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) "
                                              "and in a reasonable timeframe.")
        return dict(claims)

    def lookup(self, authorization: str | None) -> Grant | None:
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        token = authorization[7:].strip()
        with self._lock:
            grant = self._tokens.get(token)
        if grant is None or grant.expires_at < time.time():
            return None
        return grant

    def expire_all(self) -> int:
        with self._lock:
            n = len(self._tokens)
            self._tokens.clear()
        return n

    def issue_for_test(self, subject: str, scopes: frozenset[str]) -> str:
        """Mint a token without the JWT dance (for quick tests and the benchmark)."""
        token = "ya29.emu-" + secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = Grant(token, subject.lower(), scopes, time.time() + self.lifetime)
        return token
