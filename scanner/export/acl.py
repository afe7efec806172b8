"""Sharing as a person reads it: "anyone with the link (reader) → people at tessera-labs.com (reader)".

An action stores the exact Drive permission JSON before and after (the evidence); reports show
this reading of it instead. Works on both spellings the store holds: the Drive API's
(``allowFileDiscovery``, ``emailAddress``) and the finding's snapshot (``allow_file_discovery``…).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scanner.safetext import display

#: Statuses after which the change was made (or found already made).
DONE = frozenset({"verified", "already_gone", "restored", "applied"})


def _get(perm: dict[str, Any], camel: str, snake: str) -> Any:
    return perm.get(camel, perm.get(snake))


def describe(perm: dict[str, Any] | None) -> str:
    """One permission: who, and the role (and the expiry when there is one)."""
    if not perm:
        return "nobody"
    kind = perm.get("type")
    role = perm.get("role") or "?"
    if kind == "anyone":
        who = "anyone on the web (findable)" if _get(perm, "allowFileDiscovery", "allow_file_discovery") \
            else "anyone with the link"
    elif kind == "domain":
        who = f"people at {display(perm.get('domain') or '?')}"
    elif kind in ("user", "group"):
        who = display(_get(perm, "emailAddress", "email_address") or f"a {kind}")
    else:
        who = display(kind or "?")
    expires = _get(perm, "expirationTime", "expiration_time")
    return f"{who} ({role}{', until ' + str(expires) if expires else ''})"


@dataclass(frozen=True)
class Change:
    before: str
    after: str

    def __str__(self) -> str:
        return f"{self.before} → {self.after}"


def change(action: str, status: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> Change:
    """The sharing before and after one action, in words ("not changed" when the action did not act)."""
    before = before or {}
    after = after or {}
    perm = before.get("permission")
    done = status in DONE
    if action == "notify":
        return Change("—", "owner notified" if status == "applied" else f"owner not notified ({status})")
    if action == "unpublish":
        was = "published to the web" if before.get("revisions") or before.get("published") else "not published"
        return Change(was, "not published" if done else "not changed")
    if action == "restore":
        restored = after.get("permission") or after.get("created")
        if restored:
            return Change("removed", describe(restored))
        return Change("not published", "published to the web again" if after.get("revisions") else "restored")
    if not done:
        return Change(describe(perm), "not changed")
    if status == "already_gone" and not perm:
        return Change("already removed", "nothing to change")
    if action == "revoke":
        return Change(describe(perm), "removed")
    if action == "downgrade":
        granted = after.get("created") or before.get("domain_permission")
        return Change(describe(perm), describe(granted) if granted else "removed")
    if action == "expire":
        return Change(describe(perm), describe(after.get("permission") or perm))
    return Change(describe(perm), describe(after.get("permission")) if after.get("permission") else "changed")
