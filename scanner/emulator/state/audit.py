"""The Drive audit log the Admin SDK Reports API serves (``activities.list``, ``applicationName=drive``).

Activities carry Google's Drive audit event names and parameters: ``acl_change`` events
(``change_document_visibility``, ``change_document_access_scope``, ``change_user_access``,
``change_acl_editors``, ``change_owner``, ``publish_change``, ``shared_drive_membership_change`` and the
``*_hierarchy_reconciled`` fan-out to a folder's items) and ``access`` events (``view``,
``download``, ``copy``, ``edit``, ``trash``, ``untrash``, ``label_added``...).

Sharing changes are appended by one hook, :meth:`AuditLog.observe`, which the workspace calls for every
state event it records (permission writes, publishing, ownership, trash, labels) — handlers and the
control API alike. Access events and back-dated history are appended by :meth:`AuditLog.record_access`
and :meth:`AuditLog.record_sharing` (seeds, tests, ``/_emulator/audit``).
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import time as clock
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from .model import DOC, FOLDER, SHEET, SHORTCUT, SLIDES, DriveFile, Event

if TYPE_CHECKING:
    from .workspace import Workspace

#: Google keeps Drive audit events for 180 days.
RETENTION = timedelta(days=180)
#: ``actor.profileId`` Google reports when the actor has no Google Workspace profile of its own.
PLACEHOLDER_PROFILE_ID = "105250506097979753968"
#: The actor of an access by someone who is not signed in (a viewer of an "anyone with the link" file).
ANONYMOUS = "anonymous"
#: Cloud project number reported as ``originating_app_id`` for changes made through the API.
API_PROJECT_NUMBER = "691301496089"
OFFICE_IP = "198.51.100.23"
API_IP = "203.0.113.10"

ParamValue = str | bool | tuple[str, ...]


class Visibility(StrEnum):
    """Drive audit ``visibility`` values, narrow to wide (the order :func:`visibility_of` uses)."""

    PRIVATE = "private"
    SHARED_INTERNALLY = "shared_internally"
    PEOPLE_WITHIN_DOMAIN_WITH_LINK = "people_within_domain_with_link"
    PUBLIC_IN_THE_DOMAIN = "public_in_the_domain"
    SHARED_EXTERNALLY = "shared_externally"
    PEOPLE_WITH_LINK = "people_with_link"
    PUBLIC_ON_THE_WEB = "public_on_the_web"


_RANK = {v: i for i, v in enumerate(Visibility)}
#: Drive role -> the access value ``change_user_access``/``change_document_access_scope`` report.
ACCESS_VALUE = {"reader": "can_view", "commenter": "can_comment", "writer": "can_edit",
                "fileOrganizer": "organizer", "organizer": "organizer", "owner": "owner"}
_DOC_TYPES = {DOC: "document", SHEET: "spreadsheet", SLIDES: "presentation", FOLDER: "folder",
              SHORTCUT: "shortcut", "application/vnd.google-apps.form": "form",
              "application/vnd.google-apps.drawing": "drawing", "application/pdf": "pdf",
              "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "msword",
              "application/msword": "msword", "application/vnd.ms-excel": "msexcel",
              "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "msexcel",
              "application/vnd.ms-powerpoint": "mspowerpoint",
              "application/vnd.openxmlformats-officedocument.presentationml.presentation": "mspowerpoint",
              "text/plain": "txt", "image/png": "png", "image/jpeg": "jpeg", "video/mp4": "mp4"}
#: Access events the seed/test API may append (``type=access``).
ACCESS_EVENTS = frozenset({"view", "download", "copy", "edit", "preview", "print"})


def now_utc() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    """RFC 3339 with milliseconds in UTC, as ``id.time`` is written."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_time(text: str) -> datetime:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Audience:
    """What one permission opens a file to (from a workspace Permission or a permission resource)."""

    type: str
    role: str
    email: str | None = None
    domain: str | None = None
    discoverable: bool = False

    @classmethod
    def of(cls, perm: Any) -> Audience:
        if isinstance(perm, dict):
            return cls(str(perm.get("type")), str(perm.get("role")), perm.get("emailAddress"), perm.get("domain"),
                       bool(perm.get("allowFileDiscovery")))
        return cls(perm.type, perm.role, perm.email, perm.domain, bool(perm.allow_file_discovery))

    def visibility(self, internal: frozenset[str]) -> Visibility:
        if self.type == "anyone":
            return Visibility.PUBLIC_ON_THE_WEB if self.discoverable else Visibility.PEOPLE_WITH_LINK
        if self.type == "domain":
            if (self.domain or "").lower() not in internal:
                return Visibility.SHARED_EXTERNALLY
            return Visibility.PUBLIC_IN_THE_DOMAIN if self.discoverable else Visibility.PEOPLE_WITHIN_DOMAIN_WITH_LINK
        domain = (self.email or "").rsplit("@", 1)[-1].lower()
        return Visibility.SHARED_INTERNALLY if domain in internal else Visibility.SHARED_EXTERNALLY


def visibility_of(audiences: Iterable[Audience], internal: frozenset[str]) -> Visibility:
    """The widest audience among a file's permissions (``private`` when only its owner has it)."""
    best = Visibility.PRIVATE
    for a in audiences:
        v = a.visibility(internal)
        if _RANK[v] > _RANK[best]:
            best = v
    return best


@dataclass(frozen=True, slots=True)
class AuditEvent:
    type: str  # access | acl_change
    name: str
    params: tuple[tuple[str, ParamValue], ...]

    def param(self, name: str) -> ParamValue | None:
        for key, value in self.params:
            if key == name:
                return value
        return None

    def to_json(self) -> dict[str, Any]:
        out: list[dict[str, Any]] = []
        for name, value in self.params:
            if isinstance(value, bool):
                out.append({"name": name, "boolValue": value})
            elif isinstance(value, tuple):
                out.append({"name": name, "multiValue": list(value)})
            else:
                out.append({"name": name, "value": value})
        return {"type": self.type, "name": self.name, "parameters": out}


@dataclass(slots=True)
class Activity:
    """One ``admin#reports#activity``: who did what, when, from where; one or more events."""

    seq: int
    time: str
    actor: str | None  # an email, ANONYMOUS, or None for the system
    events: list[AuditEvent]
    ip_address: str | None = None
    owner_domain: str = ""
    oauth_client_id: str | None = None  # set when the change came through the API with a service account
    recorded: float = 0.0  # wall-clock second it was appended (0: history, visible at once)

    @property
    def unique_qualifier(self) -> str:
        digest = hashlib.sha256(f"{self.seq}:{self.time}".encode()).digest()
        return str(int.from_bytes(digest[:8], "big", signed=True))

    @property
    def actor_email(self) -> str | None:
        return self.actor if self.actor and "@" in self.actor else None

    def actor_json(self, ws: Workspace) -> dict[str, Any]:
        if self.actor == ANONYMOUS:
            return {"profileId": PLACEHOLDER_PROFILE_ID}
        if not self.actor or "@" not in self.actor:
            return {"callerType": "KEY", "key": "SYSTEM"}
        out: dict[str, Any] = {"callerType": "USER", "email": self.actor}
        user = ws.users.get(self.actor.lower())
        if user is not None:
            out["profileId"] = user.id
        if self.oauth_client_id:
            out["applicationInfo"] = {"oauthClientId": self.oauth_client_id, "impersonation": True}
        return out

    def to_json(self, ws: Workspace) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": "admin#reports#activity",
            "id": {"time": self.time, "uniqueQualifier": self.unique_qualifier, "applicationName": "drive",
                   "customerId": ws.customer_id},
            "etag": f'"{hashlib.sha1(f"{self.seq}".encode(), usedforsecurity=False).hexdigest()[:27]}"',
            "actor": self.actor_json(ws),
            "events": [e.to_json() for e in self.events],
        }
        if self.owner_domain:
            out["ownerDomain"] = self.owner_domain
        if self.ip_address:
            out["ipAddress"] = self.ip_address
        return out

    def dump(self) -> dict[str, Any]:
        return {"seq": self.seq, "time": self.time, "actor": self.actor, "ip": self.ip_address,
                "ownerDomain": self.owner_domain, "client": self.oauth_client_id, "recorded": self.recorded,
                "events": [{"type": e.type, "name": e.name,
                            "params": [[k, list(v) if isinstance(v, tuple) else v] for k, v in e.params]}
                           for e in self.events]}

    @classmethod
    def load(cls, data: dict[str, Any]) -> Activity:
        events = [AuditEvent(e["type"], e["name"], tuple((k, tuple(v) if isinstance(v, list) else v)
                                                          for k, v in e["params"]))
                  for e in data["events"]]
        return cls(seq=int(data["seq"]), time=data["time"], actor=data["actor"], events=events,
                   ip_address=data.get("ip"), owner_domain=data.get("ownerDomain", ""),
                   oauth_client_id=data.get("client"), recorded=float(data.get("recorded", 0.0)))


@dataclass
class AuditLog:
    """Activities in time order (oldest first); queries read them newest first, as Google returns them."""

    activities: list[Activity] = field(default_factory=list)
    seq: int = 0
    #: The OAuth client of the request being handled (set by the server around each API call).
    api_client: str | None = field(default=None, repr=False)
    defer_sort: bool = field(default=False, repr=False)

    # ---- appending ---------------------------------------------------------------------------
    def append(self, time: str, actor: str | None, events: list[AuditEvent], *, ip: str | None = None,
               owner_domain: str = "", history: bool = False) -> Activity:
        self.seq += 1
        activity = Activity(seq=self.seq, time=time, actor=actor, events=events, ip_address=ip,
                            owner_domain=owner_domain, oauth_client_id=None if history else self.api_client,
                            recorded=0.0 if history else clock.time())
        if self.defer_sort:
            self.activities.append(activity)
        else:
            bisect.insort(self.activities, activity, key=_order)
        return activity

    @contextlib.contextmanager
    def bulk(self) -> Iterator[None]:
        """Append many (back-dated) activities at once: sorted once at the end."""
        self.defer_sort = True
        try:
            yield
        finally:
            self.defer_sort = False
            self.activities.sort(key=_order)

    def newest_first(self) -> Iterator[Activity]:
        return reversed(self.activities)

    def record_access(self, ws: Workspace, file_id: str, name: str, actor: str, *, time: datetime | None = None,
                      ip: str | None = None, visibility: str | None = None, history: bool = False) -> Activity:
        """Append an access event (``view``, ``download``, ``copy``...) by ``actor`` (an email or ANONYMOUS).

        ``visibility`` is the file's at that moment (default: now); ``history`` marks back-dated seeds."""
        if name not in ACCESS_EVENTS:
            raise ValueError(f"unknown access event {name!r}; use one of {sorted(ACCESS_EVENTS)}")
        f = ws.files[file_id]
        internal = _internal_domains(ws)
        insider = _is_insider(actor, internal)
        params = [*_doc_params(ws, f), ("primary_event", True), ("billable", insider),
                  ("visibility", visibility or file_visibility(ws, f)),
                  ("actor_is_collaborator_account", False), ("is_encrypted", False)]
        if ip is None:
            ip = OFFICE_IP if insider else _outside_ip(actor, file_id)
        return self.append(iso(time or now_utc()), actor, [AuditEvent("access", name, tuple(params))], ip=ip,
                           owner_domain=ws.domain, history=history)

    def record_sharing(self, ws: Workspace, file_id: str, actor: str, *, before: dict[str, Any] | None,
                       after: dict[str, Any] | None, time: datetime, old_visibility: str | None = None,
                       visibility: str | None = None, reconciled: bool = False,
                       history: bool = True) -> list[Activity]:
        """Append the events a permission change makes (``before``/``after`` are permission resources,
        None when it did not exist); the visibilities default to what they are now. ``reconciled``: the
        change reached this item from a parent folder (``*_hierarchy_reconciled``)."""
        f = ws.files[file_id]
        now_vis = visibility or file_visibility(ws, f)
        old = old_visibility or now_vis
        return self._sharing(ws, f, actor, before, after, iso(time), old, now_vis, reconciled=reconciled,
                             history=history)

    def record_editors_change(self, ws: Workspace, file_id: str, actor: str, *, time: datetime, old: str,
                              new: str) -> Activity:
        """Append ``change_acl_editors`` (who may share the file: ``writers`` or ``owner``; the emulator's
        Drive API has no ``writersCanShare``, so this event comes from seeds and tests only)."""
        f = ws.files[file_id]
        vis = file_visibility(ws, f)
        params = [*_doc_params(ws, f), ("primary_event", True), ("billable", True), ("old_value", (old,)),
                  ("new_value", (new,)), ("visibility", vis), ("old_visibility", vis), ("visibility_change", "none")]
        return self.append(iso(time), actor, [AuditEvent("acl_change", "change_acl_editors", tuple(params))],
                           ip=OFFICE_IP, owner_domain=ws.domain, history=True)

    # ---- the hook -------------------------------------------------------------------------------
    def observe(self, ws: Workspace, event: Event) -> None:
        """Translate one workspace event into the audit events Google would log (others are ignored)."""
        kind = event.kind
        f = ws.files.get(event.file_id)
        if kind.startswith("permission.") and f is not None:
            before, after = event.before, event.after
            perm_id = str((after or before or {}).get("id", ""))
            internal = _internal_domains(ws)
            now_vis = file_visibility(ws, f)
            old_vis = _reverted_visibility(ws, f, perm_id, before, internal)
            self._sharing(ws, f, event.actor, before, after, event.time, old_vis, now_vis)
            if f.is_folder:
                for kid_id in ws.descendants(f.id):
                    kid = ws.files[kid_id]
                    self._sharing(ws, kid, event.actor, before, after, event.time,
                                  _reverted_visibility(ws, kid, perm_id, before, internal),
                                  file_visibility(ws, kid), reconciled=True)
        elif kind.startswith("revision.") and f is not None:
            self._publish(ws, f, event)
        elif kind == "ownership.transferred" and f is not None:
            old_owner = (event.before or {}).get("owner") or ""
            new_owner = (event.after or {}).get("owner") or ""
            params = [*_doc_params(ws, f), ("primary_event", True), ("billable", True),
                      ("old_value", (old_owner,)), ("new_value", (new_owner,)),
                      ("visibility", file_visibility(ws, f)), *self._api_params()]
            self.append(event.time, event.actor, [AuditEvent("acl_change", "change_owner", tuple(params))],
                        ip=self._ip(), owner_domain=ws.domain)
        elif kind in ("file.trashed", "file.untrashed") and f is not None:
            name = "trash" if kind == "file.trashed" else "untrash"
            params = [*_doc_params(ws, f), ("primary_event", True), ("billable", True),
                      ("visibility", file_visibility(ws, f)), *self._api_params()]
            self.append(event.time, event.actor, [AuditEvent("access", name, tuple(params))], ip=self._ip(),
                        owner_domain=ws.domain)
        elif kind in ("member.created", "member.deleted"):
            self._membership(ws, event)
        elif kind.startswith("label.") and f is not None:
            self._label(ws, f, event)

    # ---- event builders ---------------------------------------------------------------------------
    def _api_params(self) -> list[tuple[str, ParamValue]]:
        return [("originating_app_id", API_PROJECT_NUMBER)] if self.api_client else []

    def _ip(self) -> str:
        return API_IP if self.api_client else OFFICE_IP

    def _sharing(self, ws: Workspace, f: DriveFile, actor: str, before: dict[str, Any] | None,
                 after: dict[str, Any] | None, time: str, old_vis: str, new_vis: str, *, reconciled: bool = False,
                 history: bool = False) -> list[Activity]:
        target = Audience.of(after or before or {})
        internal = _internal_domains(ws)
        external = target.type == "anyone" or target.visibility(internal) == Visibility.SHARED_EXTERNALLY
        common: list[tuple[str, ParamValue]] = [
            *_doc_params(ws, f), ("primary_event", not reconciled), ("billable", True),
            ("visibility", new_vis), ("old_visibility", old_vis),
            ("visibility_change", "external" if external else "internal"),
        ]
        if not history:
            common.extend(self._api_params())
        suffix = "_hierarchy_reconciled" if reconciled else ""
        events: list[AuditEvent] = []
        old_role = str(before["role"]) if before else None
        new_role = str(after["role"]) if after else None
        if target.type in ("anyone", "domain"):
            scope = "all" if target.type == "anyone" else (target.domain or "")
            old_link = Audience.of(before).visibility(internal) if before else Visibility.PRIVATE
            new_link = Audience.of(after).visibility(internal) if after else Visibility.PRIVATE
            if old_link != new_link:
                events.append(AuditEvent("acl_change", "change_document_visibility" + suffix, tuple([
                    *common, ("target_domain", scope), ("old_value", (str(old_link),)),
                    ("new_value", (str(new_link),))])))
            if old_role != new_role:
                events.append(AuditEvent("acl_change", "change_document_access_scope" + suffix, tuple([
                    *common, ("target_domain", scope), ("old_value", (_access(old_role),)),
                    ("new_value", (_access(new_role),))])))
        else:
            events.append(AuditEvent("acl_change", "change_user_access" + suffix, tuple([
                *common, ("target_user", target.email or ""), ("old_value", (_access(old_role),)),
                ("new_value", (_access(new_role),))])))
        if not events:
            return []
        ip = OFFICE_IP if history else self._ip()
        return [self.append(time, actor, events, ip=ip, owner_domain=ws.domain, history=history)]

    def _publish(self, ws: Workspace, f: DriveFile, event: Event) -> None:
        def state(rev: dict[str, Any] | None) -> tuple[str, str]:
            if not rev or not rev.get("published"):
                return "unpublished", str(Visibility.PRIVATE)
            outside = rev.get("publishedOutsideDomain")
            return "published", str(Visibility.PUBLIC_ON_THE_WEB if outside else Visibility.PUBLIC_IN_THE_DOMAIN)

        old_state, old_vis = state(event.before)
        new_state, new_vis = state(event.after)
        if (old_state, old_vis) == (new_state, new_vis):
            return
        params = [*_doc_params(ws, f), ("primary_event", True), ("billable", True),
                  ("old_value", (old_state,)), ("new_value", (new_state,)),
                  ("old_publish_visibility", old_vis), ("new_publish_visibility", new_vis),
                  ("visibility", file_visibility(ws, f)), *self._api_params()]
        self.append(event.time, event.actor, [AuditEvent("acl_change", "publish_change", tuple(params))],
                    ip=self._ip(), owner_domain=ws.domain)

    def _membership(self, ws: Workspace, event: Event) -> None:
        drive = ws.drives.get(event.file_id)
        member = event.after or event.before or {}
        if drive is None or not member:
            return
        added = event.kind == "member.created"
        role = str(member.get("role", ""))
        params: list[tuple[str, ParamValue]] = [
            ("doc_id", drive.id), ("doc_title", drive.name), ("doc_type", "shared_drive"), ("owner", drive.name),
            ("owner_is_shared_drive", True), ("shared_drive_id", drive.id), ("primary_event", True),
            ("billable", True), ("target", str(member.get("emailAddress") or member.get("domain") or "")),
            ("membership_change_type", "add_to_shared_drive" if added else "remove_from_shared_drive"),
            ("added_role" if added else "removed_role", (_drive_role(role),)), *self._api_params()]
        self.append(event.time, event.actor, [AuditEvent("acl_change", "shared_drive_membership_change",
                                                         tuple(params))], ip=self._ip(), owner_domain=ws.domain)

    def _label(self, ws: Workspace, f: DriveFile, event: Event) -> None:
        name = {"label.added": "label_added", "label.removed": "label_removed",
                "label.field_changed": "label_field_changed"}.get(event.kind)
        if name is None:
            return
        info = event.after or event.before or {}
        params: list[tuple[str, ParamValue]] = [*_doc_params(ws, f), ("primary_event", True), ("billable", True),
                                                ("label_title", str(info.get("title", "")))]
        if name == "label_field_changed":
            old = (event.before or {}).get("value") or ""
            new = (event.after or {}).get("value") or ""
            params += [("field", str(info.get("field", ""))), ("old_value", str(old)), ("new_value", str(new))]
        params += [("visibility", file_visibility(ws, f)), *self._api_params()]
        self.append(event.time, event.actor, [AuditEvent("access", name, tuple(params))], ip=self._ip(),
                    owner_domain=ws.domain)

    # ---- persistence ------------------------------------------------------------------------------
    def dump(self) -> dict[str, Any]:
        return {"seq": self.seq, "activities": [a.dump() for a in self.activities]}

    @classmethod
    def load(cls, data: dict[str, Any]) -> AuditLog:
        log = cls(activities=[Activity.load(a) for a in data.get("activities", [])], seq=int(data.get("seq", 0)))
        log.activities.sort(key=_order)
        return log


def _order(a: Activity) -> tuple[str, int]:
    return a.time, a.seq


def _access(role: str | None) -> str:
    return ACCESS_VALUE.get(role or "", "none") if role else "none"


def _drive_role(role: str) -> str:
    return {"organizer": "organizer", "fileOrganizer": "content_manager", "writer": "editor",
            "commenter": "commenter", "reader": "viewer"}.get(role, role)


def _internal_domains(ws: Workspace) -> frozenset[str]:
    return frozenset(d.lower() for d in ws.domains)


def _is_insider(actor: str, internal: frozenset[str]) -> bool:
    return "@" in actor and actor.rsplit("@", 1)[1].lower() in internal


def _outside_ip(actor: str, file_id: str) -> str:
    digest = hashlib.sha256(f"{actor}:{file_id}".encode()).digest()
    return f"192.0.2.{1 + digest[0] % 250}"


def _doc_params(ws: Workspace, f: DriveFile) -> list[tuple[str, ParamValue]]:
    params: list[tuple[str, ParamValue]] = [
        ("doc_id", f.id), ("doc_title", f.name), ("doc_type", _DOC_TYPES.get(f.mime_type, "unknown"))]
    drive = ws.drives.get(f.drive_id) if f.drive_id else None
    if drive is not None:
        params += [("owner", drive.name), ("owner_is_shared_drive", True), ("shared_drive_id", drive.id)]
    else:
        params += [("owner", f.owner or ""), ("owner_is_shared_drive", False)]
    return params


def file_visibility(ws: Workspace, f: DriveFile) -> str:
    """The file's audit ``visibility`` now, from its effective permissions (owner excluded)."""
    eps = ws.effective_permissions(f)
    return str(visibility_of((Audience.of(ep.perm) for ep in eps if not ep.owner), _internal_domains(ws)))


def _reverted_visibility(ws: Workspace, f: DriveFile, perm_id: str, before: dict[str, Any] | None,
                         internal: frozenset[str]) -> str:
    """The file's visibility just before a change to permission ``perm_id`` (whose old state is ``before``)."""
    audiences = [Audience.of(ep.perm) for ep in ws.effective_permissions(f) if not ep.owner and ep.perm.id != perm_id]
    if before is not None:
        audiences.append(Audience.of(before))
    return str(visibility_of(audiences, internal))
