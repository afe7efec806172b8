"""The few Drive calls remediation makes, as typed methods over the real googleapiclient.

Runs with the *remediation* credentials (scope ``drive``), impersonating the file's owner, or the
admin subject with ``useDomainAdminAccess`` for shared-drive files. A 404 is returned as ``None`` /
``False`` (the thing is already gone); every other failure raises :class:`GoogleCallError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from scanner.config import Settings

PERMISSION_FIELDS = ("id,type,role,emailAddress,domain,allowFileDiscovery,expirationTime,deleted,pendingOwner,"
                     "permissionDetails")
FILE_FIELDS = "id,name,mimeType,owners(emailAddress),driveId,trashed,parents"
REVISION_FIELDS = "id,published,publishAuto,publishedOutsideDomain"
INHERITED_REASONS = frozenset({"cannotModifyInheritedTeamDrivePermission", "cannotModifyInheritedPermission"})


class DriveOps(Protocol):
    def get_file(self, file_id: str) -> dict[str, Any] | None: ...
    def get_permission(self, file_id: str, permission_id: str) -> dict[str, Any] | None: ...
    def list_permissions(self, file_id: str) -> list[dict[str, Any]]: ...
    def create_permission(self, file_id: str, body: dict[str, Any], *,
                          send_notification: bool | None) -> dict[str, Any]: ...
    def update_permission(self, file_id: str, permission_id: str, body: dict[str, Any], *,
                          remove_expiration: bool = False) -> dict[str, Any]: ...
    def delete_permission(self, file_id: str, permission_id: str) -> bool: ...
    def list_revisions(self, file_id: str) -> list[dict[str, Any]]: ...
    def update_revision(self, file_id: str, revision_id: str, body: dict[str, Any]) -> dict[str, Any]: ...


#: Builds the Drive operations for one file: (owner email or None, shared drive id or None) → DriveOps.
OpsFactory = Callable[[str | None, str | None], DriveOps]


def _is_404(exc: BaseException) -> bool:
    return getattr(exc, "status", None) == 404


class GoogleDriveOps:
    """DriveOps over ``GoogleClients`` (retries, quota pacing, typed errors come from there)."""

    def __init__(self, clients: Any, subject: str, *, domain_admin: bool = False) -> None:
        self.clients = clients
        self.subject = subject
        self.domain_admin = domain_admin
        self._drive: Any = None

    @property
    def drive(self) -> Any:
        if self._drive is None:
            self._drive = self.clients.drive(self.subject, write=True)
        return self._drive

    def _common(self) -> dict[str, Any]:
        out: dict[str, Any] = {"supportsAllDrives": True}
        if self.domain_admin:
            out["useDomainAdminAccess"] = True
        return out

    def _run(self, request: Any) -> Any:
        return self.clients.execute(request)

    def get_file(self, file_id: str) -> dict[str, Any] | None:
        try:
            return dict(self._run(self.drive.files().get(fileId=file_id, fields=FILE_FIELDS, supportsAllDrives=True)))
        except Exception as exc:
            if _is_404(exc):
                return None
            raise

    def get_permission(self, file_id: str, permission_id: str) -> dict[str, Any] | None:
        try:
            return dict(self._run(self.drive.permissions().get(
                fileId=file_id, permissionId=permission_id, fields=PERMISSION_FIELDS, **self._common())))
        except Exception as exc:
            if _is_404(exc):
                return None
            raise

    def list_permissions(self, file_id: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = self._run(self.drive.permissions().list(
                fileId=file_id, fields=f"nextPageToken,permissions({PERMISSION_FIELDS})", pageSize=100,
                pageToken=token, **self._common()))
            out.extend(page.get("permissions", []))
            token = page.get("nextPageToken")
            if not token:
                return out

    def create_permission(self, file_id: str, body: dict[str, Any], *,
                          send_notification: bool | None) -> dict[str, Any]:
        kwargs = self._common()
        if send_notification is not None:
            kwargs["sendNotificationEmail"] = send_notification
        return dict(self._run(self.drive.permissions().create(
            fileId=file_id, body=body, fields=PERMISSION_FIELDS, **kwargs)))

    def update_permission(self, file_id: str, permission_id: str, body: dict[str, Any], *,
                          remove_expiration: bool = False) -> dict[str, Any]:
        kwargs = self._common()
        if remove_expiration:
            kwargs["removeExpiration"] = True
        return dict(self._run(self.drive.permissions().update(
            fileId=file_id, permissionId=permission_id, body=body, fields=PERMISSION_FIELDS, **kwargs)))

    def delete_permission(self, file_id: str, permission_id: str) -> bool:
        try:
            self._run(self.drive.permissions().delete(fileId=file_id, permissionId=permission_id, **self._common()))
        except Exception as exc:
            if _is_404(exc):
                return False
            raise
        return True

    def list_revisions(self, file_id: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = self._run(self.drive.revisions().list(
                fileId=file_id, fields=f"nextPageToken,revisions({REVISION_FIELDS})", pageToken=token))
            out.extend(page.get("revisions", []))
            token = page.get("nextPageToken")
            if not token:
                return out

    def update_revision(self, file_id: str, revision_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self._run(self.drive.revisions().update(
            fileId=file_id, revisionId=revision_id, body=body, fields=REVISION_FIELDS)))


def google_ops_factory(settings: Settings, clients: Any | None = None) -> OpsFactory:
    """DriveOps with the remediation credentials: as the owner, or as the admin for shared drives."""
    if clients is None:
        from scanner.google.client import GoogleClients

        clients = GoogleClients(settings, credentials_file=settings.google.remediation_service_account_file)
    cache: dict[tuple[str, bool], GoogleDriveOps] = {}

    def factory(owner: str | None, drive_id: str | None) -> DriveOps:
        if drive_id or not owner:
            subject, admin = settings.google.admin_subject, bool(drive_id)
        else:
            subject, admin = owner, False
        key = (subject, admin)
        if key not in cache:
            cache[key] = GoogleDriveOps(clients, subject, domain_admin=admin)
        return cache[key]

    return factory
