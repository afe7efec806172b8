"""What to change when a Google call fails: the setting or the Admin console step, by error.

Google's own messages (``invalid_grant: Invalid email or User ID``, ``unauthorized_client``) do not
say which of the three things a domain-wide delegation needs is wrong: the user impersonated, the
client ID's scopes in the Admin console, or the key itself. These hints do, and name where to fix it.
"""

from __future__ import annotations

from collections.abc import Sequence

#: Where an administrator grants a service account's client ID its scopes.
DWD_CONSOLE = "Admin console > Security > Access and data control > API controls > Domain-wide delegation"
SCOPE_PREFIX = "https://www.googleapis.com/auth/"


def delegation_line(client_id: str, scopes: Sequence[str]) -> str:
    """The exact Admin console entry: ``... Domain-wide delegation: client ID 1234, scopes a,b``."""
    return f"{DWD_CONSOLE}: client ID {client_id or '(see the key file)'}, scopes {','.join(scopes)}"


def short_scope(scope: str) -> str:
    return scope.removeprefix(SCOPE_PREFIX)


def refresh_hint(reason: str, *, subject: str, client_id: str, scopes: Sequence[str]) -> str:
    """The fix for an OAuth token error (``invalid_grant``, ``unauthorized_client``...)."""
    if reason == "unauthorized_client":
        return (f"the key's client ID is not allowed these scopes for domain-wide delegation; add them in "
                f"{delegation_line(client_id, scopes)} (`sharescan doctor` lists every scope each key needs)")
    if reason == "invalid_grant":
        return (f"the user impersonated ({subject}) must be an existing, active user of your domain — check "
                "[google] admin_subject; a deleted key or a wrong clock gives the same error "
                "(`sharescan doctor` checks the key, the subject and the clock)")
    if reason in ("invalid_client", "invalid_scope"):
        return ("the key file is not a valid service-account key of this project, or it was deleted in the Cloud "
                "console; check [google] service_account_file / SHARESCAN_GOOGLE_KEY_FILE")
    return "run `sharescan doctor` to check keys, scopes and the admin subject"


def http_hint(status: int | None, reason: str, method: str) -> str:
    """The fix for an API error that retrying does not cure, or an empty string."""
    if status == 403 and method.startswith("directory."):
        return ("the impersonated [google] admin_subject must be a Workspace administrator allowed to read "
                "users and domains (Admin console > Account > Admin roles)")
    if status == 403 and reason in ("insufficientPermissions", "insufficientScopes"):
        return f"the key lacks a scope this call needs: grant it in {DWD_CONSOLE}"
    if status == 401:
        return "the access token was refused twice; check the key file and the clock (`sharescan doctor`)"
    return ""


def refused_hint(endpoint: str) -> str:
    if endpoint:
        return (f"connection refused by {endpoint}: is the emulator/proxy at [google] endpoint "
                "(SHARESCAN_GOOGLE_ENDPOINT) running?")
    return ("connection refused by Google's API endpoint: check this host's network, firewall and proxy "
            "(HTTPS_PROXY) settings")


def is_connection_refused(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it wraps) is a refused TCP connection: retrying will not help soon."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return True
        todo += [c for c in (current.__cause__, current.__context__) if c is not None]
        todo += [a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]
    return False
