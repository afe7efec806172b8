"""Typed, immutable views of Drive resources and the exposure derived from them.

These are the objects passed between the crawler, the exposure classifier, the content
pipeline, the policy engine and the store. They never hold document text.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

#: The provider of today's items; its findings keep the fingerprints they had before providers existed.
GOOGLE = "google"

GOOGLE_DOC = "application/vnd.google-apps.document"
GOOGLE_SHEET = "application/vnd.google-apps.spreadsheet"
GOOGLE_SLIDES = "application/vnd.google-apps.presentation"
GOOGLE_FOLDER = "application/vnd.google-apps.folder"
GOOGLE_SHORTCUT = "application/vnd.google-apps.shortcut"
GOOGLE_FORM = "application/vnd.google-apps.form"
#: A permission in this view lets its principal respond to a form, not open the file.
PUBLISHED_VIEW = "published"
#: Google Docs editor files, the only ones that can be "published to the web".
GOOGLE_EDITOR_TYPES = frozenset({GOOGLE_DOC, GOOGLE_SHEET, GOOGLE_SLIDES})


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
    #: The permission exactly as Drive returned it (for restore and the audit trail).
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
        details = self.raw.get("permissionDetails") or []
        return all(d.get("inherited") for d in details) if details else self.inherited

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Permission:
        details = data.get("permissionDetails") or []
        inherited = any(bool(d.get("inherited")) for d in details)
        inherited_from = next((d.get("inheritedFrom") for d in details if d.get("inherited")), None)
        return cls(
            id=str(data.get("id", "")),
            type=str(data.get("type", "")),
            role=str(data.get("role", "")),
            email_address=data.get("emailAddress"),
            domain=data.get("domain"),
            allow_file_discovery=data.get("allowFileDiscovery"),
            expiration_time=data.get("expirationTime"),
            deleted=bool(data.get("deleted", False)),
            inherited=inherited,
            inherited_from=inherited_from,
            view=data.get("view") or None,
            raw=dict(data),
        )


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

    @property
    def revision_key(self) -> str:
        """What identifies this revision of the content (analyse once per revision)."""
        return self.md5_checksum or self.head_revision_id or self.version or self.modified_time or ""

    @property
    def is_google_editor_file(self) -> bool:
        return self.mime_type in GOOGLE_EDITOR_TYPES

    @property
    def is_folder(self) -> bool:
        return self.mime_type == GOOGLE_FOLDER

    @property
    def is_form(self) -> bool:
        return self.mime_type == GOOGLE_FORM


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
