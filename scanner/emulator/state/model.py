"""Typed records of the emulated workspace (users, groups, shared drives, files, permissions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FOLDER = "application/vnd.google-apps.folder"
DOC = "application/vnd.google-apps.document"
SHEET = "application/vnd.google-apps.spreadsheet"
SLIDES = "application/vnd.google-apps.presentation"
SHORTCUT = "application/vnd.google-apps.shortcut"
FORM = "application/vnd.google-apps.form"
NATIVE_EDITORS = (DOC, SHEET, SLIDES)

FILE_ROLES = ("reader", "commenter", "writer", "fileOrganizer", "organizer", "owner")
ROLE_RANK = {role: rank for rank, role in enumerate(FILE_ROLES, start=1)}


@dataclass(slots=True)
class User:
    email: str
    name: str
    id: str
    permission_id: str
    is_admin: bool = False
    suspended: bool = False
    org_unit: str = "/"
    created: str = "2023-01-09T09:00:00.000Z"

    @property
    def domain(self) -> str:
        return self.email.rsplit("@", 1)[1]


@dataclass(slots=True)
class Group:
    email: str
    name: str
    members: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Permission:
    """A permission set directly on a file/folder/shared drive (owner is implicit, from DriveFile.owner)."""

    id: str
    type: str  # user | group | domain | anyone
    role: str
    email: str | None = None
    domain: str | None = None
    allow_file_discovery: bool | None = None
    display_name: str | None = None
    expiration_time: str | None = None
    pending_owner: bool = False
    #: ``published``: a form's responder permission (listed only with includePermissionsForView=published;
    #: responders can fill the form in, not open the file).
    view: str | None = None


@dataclass(slots=True)
class Revision:
    id: str
    modified_time: str
    modifier: str | None = None
    published: bool = False
    publish_auto: bool = False
    published_outside_domain: bool = False
    size: int | None = None
    md5: str | None = None


@dataclass(slots=True)
class NativeContent:
    """Structured content of a Google Docs editor file."""

    text: str = ""  # Docs
    sheets: list[tuple[str, list[list[Any]]]] = field(default_factory=list)  # Sheets: (title, rows)
    slides: list[str] = field(default_factory=list)  # Slides: text per slide


@dataclass(slots=True)
class DriveFile:
    id: str
    name: str
    mime_type: str
    created_time: str
    modified_time: str
    owner: str | None = None  # email; None for shared-drive items
    parents: list[str] = field(default_factory=list)
    drive_id: str | None = None
    trashed: bool = False
    permissions: list[Permission] = field(default_factory=list)
    content: bytes | None = None
    native: NativeContent | None = None
    lazy: tuple[str, int] | None = None  # (generator kind, seed): content generated when read
    version: int = 1
    revisions: list[Revision] = field(default_factory=list)
    shortcut_target: str | None = None
    last_modifier: str | None = None
    description: str | None = None
    #: Limited access (folders only): inherited permissions stop here; only direct permissions, the
    #: My Drive owner and shared-drive organizers reach the folder and what it holds.
    inherited_permissions_disabled: bool = False

    @property
    def is_folder(self) -> bool:
        return self.mime_type == FOLDER

    @property
    def is_native(self) -> bool:
        return self.mime_type in NATIVE_EDITORS

    @property
    def is_form(self) -> bool:
        return self.mime_type == FORM


@dataclass(slots=True)
class SharedDrive:
    id: str
    name: str
    created_time: str
    members: list[Permission] = field(default_factory=list)  # roles organizer|fileOrganizer|writer|...
    domain_users_only: bool = False
    drive_members_only: bool = False
    hidden: bool = False


@dataclass(slots=True)
class Change:
    seq: int
    time: str
    file_id: str | None
    drive_id: str | None  # shared drive of the file (or changed drive for changeType=drive)
    change_type: str  # file | drive
    before: frozenset[str]  # principals keys that had the file in their corpus before the change
    removed: bool = False


@dataclass(slots=True)
class Event:
    time: str
    kind: str  # permission.created | permission.updated | permission.deleted | revision.unpublished | ...
    actor: str
    file_id: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"time": self.time, "kind": self.kind, "actor": self.actor, "fileId": self.file_id,
                "before": self.before, "after": self.after}
