"""The Drive v3 requests the crawler makes, and parsing their responses into typed objects.

One place holds the field masks, so the full crawl and the changes feed ask for exactly the
same metadata: what exposure and change detection need, and nothing else (no content).
"""

from __future__ import annotations

from typing import Any

from googleapiclient.discovery import Resource
from googleapiclient.http import HttpRequest

from scanner.connectors.google.mime import GOOGLE_FORM, GOOGLE_SHORTCUT, item_kind
from scanner.core.models import PUBLISHED_VIEW, DriveFile, Permission

PERMISSION_FIELDS = (
    "id,type,role,emailAddress,domain,allowFileDiscovery,expirationTime,deleted,view,"
    "permissionDetails(permissionType,role,inherited,inheritedFrom)"
)
FILE_FIELDS = (
    "id,name,mimeType,owners(emailAddress),parents,driveId,createdTime,modifiedTime,md5Checksum,"
    "headRevisionId,version,size,webViewLink,trashed,shortcutDetails(targetId,targetMimeType),"
    f"inheritedPermissionsDisabled,permissions({PERMISSION_FIELDS}),labelInfo(labels(id))"
)
FILES_LIST_FIELDS = f"nextPageToken,incompleteSearch,files({FILE_FIELDS})"
CHANGES_LIST_FIELDS = f"nextPageToken,newStartPageToken,changes(changeType,removed,fileId,driveId,file({FILE_FIELDS}))"
PERMISSIONS_LIST_FIELDS = f"nextPageToken,permissions({PERMISSION_FIELDS})"
REVISIONS_LIST_FIELDS = "nextPageToken,revisions(id,published,publishedOutsideDomain)"
SHARED_DRIVE_QUERY = "trashed = false"
FILES_PAGE_SIZE = 1000
PERMISSIONS_PAGE_SIZE = 100
CHANGES_PAGE_SIZE = 1000


def quote(value: str) -> str:
    """A string literal for the Drive query language."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def owned_by_query(owner: str) -> str:
    """Files ``owner`` owns (spelled out rather than ``'me'`` so the same query can list a
    suspended user's files as someone else)."""
    return f"{quote(owner)} in owners and trashed = false"


def labels_param(include_labels: str) -> dict[str, Any]:
    """``includeLabels`` (comma-separated label ids) when there are any: Drive returns ``labelInfo`` only
    for the labels it names ("by default, no labels are returned")."""
    return {"includeLabels": include_labels} if include_labels else {}


def list_owned(drive: Resource, owner: str, page_token: str | None, *, include_labels: str = "") -> HttpRequest:
    """Files ``owner`` owns, visible to the impersonated user (each file counted once, by its owner)."""
    return drive.files().list(
        corpora="user", spaces="drive", q=owned_by_query(owner), pageSize=FILES_PAGE_SIZE,
        fields=FILES_LIST_FIELDS, pageToken=page_token, **labels_param(include_labels),
    )


def list_shared_drive(drive: Resource, drive_id: str, page_token: str | None, *,
                      include_labels: str = "") -> HttpRequest:
    return drive.files().list(
        corpora="drive", driveId=drive_id, includeItemsFromAllDrives=True, supportsAllDrives=True,
        q=SHARED_DRIVE_QUERY, pageSize=FILES_PAGE_SIZE, fields=FILES_LIST_FIELDS, pageToken=page_token,
        **labels_param(include_labels),
    )


def list_permissions(drive: Resource, file_id: str, page_token: str | None = None,
                     *, domain_admin: bool = False, published_view: bool = False) -> HttpRequest:
    """``published_view``: also the responder permissions of a form (who can fill it in)."""
    kwargs: dict[str, Any] = {"useDomainAdminAccess": True} if domain_admin else {}
    if published_view:
        kwargs["includePermissionsForView"] = PUBLISHED_VIEW
    return drive.permissions().list(
        fileId=file_id, supportsAllDrives=True, pageSize=PERMISSIONS_PAGE_SIZE,
        fields=PERMISSIONS_LIST_FIELDS, pageToken=page_token, **kwargs,
    )


def list_revisions(drive: Resource, file_id: str, page_token: str | None = None) -> HttpRequest:
    return drive.revisions().list(fileId=file_id, pageSize=1000, fields=REVISIONS_LIST_FIELDS, pageToken=page_token)


def start_page_token(drive: Resource, drive_id: str | None) -> HttpRequest:
    if drive_id:
        return drive.changes().getStartPageToken(driveId=drive_id, supportsAllDrives=True)
    return drive.changes().getStartPageToken()


def list_changes(drive: Resource, page_token: str, drive_id: str | None, *, include_labels: str = "") -> HttpRequest:
    kwargs: dict[str, Any] = (
        {"driveId": drive_id, "includeItemsFromAllDrives": True, "supportsAllDrives": True} if drive_id else {}
    )
    kwargs.update(labels_param(include_labels))
    return drive.changes().list(
        pageToken=page_token, pageSize=CHANGES_PAGE_SIZE, includeRemoved=True, spaces="drive",
        fields=CHANGES_LIST_FIELDS, **kwargs,
    )


def get_file(drive: Resource, file_id: str, *, include_labels: str = "") -> HttpRequest:
    return drive.files().get(fileId=file_id, supportsAllDrives=True, fields=FILE_FIELDS,
                             **labels_param(include_labels))


def permission_from_api(data: dict[str, Any]) -> Permission:
    """One Drive permission (JSON) as a core grant; ``raw`` keeps the JSON for restore and the audit trail."""
    details = data.get("permissionDetails") or []
    inherited = any(bool(d.get("inherited")) for d in details)
    inherited_from = next((d.get("inheritedFrom") for d in details if d.get("inherited")), None)
    return Permission(
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
        all_inherited=all(bool(d.get("inherited")) for d in details) if details else None,
        raw=dict(data),
    )


def parse_permissions(items: list[dict[str, Any]] | None) -> tuple[Permission, ...]:
    perms = [permission_from_api(p) for p in items or []]
    perms.sort(key=lambda p: p.id)
    return tuple(perms)


def parse_file(data: dict[str, Any], *, permissions: tuple[Permission, ...] | None = None,
               published: bool = False) -> DriveFile:
    owners = data.get("owners") or []
    owner = next((o.get("emailAddress") for o in owners if o.get("emailAddress")), None)
    size = data.get("size")
    shortcut = data.get("shortcutDetails") or {}
    return DriveFile(
        id=str(data["id"]),
        name=str(data.get("name", "")),
        mime_type=str(data.get("mimeType", "")),
        owner_email=owner.lower() if owner else None,
        drive_id=data.get("driveId"),
        parents=tuple(data.get("parents") or ()),
        modified_time=data.get("modifiedTime"),
        created_time=data.get("createdTime"),
        md5_checksum=data.get("md5Checksum"),
        head_revision_id=data.get("headRevisionId"),
        version=str(data["version"]) if data.get("version") is not None else None,
        size=int(size) if size not in (None, "") else None,
        web_view_link=data.get("webViewLink"),
        trashed=bool(data.get("trashed", False)),
        shortcut_target_id=shortcut.get("targetId") if data.get("mimeType") == GOOGLE_SHORTCUT else None,
        permissions=permissions if permissions is not None else parse_permissions(data.get("permissions")),
        published=published,
        inherited_permissions_disabled=bool(data.get("inheritedPermissionsDisabled", False)),
        labels=tuple(sorted(str(x["id"]) for x in (data.get("labelInfo") or {}).get("labels") or [] if x.get("id"))),
        kind=item_kind(data.get("mimeType")),
    )


def has_permissions(data: dict[str, Any]) -> bool:
    """files.list leaves ``permissions`` out for shared-drive items (and when the caller cannot see
    the ACL), and never lists a form's responders: those need permissions.list."""
    return "permissions" in data and not data.get("driveId") and not is_form(data)


def is_form(data: dict[str, Any]) -> bool:
    return data.get("mimeType") == GOOGLE_FORM
