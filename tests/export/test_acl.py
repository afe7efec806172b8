"""Sharing changes in words, for every kind of action and outcome."""

from __future__ import annotations

from typing import Any

import pytest

from scanner.export.acl import change, describe

LINK = {"id": "anyoneWithLink", "type": "anyone", "role": "reader", "allowFileDiscovery": False}
DOMAIN = {"id": "d1", "type": "domain", "domain": "tessera-labs.com", "role": "reader"}


@pytest.mark.parametrize(("perm", "text"), [
    (LINK, "anyone with the link (reader)"),
    ({"type": "anyone", "role": "writer", "allow_file_discovery": True}, "anyone on the web (findable) (writer)"),
    (DOMAIN, "people at tessera-labs.com (reader)"),
    ({"type": "user", "role": "writer", "emailAddress": "jo@partner.example", "expirationTime": "2026-04-01T00:00:00Z"},
     "jo@partner.example (writer, until 2026-04-01T00:00:00Z)"),
    ({"type": "group", "role": "reader", "email_address": "ext\u202e@x.example"}, "ext<U+202E>@x.example (reader)"),
    (None, "nobody"),
])
def test_describe(perm: dict[str, Any] | None, text: str) -> None:
    assert describe(perm) == text


@pytest.mark.parametrize(("action", "status", "before", "after", "text"), [
    ("revoke", "verified", {"permission": LINK}, {"permission": None}, "anyone with the link (reader) → removed"),
    ("revoke", "failed", {"permission": LINK}, None, "anyone with the link (reader) → not changed"),
    ("revoke", "planned", {"permission": {"type": "anyone", "role": "reader", "allow_file_discovery": False}}, None,
     "anyone with the link (reader) → not changed"),
    ("revoke", "already_gone", None, None, "already removed → nothing to change"),
    ("downgrade", "verified", {"permission": LINK}, {"created": DOMAIN, "permission": None},
     "anyone with the link (reader) → people at tessera-labs.com (reader)"),
    ("downgrade", "verified", {"permission": LINK, "domain_permission": DOMAIN}, {"created": None},
     "anyone with the link (reader) → people at tessera-labs.com (reader)"),
    ("unpublish", "verified", {"revisions": [{"id": "1", "published": True}]}, {"revisions": []},
     "published to the web → not published"),
    ("expire", "verified", {"permission": {"type": "user", "role": "reader", "emailAddress": "a@b.example"}},
     {"permission": {"type": "user", "role": "reader", "emailAddress": "a@b.example",
                     "expirationTime": "2026-03-17T00:00:00Z"}},
     "a@b.example (reader) → a@b.example (reader, until 2026-03-17T00:00:00Z)"),
    ("restore", "restored", None, {"permission": LINK}, "removed → anyone with the link (reader)"),
    ("notify", "applied", None, {"notification_ids": [1]}, "— → owner notified"),
])
def test_change(action: str, status: str, before: Any, after: Any, text: str) -> None:
    assert str(change(action, status, before, after)) == text
