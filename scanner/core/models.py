"""Typed, immutable views of a provider's items and grants, and the exposure derived from them.

These are the objects passed between the crawler, the exposure classifier, the content
pipeline, the policy engine and the store. They never hold document text.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

#: The provider of today's items; its findings keep the fingerprints they had before providers existed.
GOOGLE = "google"

#: A grant in this view lets its principal respond to a form, not open the item.
PUBLISHED_VIEW = "published"


class ItemKind(enum.StrEnum):
    """What an item is, as the connector that read it says (Google's MIME types:
    ``scanner/connectors/google/mime.py``)."""

    FILE = "file"
    #: An editor document (Google Docs, Sheets, Slides): it can be published to the web apart from its sharing.
    DOCUMENT = "document"
    FOLDER = "folder"
    SHORTCUT = "shortcut"
    #: A form: its responder grants let people fill it in, not open it.
    FORM = "form"


class Exposure(enum.StrEnum):
    """Who can open a file, from most to least exposed (docs/ARCHITECTURE.md, "Exposure classes")."""

    PUBLIC = "public"
    PUBLISHED = "published"
    ANYONE_WITH_LINK = "anyone_with_link"
    EXTERNAL_DOMAIN = "external_domain"
    EXTERNAL_GROUP = "external_group"
    EXTERNAL_USER = "external_user"
    DOMAIN = "domain"
    INTERNAL = "internal"

    @property
    def rank(self) -> int:
        """0 is the widest exposure."""
        return list(Exposure).index(self)

    @property
    def is_external(self) -> bool:
        return self not in (Exposure.DOMAIN, Exposure.INTERNAL)


@dataclass(frozen=True)
class Permission:
    """One Drive permission as the API returned it, plus what we derived from it."""

    id: str
    type: str  # user | group | domain | anyone
    role: str  # owner | organizer | fileOrganizer | writer | commenter | reader
    email_address: str | None = None
    domain: str | None = None
    allow_file_discovery: bool | None = None
    expiration_time: str | None = None
    deleted: bool = False
    inherited: bool = False
    inherited_from: str | None = None
    #: ``published`` for a form's responder permission (``permissions.list(includePermissionsForView=...)``).
    view: str | None = None
    #: Every grant of this permission comes from an ancestor (None: as ``inherited`` says).
    all_inherited: bool | None = field(default=None, compare=False, hash=False)
    #: The permission exactly as the provider returned it (for restore and the audit trail).
    raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def principal(self) -> str:
        """A stable name for who this permission grants access to (a form's responders: ``#published``)."""
        if self.type == "anyone":
            base = "anyone"
        elif self.type == "domain":
            base = f"domain:{(self.domain or '').lower()}"
        else:
            base = f"{self.type}:{(self.email_address or '').lower()}"
        return f"{base}#{self.view}" if self.view else base

    @property
    def inherited_only(self) -> bool:
        """Every grant of this permission comes from an ancestor (none is set on the item itself)."""
        return self.inherited if self.all_inherited is None else self.all_inherited

    @property
    def holder(self) -> tuple[str, str]:
        """Who it is for, as (type, key): ``("anyone", "")``, ``("domain", domain)``, ``("user", email)``…
        (lower case; unlike ``principal``, the view is not part of it)."""
        if self.type == "anyone":
            return self.type, ""
        if self.type == "domain":
            return self.type, (self.domain or "").lower()
        return self.type, (self.email_address or "").lower()

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Permission:
        """A grant as a finding records it (``matched_permissions``, core's own snake_case shape)."""
        return cls(id=str(data.get("id") or ""), type=str(data.get("type") or ""), role=str(data.get("role") or ""),
                   email_address=data.get("email_address"), domain=data.get("domain"),
                   allow_file_discovery=data.get("allow_file_discovery"),
                   expiration_time=data.get("expiration_time"), deleted=bool(data.get("deleted", False)),
                   inherited=bool(data.get("inherited", False)), inherited_from=data.get("inherited_from"),
                   view=data.get("view") or None)


@dataclass(frozen=True)
class ExposedPermission:
    """A permission together with the exposure class it grants."""

    permission: Permission
    exposure: Exposure


@dataclass(frozen=True)
class DriveFile:
    """Metadata of one Drive file (never its content)."""

    id: str
    name: str
    mime_type: str
    owner_email: str | None = None
    drive_id: str | None = None  # shared drive id, None for My Drive
    parents: tuple[str, ...] = ()
    modified_time: str | None = None
    created_time: str | None = None
    md5_checksum: str | None = None
    head_revision_id: str | None = None
    version: str | None = None
    size: int | None = None
    web_view_link: str | None = None
    trashed: bool = False
    shortcut_target_id: str | None = None
    permissions: tuple[Permission, ...] = ()
    published: bool = False
    labels: tuple[str, ...] = ()
    #: A folder with limited access: permissions it would inherit do not reach it or what it holds.
    inherited_permissions_disabled: bool = False
    #: The connector the item comes from (``scanner.connectors.registry``).
    provider: str = GOOGLE
    #: What the item is (the connector says; Google: from its MIME type).
    kind: ItemKind = ItemKind.FILE

    @property
    def revision_key(self) -> str:
        """What identifies this revision of the content (analyse once per revision)."""
        return self.md5_checksum or self.head_revision_id or self.version or self.modified_time or ""

    @property
    def is_editor_document(self) -> bool:
        """An editor document (publishable to the web apart from its sharing)."""
        return self.kind is ItemKind.DOCUMENT

    @property
    def is_folder(self) -> bool:
        return self.kind is ItemKind.FOLDER

    @property
    def is_shortcut(self) -> bool:
        return self.kind is ItemKind.SHORTCUT

    @property
    def is_form(self) -> bool:
        return self.kind is ItemKind.FORM


@dataclass(frozen=True)
class FileExposure:
    """The exposure of a file: each risky permission and the widest class overall."""

    file: DriveFile
    exposed: tuple[ExposedPermission, ...]

    @property
    def classes(self) -> frozenset[Exposure]:
        out = {e.exposure for e in self.exposed}
        if self.file.published:
            out.add(Exposure.PUBLISHED)
        return frozenset(out) or frozenset({Exposure.INTERNAL})

    @property
    def widest(self) -> Exposure:
        return min(self.classes, key=lambda e: e.rank)
