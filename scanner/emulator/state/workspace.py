"""The workspace container: records, indexes and the access rules (who can see and do what)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .audit import AuditLog
from .labels import LabelStore
from .model import (
    FOLDER,
    ROLE_RANK,
    Change,
    DriveFile,
    Event,
    Group,
    Permission,
    SharedDrive,
    User,
)
from .policies import PolicyStore


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def numeric_id(text: str, length: int = 20) -> str:
    """A stable Google-looking numeric id derived from text."""
    return str(int(hashlib.sha256(text.encode()).hexdigest(), 16))[:length]


def permission_id_for(ptype: str, email: str | None = None, domain: str | None = None,
                      allow_file_discovery: bool | None = None, view: str | None = None) -> str:
    """Google permission ids identify the principal, not the file (a form's responder permission, in
    the ``published`` view, is a principal of its own next to a plain one)."""
    if ptype == "anyone":
        base = "anyone" if allow_file_discovery else "anyoneWithLink"
    elif ptype == "domain":
        base = numeric_id("domain:" + (domain or "").lower()) + "k"
    else:
        base = numeric_id(f"{ptype}:{(email or '').lower()}")
    return base + "Published" if view == "published" else base


@dataclass(slots=True)
class PermissionDetail:
    permission_type: str  # file | member
    role: str
    inherited: bool
    inherited_from: str | None


@dataclass(slots=True)
class EffectivePermission:
    """A permission as a caller sees it on one item: direct and/or inherited."""

    perm: Permission
    role: str
    details: list[PermissionDetail]
    owner: bool = False

    @property
    def inherited_only(self) -> bool:
        return bool(self.details) and all(d.inherited for d in self.details)


@dataclass
class Workspace:
    """All state of one emulated Google Workspace. Guard every access with `lock`."""

    org_name: str
    domain: str
    customer_id: str = "C01abcd23"
    domains: list[str] = field(default_factory=list)
    #: Domain aliases the customer owns: alias -> its parent (primary or secondary) domain.
    domain_aliases: dict[str, str] = field(default_factory=dict)
    #: False: a folder's sharing change appears in the Changes feed for the folder only, not for the
    #: items below it (Drive does not promise to list them; scanners must not rely on it).
    report_descendant_changes: bool = True
    users: dict[str, User] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    drives: dict[str, SharedDrive] = field(default_factory=dict)
    files: dict[str, DriveFile] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    audit: AuditLog = field(default_factory=AuditLog, repr=False)  # the Reports API's Drive audit log
    policies: PolicyStore = field(default_factory=PolicyStore, repr=False)  # org units, Cloud Identity policies
    labels: LabelStore = field(default_factory=LabelStore, repr=False)  # Drive labels and files' labels
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)
    version: int = 0
    _children: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _order: dict[str, int] = field(default_factory=dict, repr=False)
    _eff_cache: dict[str, tuple[int, list[EffectivePermission]]] = field(default_factory=dict, repr=False)
    _corpus_cache: tuple[int, dict[str, list[str]]] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.domain not in self.domains:
            self.domains.insert(0, self.domain)

    # ---- building -------------------------------------------------------------------------
    def add_user(self, email: str, name: str, *, is_admin: bool = False, suspended: bool = False,
                 org_unit: str = "/") -> User:
        user = User(email=email.lower(), name=name, id=numeric_id("uid:" + email.lower(), 21),
                    permission_id=permission_id_for("user", email), is_admin=is_admin,
                    suspended=suspended, org_unit=org_unit)
        self.users[user.email] = user
        self.touch()
        return user

    def add_group(self, email: str, name: str, members: Iterable[str]) -> Group:
        group = Group(email=email.lower(), name=name, members=[m.lower() for m in members])
        self.groups[group.email] = group
        self.touch()
        return group

    def add_drive(self, drive: SharedDrive) -> SharedDrive:
        self.drives[drive.id] = drive
        self.touch()
        return drive

    def add_file(self, f: DriveFile) -> DriveFile:
        self.files[f.id] = f
        self._order[f.id] = len(self._order)
        for parent in f.parents:
            self._children.setdefault(parent, []).append(f.id)
        self.touch()
        return f

    def remove_file(self, file_id: str) -> DriveFile | None:
        f = self.files.pop(file_id, None)
        if f is not None:
            for parent in f.parents:
                kids = self._children.get(parent)
                if kids and file_id in kids:
                    kids.remove(file_id)
            self.touch()
        return f

    def touch(self) -> None:
        self.version += 1

    def order_of(self, file_id: str) -> int:
        return self._order.get(file_id, 0)

    def children(self, parent_id: str) -> list[str]:
        return self._children.get(parent_id, [])

    def descendants(self, folder_id: str) -> list[str]:
        out: list[str] = []
        stack = [folder_id]
        while stack:
            for kid in self.children(stack.pop()):
                out.append(kid)
                if self.files[kid].is_folder:
                    stack.append(kid)
        return out

    def new_event(self, kind: str, actor: str, file_id: str, before: dict | None, after: dict | None) -> Event:
        event = Event(time=now_iso(), kind=kind, actor=actor, file_id=file_id, before=before, after=after)
        self.events.append(event)
        self.audit.observe(self, event)
        return event

    # ---- principals -----------------------------------------------------------------------
    def display_name(self, email: str | None) -> str | None:
        if email is None:
            return None
        user = self.users.get(email.lower())
        if user:
            return user.name
        group = self.groups.get(email.lower())
        return group.name if group else email.split("@")[0]

    def groups_of(self, email: str) -> list[str]:
        """Groups ``email`` belongs to, directly or through nested groups (as Drive sharing sees it)."""
        out: list[str] = []
        frontier = [email.lower()]
        while frontier:
            member = frontier.pop(0)
            for g in self.groups.values():
                if member in g.members and g.email not in out:
                    out.append(g.email)
                    frontier.append(g.email)
        return out

    def drive_role(self, email: str, drive: SharedDrive) -> str | None:
        keys = {email.lower(), *self.groups_of(email)}
        best: str | None = None
        for m in drive.members:
            if m.email and m.email.lower() in keys and (best is None or ROLE_RANK[m.role] > ROLE_RANK[best]):
                best = m.role
        return best

    def user_keys(self, email: str) -> frozenset[str]:
        """Corpus keys: what puts a file into this user's My Drive / Shared with me / drives."""
        email = email.lower()
        groups = self.groups_of(email)
        keys = {"user:" + email, *("group:" + g for g in groups)}
        member_of = {email, *groups}
        for drive in self.drives.values():
            if any(m.email and m.email.lower() in member_of for m in drive.members):
                keys.add("drive:" + drive.id)
        return frozenset(keys)

    # ---- effective permissions --------------------------------------------------------------
    def effective_permissions(self, f: DriveFile) -> list[EffectivePermission]:
        """Who can open ``f``: its owner, its direct permissions, what it inherits from its folders and
        shared drive. A folder with limited access (``inherited_permissions_disabled``) on the way up
        stops inheritance from above it (shared-drive organizers keep access). Responder permissions
        of forms (``view``) are not access to the file: see :meth:`view_permissions`."""
        cached = self._eff_cache.get(f.id)
        if cached is not None and cached[0] == self.version:
            return cached[1]
        merged: dict[str, EffectivePermission] = {}
        now = now_iso()

        def add(perm: Permission, detail: PermissionDetail) -> None:
            if perm.view is not None or (perm.expiration_time and perm.expiration_time <= now):
                return
            ep = merged.get(perm.id)
            if ep is None:
                merged[perm.id] = EffectivePermission(perm=perm, role=perm.role, details=[detail])
            else:
                ep.details.append(detail)
                if ROLE_RANK[perm.role] > ROLE_RANK[ep.role]:
                    ep.role = perm.role
                if not detail.inherited:
                    ep.perm = perm

        if f.owner:
            owner = self.users.get(f.owner)
            owner_perm = Permission(id=owner.permission_id if owner else permission_id_for("user", f.owner),
                                    type="user", role="owner", email=f.owner,
                                    display_name=self.display_name(f.owner))
            merged[owner_perm.id] = EffectivePermission(perm=owner_perm, role="owner", details=[], owner=True)
        for perm in f.permissions:
            add(perm, PermissionDetail("file", perm.role, False, None))
        # folder inheritance (My Drive and shared drives), cut at the first folder with limited access
        limited = f.is_folder and f.inherited_permissions_disabled
        seen: set[str] = set()
        parent_ids = [] if limited else list(f.parents)
        while parent_ids:
            pid = parent_ids.pop(0)
            parent = self.files.get(pid)
            if parent is None or pid in seen:
                continue
            seen.add(pid)
            for perm in parent.permissions:
                add(perm, PermissionDetail("file", perm.role, True, parent.id))
            if parent.inherited_permissions_disabled:
                limited = True
                continue
            parent_ids.extend(parent.parents[:1])
        if f.drive_id and f.drive_id in self.drives:
            for member in self.drives[f.drive_id].members:
                if limited and member.role != "organizer":
                    continue
                add(member, PermissionDetail("member", member.role, True, f.drive_id))
        result = list(merged.values())
        self._eff_cache[f.id] = (self.version, result)
        return result

    def view_permissions(self, f: DriveFile) -> list[EffectivePermission]:
        """A form's responder permissions (the ``published`` view), direct only."""
        return [EffectivePermission(perm=p, role=p.role, details=[PermissionDetail("file", p.role, False, None)])
                for p in f.permissions if p.view is not None]

    def corpus_keys(self, f: DriveFile) -> frozenset[str]:
        keys: set[str] = set()
        if f.drive_id:
            keys.add("drive:" + f.drive_id)
        for ep in self.effective_permissions(f):
            if ep.perm.type in ("user", "group") and ep.perm.email:
                keys.add(f"{ep.perm.type}:{ep.perm.email.lower()}")
        return frozenset(keys)

    def corpus_index(self) -> dict[str, list[str]]:
        """principal key -> ids of files in that principal's corpus (in creation order)."""
        if self._corpus_cache is not None and self._corpus_cache[0] == self.version:
            return self._corpus_cache[1]
        index: dict[str, list[str]] = {}
        for f in self.files.values():
            if f.drive_id:
                index.setdefault("drive:" + f.drive_id, []).append(f.id)
                continue
            for key in self.corpus_keys(f):
                index.setdefault(key, []).append(f.id)
            for ep in self.effective_permissions(f):
                if ep.perm.type == "domain" and ep.perm.allow_file_discovery and ep.perm.domain:
                    index.setdefault("discoverable:" + ep.perm.domain.lower(), []).append(f.id)
        self._corpus_cache = (self.version, index)
        return index

    def role_of(self, email: str, f: DriveFile, keys: frozenset[str] | None = None) -> str | None:
        """The caller's role on a file, or None when they cannot open it."""
        email = email.lower()
        if f.owner == email:
            return "owner"
        if keys is None:
            keys = self.user_keys(email)
        domain = email.rsplit("@", 1)[-1]
        best: str | None = None
        for ep in self.effective_permissions(f):
            p = ep.perm
            hit = (
                (p.type in ("user", "group") and p.email is not None and f"{p.type}:{p.email.lower()}" in keys)
                or (p.type == "domain" and (p.domain or "").lower() == domain)
                or p.type == "anyone"
            )
            if hit and (best is None or ROLE_RANK[ep.role] > ROLE_RANK[best]):
                best = ep.role
        return best

    def folder_ids(self) -> list[str]:
        return [f.id for f in self.files.values() if f.mime_type == FOLDER]
