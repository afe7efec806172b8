"""Small helpers seeds use to create files and permissions consistently."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from ..state.model import NATIVE_EDITORS, DriveFile, NativeContent, Permission, Revision
from ..state.workspace import Workspace, permission_id_for


def file_id(namespace: str, key: str) -> str:
    """A deterministic Google-looking file id (33 chars, starts with 1)."""
    digest = hashlib.sha256(f"{namespace}:{key}".encode()).digest()
    return "1" + base64.urlsafe_b64encode(digest).decode().rstrip("=").replace("-", "x").replace("_", "y")[:32]


def drive_id(namespace: str, key: str) -> str:
    digest = hashlib.sha256(f"drive:{namespace}:{key}".encode()).digest()
    return "0A" + base64.urlsafe_b64encode(digest).decode()[:10].replace("-", "x").replace("_", "y") + "Uk9PVA"


def user_perm(ws: Workspace, email: str, role: str = "reader") -> Permission:
    return Permission(id=permission_id_for("user", email), type="user", role=role, email=email.lower(),
                      display_name=ws.display_name(email))


def group_perm(ws: Workspace, email: str, role: str = "reader") -> Permission:
    return Permission(id=permission_id_for("group", email), type="group", role=role, email=email.lower(),
                      display_name=ws.display_name(email))


def domain_perm(domain: str, role: str = "reader", discover: bool = False) -> Permission:
    return Permission(id=permission_id_for("domain", domain=domain), type="domain", role=role, domain=domain,
                      allow_file_discovery=discover, display_name=domain)


def anyone_perm(role: str = "reader", discover: bool = False) -> Permission:
    return Permission(id=permission_id_for("anyone", allow_file_discovery=discover), type="anyone", role=role,
                      allow_file_discovery=discover)


def make_file(ws: Workspace, *, fid: str, name: str, mime: str, created: str, modified: str | None = None,
              owner: str | None = None, parents: list[str] | None = None, drive: str | None = None,
              content: bytes | None = None, native: NativeContent | None = None,
              perms: list[Permission] | None = None, lazy: tuple[str, int] | None = None,
              shortcut_target: str | None = None, description: str | None = None,
              add: bool = True, **_: Any) -> DriveFile:
    modified = modified or created
    f = DriveFile(id=fid, name=name, mime_type=mime, created_time=created, modified_time=modified, owner=owner,
                  parents=list(parents or []), drive_id=drive, permissions=list(perms or []), content=content,
                  native=native, lazy=lazy, shortcut_target=shortcut_target, last_modifier=owner,
                  description=description)
    if mime in NATIVE_EDITORS:
        f.revisions = [Revision(id="1", modified_time=modified, modifier=owner)]
    elif content is not None:
        f.revisions = [Revision(id=hashlib.sha1(fid.encode(), usedforsecurity=False).hexdigest()[:26],
                                modified_time=modified, modifier=owner, size=len(content),
                                md5=hashlib.md5(content, usedforsecurity=False).hexdigest())]
    elif lazy is not None:
        f.revisions = [Revision(id=hashlib.sha1(fid.encode(), usedforsecurity=False).hexdigest()[:26],
                                modified_time=modified, modifier=owner)]
    if add:
        ws.add_file(f)
    return f
