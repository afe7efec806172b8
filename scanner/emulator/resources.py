"""Render workspace records as Drive v3 / Directory JSON resources (only the keys a mask asks for)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from .content import binary_content, binary_size_md5
from .fields import Mask, apply_mask, sub_mask
from .state.labels import AppliedLabel
from .state.model import NATIVE_EDITORS, ROLE_RANK, SHORTCUT, DriveFile, Permission, Revision, SharedDrive, User
from .state.workspace import EffectivePermission, Workspace

FILE_DEFAULT: Mask = {"kind": None, "id": None, "name": None, "mimeType": None, "driveId": None,
                      "teamDriveId": None}
PERMISSION_DEFAULT: Mask = {"kind": None, "id": None, "type": None, "role": None, "emailAddress": None,
                            "domain": None, "allowFileDiscovery": None, "displayName": None,
                            "permissionDetails": None, "deleted": None, "pendingOwner": None}
REVISION_DEFAULT: Mask = {"kind": None, "id": None, "mimeType": None, "modifiedTime": None}
DRIVE_DEFAULT: Mask = {"kind": None, "id": None, "name": None}


def permission_json(ws: Workspace, perm: Permission, role: str | None = None,
                    details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": "drive#permission", "id": perm.id, "type": perm.type,
                           "role": role or perm.role}
    if perm.email:
        out["emailAddress"] = perm.email
        out["displayName"] = perm.display_name or ws.display_name(perm.email)
    if perm.type == "domain" and perm.domain:
        out["domain"] = perm.domain
        out["displayName"] = perm.display_name or perm.domain
    if perm.type in ("domain", "anyone"):
        out["allowFileDiscovery"] = bool(perm.allow_file_discovery)
    if perm.expiration_time:
        out["expirationTime"] = perm.expiration_time
    if perm.pending_owner:
        out["pendingOwner"] = True
    if perm.view:
        out["view"] = perm.view
    out["deleted"] = False
    if details is not None:
        out["permissionDetails"] = details
    return out


def effective_json(ws: Workspace, f: DriveFile | None, ep: EffectivePermission) -> dict[str, Any]:
    in_drive = f is None or f.drive_id is not None
    details: list[dict[str, Any]] | None = None
    if ep.details and (in_drive or any(d.inherited for d in ep.details)):
        details = []
        for d in ep.details:
            item: dict[str, Any] = {"permissionType": d.permission_type, "role": d.role,
                                    "inherited": d.inherited}
            if d.inherited_from:
                item["inheritedFrom"] = d.inherited_from
            details.append(item)
    return permission_json(ws, ep.perm, ep.role, details)


def user_ref(ws: Workspace, email: str, viewer: str) -> dict[str, Any]:
    user = ws.users.get(email)
    out: dict[str, Any] = {"kind": "drive#user", "displayName": ws.display_name(email),
                           "me": email == viewer, "emailAddress": email}
    out["permissionId"] = user.permission_id if user else ""
    return out


def content_size_md5(ws: Workspace, f: DriveFile, reader: Callable[[DriveFile], bytes]) -> tuple[int, str]:
    if reader is binary_content:
        return binary_size_md5(f)
    data = reader(f)
    return len(data), hashlib.md5(data, usedforsecurity=False).hexdigest()


class FileRenderer:
    """Builds file resources for one caller; computes only what the mask selects."""

    def __init__(self, ws: Workspace, viewer: str, reader: Callable[[DriveFile], bytes]) -> None:
        self.ws = ws
        self.viewer = viewer
        self.keys = ws.user_keys(viewer)
        self.reader = reader
        self.include_labels: frozenset[str] = frozenset()  # ``includeLabels``: the labels ``labelInfo`` shows
        self._owners: dict[tuple[str, int], tuple[Mask | None, list[dict[str, Any]]]] = {}
        self._perms: dict[tuple[Any, ...], tuple[Mask | None, dict[str, Any]]] = {}

    def role(self, f: DriveFile) -> str | None:
        return self.ws.role_of(self.viewer, f, self.keys)

    def owners(self, owner: str, mask: Mask | None) -> list[dict[str, Any]]:
        """``owners`` of a file (rendered once per owner and mask: a listing repeats them)."""
        key = (owner, id(mask))
        hit = self._owners.get(key)
        if hit is None or hit[0] is not mask:
            hit = (mask, apply_mask([user_ref(self.ws, owner, self.viewer)], mask))
            self._owners[key] = hit
        return hit[1]

    def permissions(self, f: DriveFile, mask: Mask | None) -> list[dict[str, Any]]:
        """The file's effective permissions; equal permissions render once per listing (most files
        of a domain carry the same few: the owner, "anyone with the link", the domain)."""
        out = []
        in_drive = f.drive_id is not None
        for ep in self.ws.effective_permissions(f):
            p = ep.perm
            key = (p.id, p.type, ep.role, p.email, p.domain, p.allow_file_discovery, p.expiration_time,
                   p.pending_owner, p.display_name, in_drive,
                   tuple((d.permission_type, d.role, d.inherited, d.inherited_from) for d in ep.details), id(mask))
            hit = self._perms.get(key)
            if hit is None or hit[0] is not mask:
                hit = (mask, apply_mask(effective_json(self.ws, f, ep), mask))
                self._perms[key] = hit
            out.append(hit[1])
        return out

    def render(self, f: DriveFile, mask: Mask | None) -> dict[str, Any]:
        ws, w = self.ws, mask
        out: dict[str, Any] = {}

        want: Callable[[str], bool] = _everything if w is None or "*" in w else w.__contains__

        if want("kind"):
            out["kind"] = "drive#file"
        if want("id"):
            out["id"] = f.id
        if want("name"):
            out["name"] = f.name
        if want("mimeType"):
            out["mimeType"] = f.mime_type
        if f.drive_id:
            if want("driveId"):
                out["driveId"] = f.drive_id
            if want("teamDriveId"):
                out["teamDriveId"] = f.drive_id
        if want("parents") and f.parents:
            out["parents"] = list(f.parents)
        if want("trashed"):
            out["trashed"] = f.trashed
        if want("explicitlyTrashed"):
            out["explicitlyTrashed"] = f.trashed
        if want("createdTime"):
            out["createdTime"] = f.created_time
        if want("modifiedTime"):
            out["modifiedTime"] = f.modified_time
        if want("version"):
            out["version"] = str(f.version)
        if want("inheritedPermissionsDisabled"):
            out["inheritedPermissionsDisabled"] = f.is_folder and f.inherited_permissions_disabled
        if want("description") and f.description:
            out["description"] = f.description
        if want("starred"):
            out["starred"] = False
        if want("webViewLink"):
            out["webViewLink"] = _web_view_link(f)
        if want("iconLink"):
            out["iconLink"] = f"https://drive-thirdparty.googleusercontent.com/16/type/{f.mime_type}"
        if want("headRevisionId") and not f.is_native and not f.is_folder and f.revisions:
            out["headRevisionId"] = f.revisions[-1].id
        binary = not f.is_native and not f.is_folder and f.mime_type != SHORTCUT
        if binary and (want("size") or want("md5Checksum") or want("quotaBytesUsed")):
            size, md5 = content_size_md5(ws, f, self.reader)
            if want("size"):
                out["size"] = str(size)
            if want("md5Checksum"):
                out["md5Checksum"] = md5
            if want("quotaBytesUsed"):
                out["quotaBytesUsed"] = str(size)
        if want("fileExtension") and binary and "." in f.name:
            out["fileExtension"] = f.name.rsplit(".", 1)[1]
        if want("owners") and f.owner:
            out["owners"] = self.owners(f.owner, sub_mask(w, "owners"))
        if want("ownedByMe"):
            out["ownedByMe"] = f.owner == self.viewer
        if want("lastModifyingUser") and (f.last_modifier or f.owner):
            who = f.last_modifier or f.owner or ""
            out["lastModifyingUser"] = apply_mask(user_ref(ws, who, self.viewer), sub_mask(w, "lastModifyingUser"))
        if want("shared"):
            out["shared"] = any(not ep.owner for ep in ws.effective_permissions(f))
        if want("shortcutDetails") and f.shortcut_target:
            target = ws.files.get(f.shortcut_target)
            out["shortcutDetails"] = apply_mask(
                {"targetId": f.shortcut_target, "targetMimeType": target.mime_type if target else ""},
                sub_mask(w, "shortcutDetails"))
        role = None
        if want("capabilities") or want("permissions") or want("viewersCanCopyContent"):
            role = self.role(f)
        if want("capabilities"):
            out["capabilities"] = apply_mask(capabilities(f, role), sub_mask(w, "capabilities"))
        if want("permissionIds"):
            out["permissionIds"] = [ep.perm.id for ep in ws.effective_permissions(f)]
        if want("permissions") and f.drive_id is None and role in ("owner", "writer"):
            out["permissions"] = self.permissions(f, sub_mask(w, "permissions") if w is not None else None)
        if want("labelInfo"):
            out["labelInfo"] = label_info(ws, f.id, self.include_labels)
        if want("exportLinks") and f.is_native:
            out["exportLinks"] = {m: f"https://docs.google.com/feeds/download/export?id={f.id}&exportFormat={m}"
                                  for m in ("text/plain", "application/pdf")}
        if w is not None:
            for key, sub in w.items():
                if sub is not None and key in out and key not in ("owners", "lastModifyingUser", "permissions",
                                                                   "capabilities", "shortcutDetails"):
                    out[key] = apply_mask(out[key], sub)
        return out


def _everything(key: str) -> bool:
    return True


def _web_view_link(f: DriveFile) -> str:
    kind = {"application/vnd.google-apps.document": "document",
            "application/vnd.google-apps.spreadsheet": "spreadsheets",
            "application/vnd.google-apps.presentation": "presentation"}.get(f.mime_type)
    if kind:
        return f"https://docs.google.com/{kind}/d/{f.id}/edit?usp=drivesdk"
    if f.is_folder:
        return f"https://drive.google.com/drive/folders/{f.id}"
    return f"https://drive.google.com/file/d/{f.id}/view?usp=drivesdk"


def capabilities(f: DriveFile, role: str | None) -> dict[str, bool]:
    rank = ROLE_RANK.get(role or "", 0)
    writer = rank >= ROLE_RANK["writer"]
    organizer = rank >= ROLE_RANK["fileOrganizer"]
    return {
        "canEdit": writer,
        "canShare": writer,
        "canComment": rank >= ROLE_RANK["commenter"],
        "canCopy": rank >= 1 and not f.is_folder,
        "canDownload": rank >= 1,
        "canReadRevisions": writer,
        "canModifyContent": writer,
        "canRename": writer,
        "canTrash": role == "owner" or (f.drive_id is not None and organizer),
        "canDelete": role == "owner" or (f.drive_id is not None and role == "organizer"),
        "canListChildren": f.is_folder and rank >= 1,
        "canRemoveChildren": f.is_folder and writer,
        "canChangeCopyRequiresWriterPermission": writer,
        "canModifyLabels": writer,
        "canReadLabels": rank >= 1,
        # limited access: folders only, by the My Drive owner or a shared drive's organizer
        "canDisableInheritedPermissions": f.is_folder and role == ("organizer" if f.drive_id else "owner"),
        "canEnableInheritedPermissions": f.is_folder and role == ("organizer" if f.drive_id else "owner"),
    }


def applied_label_json(ws: Workspace, applied: AppliedLabel) -> dict[str, Any]:
    """A Drive v3 ``Label`` as applied to a file (``labelInfo.labels[]``, ``modifiedLabels[]``, listLabels)."""
    d = ws.labels.labels.get(applied.label_id)
    fields: dict[str, Any] = {}
    for field_id, values in applied.values.items():
        fdef = d.field(field_id) if d else None
        kind = str(fdef.kind) if fdef else "text"
        fields[field_id] = {"kind": "drive#labelField", "id": field_id, "valueType": kind, kind: list(values)}
    return {"kind": "drive#label", "id": applied.label_id, "revisionId": applied.revision_id, "fields": fields}


def label_info(ws: Workspace, file_id: str, include: frozenset[str]) -> dict[str, Any]:
    """``labelInfo`` of a file: only the labels ``includeLabels`` names (by default none)."""
    labels = [applied_label_json(ws, a) for lid, a in ws.labels.on_file(file_id).items() if lid in include]
    return {"labels": labels} if labels else {}


def revision_json(ws: Workspace, f: DriveFile, rev: Revision, viewer: str) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": "drive#revision", "id": rev.id, "mimeType": f.mime_type,
                           "modifiedTime": rev.modified_time}
    if rev.modifier:
        out["lastModifyingUser"] = user_ref(ws, rev.modifier, viewer)
    if f.mime_type in NATIVE_EDITORS:
        out["published"] = rev.published
        out["publishAuto"] = rev.publish_auto
        out["publishedOutsideDomain"] = rev.published_outside_domain
        if rev.published:
            out["publishedLink"] = f"https://docs.google.com/document/d/e/2PACX-{f.id}/pub"
        out["exportLinks"] = {"text/plain": f"https://docs.google.com/feeds/download/export?id={f.id}"
                                            f"&revision={rev.id}&exportFormat=txt"}
    else:
        out["keepForever"] = False
        out["originalFilename"] = f.name
        if rev.md5:
            out["md5Checksum"] = rev.md5
        if rev.size is not None:
            out["size"] = str(rev.size)
    return out


def drive_json(d: SharedDrive, role: str | None) -> dict[str, Any]:
    organizer = role == "organizer"
    return {
        "kind": "drive#drive", "id": d.id, "name": d.name, "createdTime": d.created_time, "hidden": d.hidden,
        "colorRgb": "#4285f4", "backgroundImageLink": "",
        "restrictions": {"adminManagedRestrictions": False, "copyRequiresWriterPermission": False,
                         "domainUsersOnly": d.domain_users_only, "driveMembersOnly": d.drive_members_only,
                         "sharingFoldersRequiresOrganizerPermission": False},
        "capabilities": {"canManageMembers": organizer, "canShare": organizer, "canEdit": organizer,
                         "canListChildren": role is not None, "canDeleteDrive": organizer},
    }


def user_json(ws: Workspace, u: User) -> dict[str, Any]:
    given, _, family = u.name.partition(" ")
    return {
        "kind": "admin#directory#user", "id": u.id, "etag": f'"{u.id}"', "primaryEmail": u.email,
        "name": {"givenName": given, "familyName": family or given, "fullName": u.name},
        "isAdmin": u.is_admin, "isDelegatedAdmin": False, "lastLoginTime": "2026-01-05T10:00:00.000Z",
        "creationTime": u.created, "agreedToTerms": True, "suspended": u.suspended, "archived": False,
        "changePasswordAtNextLogin": False, "ipWhitelisted": False,
        "emails": [{"address": u.email, "primary": True}], "customerId": ws.customer_id,
        "orgUnitPath": u.org_unit, "isMailboxSetup": True, "isEnrolledIn2Sv": True, "isEnforcedIn2Sv": False,
        "includeInGlobalAddressList": True,
    }
