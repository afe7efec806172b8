"""Exposure classification: every permission shape → exact class (DESIGN.md §3)."""

from __future__ import annotations

from typing import Any

import pytest

from scanner.connectors.google.drive_api import permission_from_api
from scanner.connectors.google.mime import GOOGLE_DOC, GOOGLE_FOLDER, item_kind
from scanner.core.exposure import can_be_published, classify, classify_permission, is_exposed, is_external
from scanner.core.models import DriveFile, Exposure, Permission

ORG = frozenset({"tessera-labs.com", "tessera.example"})


def perm(**data: Any) -> Permission:
    return permission_from_api({"id": data.pop("id", "p1"), "role": data.pop("role", "reader"), **data})


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"type": "anyone", "allowFileDiscovery": True}, Exposure.PUBLIC),
        ({"type": "anyone", "allowFileDiscovery": False}, Exposure.ANYONE_WITH_LINK),
        ({"type": "anyone"}, Exposure.ANYONE_WITH_LINK),
        ({"type": "domain", "domain": "tessera-labs.com"}, Exposure.DOMAIN),
        ({"type": "domain", "domain": "Tessera-Labs.COM", "allowFileDiscovery": True}, Exposure.DOMAIN),
        ({"type": "domain", "domain": "tessera.example"}, Exposure.DOMAIN),
        ({"type": "domain", "domain": "halcyon-motors.com"}, Exposure.EXTERNAL_DOMAIN),
        ({"type": "domain", "domain": "sub.tessera-labs.com"}, Exposure.EXTERNAL_DOMAIN),
        ({"type": "user", "emailAddress": "ana@tessera-labs.com"}, Exposure.INTERNAL),
        ({"type": "user", "emailAddress": "Ana@TESSERA-LABS.com", "role": "owner"}, Exposure.INTERNAL),
        ({"type": "user", "emailAddress": "bob@gmail.com"}, Exposure.EXTERNAL_USER),
        ({"type": "user", "emailAddress": "eve@tessera-labs.com.evil.io"}, Exposure.EXTERNAL_USER),
        ({"type": "user"}, Exposure.EXTERNAL_USER),
        ({"type": "group", "emailAddress": "eng@tessera-labs.com"}, Exposure.INTERNAL),
        ({"type": "group", "emailAddress": "partners@orion-health.org"}, Exposure.EXTERNAL_GROUP),
        ({"type": "user", "emailAddress": "bob@gmail.com", "deleted": True}, None),
        # a form's responders (the published view): anyone can fill it in, i.e. the form is published
        ({"type": "anyone", "view": "published"}, Exposure.PUBLISHED),
        ({"type": "user", "emailAddress": "bob@gmail.com", "view": "published"}, Exposure.EXTERNAL_USER),
        ({"type": "user", "emailAddress": "ana@tessera-labs.com", "view": "published"}, Exposure.INTERNAL),
    ],
)
def test_classify_permission(data: dict[str, Any], expected: Exposure | None) -> None:
    assert classify_permission(perm(**data), ORG) == expected


def _file(*perms: Permission, published: bool = False, mime: str = "text/plain") -> DriveFile:
    return DriveFile(id="f1", name="x", mime_type=mime, permissions=perms, published=published)


OWNER = perm(id="o", type="user", role="owner", emailAddress="ana@tessera-labs.com")


@pytest.mark.parametrize(
    ("perms", "published", "widest", "classes", "external"),
    [
        ((OWNER,), False, Exposure.INTERNAL, {Exposure.INTERNAL}, False),
        ((OWNER, perm(id="d", type="domain", domain="tessera-labs.com")), False, Exposure.DOMAIN,
         {Exposure.DOMAIN}, False),
        ((OWNER,), True, Exposure.PUBLISHED, {Exposure.PUBLISHED}, True),
        ((OWNER, perm(id="a", type="anyone", allowFileDiscovery=False),
          perm(id="u", type="user", emailAddress="x@gmail.com")), False, Exposure.ANYONE_WITH_LINK,
         {Exposure.ANYONE_WITH_LINK, Exposure.EXTERNAL_USER}, True),
        ((OWNER, perm(id="a", type="anyone", allowFileDiscovery=True)), True, Exposure.PUBLIC,
         {Exposure.PUBLIC, Exposure.PUBLISHED}, True),
        ((OWNER, perm(id="g", type="group", emailAddress="g@partner.io"),
          perm(id="e", type="domain", domain="partner.io")), False, Exposure.EXTERNAL_DOMAIN,
         {Exposure.EXTERNAL_DOMAIN, Exposure.EXTERNAL_GROUP}, True),
    ],
)
def test_classify_file(
    perms: tuple[Permission, ...], published: bool, widest: Exposure, classes: set[Exposure], external: bool
) -> None:
    result = classify(_file(*perms, published=published), ORG)
    assert result.widest is widest
    assert result.classes == classes
    assert is_external(result) is external
    assert is_exposed(result) is (widest is not Exposure.INTERNAL)


def test_inherited_permissions_keep_their_ancestor_and_sort_after_direct() -> None:
    inherited = perm(id="a1", type="anyone", permissionDetails=[
        {"permissionType": "file", "role": "reader", "inherited": True, "inheritedFrom": "folder9"}])
    direct = perm(id="a2", type="anyone")
    result = classify(_file(OWNER, inherited, direct), ["tessera-labs.com"])
    assert [(e.permission.id, e.permission.inherited, e.permission.inherited_from) for e in result.exposed] == [
        ("a2", False, None), ("a1", True, "folder9")]


@pytest.mark.parametrize(
    ("mime", "trashed", "expected"),
    [(GOOGLE_DOC, False, True), (GOOGLE_DOC, True, False), ("application/pdf", False, False),
     (GOOGLE_FOLDER, False, False)],
)
def test_can_be_published(mime: str, trashed: bool, expected: bool) -> None:
    assert can_be_published(DriveFile(id="f", name="n", mime_type=mime, trashed=trashed, kind=item_kind(mime))) \
        is expected


INHERITED_LINK = {"type": "anyone", "permissionDetails": [{"inherited": True, "inheritedFrom": "parent"}]}


@pytest.mark.parametrize(("limited", "perms", "expected"), [
    (False, [INHERITED_LINK], {Exposure.ANYONE_WITH_LINK}),
    (True, [INHERITED_LINK], {Exposure.INTERNAL}),  # limited access cuts what the folder inherits
    (True, [{**INHERITED_LINK, "permissionDetails": [{"inherited": True}, {"inherited": False}]}],
     {Exposure.ANYONE_WITH_LINK}),  # also set on the folder itself
    (True, [{"type": "anyone"}], {Exposure.ANYONE_WITH_LINK}),
    (True, [{"id": "m", "type": "user", "emailAddress": "x@gmail.com", "role": "organizer",
             "permissionDetails": [{"inherited": True, "permissionType": "member"}]}],
     {Exposure.EXTERNAL_USER}),  # shared-drive organizers keep access to limited folders
])
def test_limited_access_folders(limited: bool, perms: list[dict[str, Any]], expected: set[Exposure]) -> None:
    folder = DriveFile(id="f", name="KESTREL", mime_type=GOOGLE_FOLDER, kind=item_kind(GOOGLE_FOLDER), inherited_permissions_disabled=limited,
                       permissions=tuple(perm(**p) for p in perms))
    assert classify(folder, ORG).classes == expected


def test_form_responder_principal_is_its_own() -> None:
    responders, link = perm(type="anyone", view="published"), perm(type="anyone")
    assert (responders.principal, link.principal) == ("anyone#published", "anyone")
