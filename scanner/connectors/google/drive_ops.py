"""The few Drive calls remediation makes, as typed methods over the real googleapiclient.

Runs with the *remediation* credentials (scope ``drive``), impersonating the file's owner, or for
shared-drive items a member of the drive (see :class:`SharedDriveOps`). A 404 is returned as ``None`` /
``False`` (the thing is already gone); every other failure raises :class:`GoogleCallError`.

An owner who cannot be impersonated (suspended or deleted: the token request fails with
``invalid_grant``) is replaced by the admin subject *as a plain user*: ``useDomainAdminAccess``
applies only to shared drives, so the admin may change sharing on a My Drive file only when the
file itself lets them share it (``capabilities.canShare``, i.e. they are a writer). That is checked
before every call; otherwise :class:`OwnerUnavailable` says what a person has to do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from scanner.config import Settings
from scanner.connectors.google.directory import ranked_members
from scanner.core.errors import SharescanError

PERMISSION_FIELDS = ("id,type,role,emailAddress,domain,allowFileDiscovery,expirationTime,deleted,pendingOwner,"
                     "permissionDetails")
FILE_FIELDS = "id,name,mimeType,owners(emailAddress),driveId,trashed,parents"
REVISION_FIELDS = "id,published,publishAuto,publishedOutsideDomain"
#: What limited access needs to know about a folder.
FOLDER_ACCESS_FIELDS = ("id,mimeType,inheritedPermissionsDisabled,"
                        "capabilities(canDisableInheritedPermissions,canEnableInheritedPermissions)")
INHERITED_REASONS = frozenset({"cannotModifyInheritedTeamDrivePermission", "cannotModifyInheritedPermission"})
#: Token-request errors meaning "this user cannot be impersonated" (suspended, deleted, unknown).
IMPERSONATION_REASONS = frozenset({"invalid_grant"})


class OwnerUnavailable(SharescanError):
    """The owner cannot be impersonated and the admin subject may not change this file's sharing."""

    exit_code = 4


class DriveOps(Protocol):
    #: Set when the calls run as someone other than the file's owner (why, and as whom), else None.
    @property
    def acting_note(self) -> str | None: ...

    #: The Google identity the last call ran as (the impersonated user), None before any call.
    @property
    def acting_subject(self) -> str | None: ...

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
    def get_folder_access(self, file_id: str) -> dict[str, Any] | None: ...
    def set_limited_access(self, file_id: str, limited: bool) -> dict[str, Any]: ...


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
    def acting_note(self) -> str | None:
        return None

    @property
    def acting_subject(self) -> str | None:
        return self.subject

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

    def get_folder_access(self, file_id: str) -> dict[str, Any] | None:
        """A folder's limited access and whether this identity may change it (None: not found)."""
        try:
            return dict(self._run(self.drive.files().get(fileId=file_id, fields=FOLDER_ACCESS_FIELDS,
                                                         supportsAllDrives=True)))
        except Exception as exc:
            if _is_404(exc):
                return None
            raise

    def set_limited_access(self, file_id: str, limited: bool) -> dict[str, Any]:
        """files.update ``inheritedPermissionsDisabled`` (folders; the owner or a shared drive's organizer)."""
        return dict(self._run(self.drive.files().update(
            fileId=file_id, body={"inheritedPermissionsDisabled": limited}, fields=FOLDER_ACCESS_FIELDS,
            supportsAllDrives=True)))


def cannot_impersonate(exc: BaseException) -> bool:
    return getattr(exc, "reason", None) in IMPERSONATION_REASONS and getattr(exc, "status", None) is None


class _ChoosingOps:
    """DriveOps that pick, per call, which identity's GoogleDriveOps runs it (``_call``)."""

    def _call(self, name: str, file_id: str, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def get_file(self, file_id: str) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self._call("get_file", file_id)
        return result

    def get_permission(self, file_id: str, permission_id: str) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self._call("get_permission", file_id, permission_id)
        return result

    def list_permissions(self, file_id: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("list_permissions", file_id)
        return result

    def create_permission(self, file_id: str, body: dict[str, Any], *,
                          send_notification: bool | None) -> dict[str, Any]:
        result: dict[str, Any] = self._call("create_permission", file_id, body, send_notification=send_notification)
        return result

    def update_permission(self, file_id: str, permission_id: str, body: dict[str, Any], *,
                          remove_expiration: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = self._call("update_permission", file_id, permission_id, body,
                                            remove_expiration=remove_expiration)
        return result

    def delete_permission(self, file_id: str, permission_id: str) -> bool:
        return bool(self._call("delete_permission", file_id, permission_id))

    def list_revisions(self, file_id: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("list_revisions", file_id)
        return result

    def update_revision(self, file_id: str, revision_id: str, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("update_revision", file_id, revision_id, body)
        return result

    def get_folder_access(self, file_id: str) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self._call("get_folder_access", file_id)
        return result

    def set_limited_access(self, file_id: str, limited: bool) -> dict[str, Any]:
        result: dict[str, Any] = self._call("set_limited_access", file_id, limited)
        return result


class OwnerOrAdminOps(_ChoosingOps):
    """DriveOps as the owner; if the owner cannot be impersonated, as the admin where the file allows it.

    The switch is sticky (one failed token request per owner, not per call). In admin mode every
    call on a file first checks that the admin can see it and share it: a 404 as the admin must
    never be mistaken for "permission already gone".
    """

    def __init__(self, owner_ops: GoogleDriveOps, admin_ops: GoogleDriveOps, owner: str, admin: str) -> None:
        self.owner_ops = owner_ops
        self.admin_ops = admin_ops
        self.owner = owner
        self.admin = admin
        self.owner_unavailable = False

    @property
    def acting_subject(self) -> str | None:
        return self.admin if self.owner_unavailable else self.owner

    @property
    def acting_note(self) -> str | None:
        if not self.owner_unavailable:
            return None
        return f"acted as {self.admin}: owner {self.owner} cannot be impersonated (suspended or deleted)"

    def _refusal(self, file_id: str, why: str) -> OwnerUnavailable:
        return OwnerUnavailable(
            f"owner {self.owner} is suspended or deleted (cannot be impersonated) and {self.admin} {why} on "
            f"file {file_id}: transfer ownership (Admin console > Data transfer) or ask an admin to fix the "
            "sharing, then run remediation again")

    def _check_admin(self, file_id: str) -> None:
        if not self.admin:
            raise self._refusal(file_id, "([google] admin_subject is not set) cannot act")
        try:
            meta = self.admin_ops._run(self.admin_ops.drive.files().get(
                fileId=file_id, fields="id,capabilities(canShare)", supportsAllDrives=True))
        except Exception as exc:
            if _is_404(exc):
                raise self._refusal(file_id, "cannot see the file") from None
            raise
        if not (meta.get("capabilities") or {}).get("canShare"):
            raise self._refusal(file_id, "has no write access (cannot change sharing)")

    def _call(self, name: str, file_id: str, *args: Any, **kwargs: Any) -> Any:
        if not self.owner_unavailable:
            try:
                return getattr(self.owner_ops, name)(file_id, *args, **kwargs)
            except Exception as exc:
                if not cannot_impersonate(exc):
                    raise
                self.owner_unavailable = True
        self._check_admin(file_id)
        return getattr(self.admin_ops, name)(file_id, *args, **kwargs)


#: Shared-drive roles that may change an item's sharing and publishing, most privileged first.
ACTING_MEMBER_ROLES = ("organizer", "fileOrganizer", "writer")


class SharedDriveOps(_ChoosingOps):
    """DriveOps for items of one shared drive, as one of its members.

    ``useDomainAdminAccess`` covers permission calls only: ``files.get`` (the re-read before and
    after every action) and ``revisions.*`` (unpublishing) have no such parameter, so an admin who
    is not a member gets 404 for every item. Remediation therefore acts as an organisation member
    of the drive, most privileged first (organizer, fileOrganizer, writer; the members are listed
    once with domain admin access), moving to the next member when one cannot be impersonated.
    With no usable member it acts as the admin with domain admin access, as before.
    """

    def __init__(self, drive_id: str, admin_ops: GoogleDriveOps, member_ops: Callable[[str], GoogleDriveOps],
                 org_domains: frozenset[str]) -> None:
        self.drive_id = drive_id
        self.admin_ops = admin_ops
        self.member_ops = member_ops
        self.org_domains = org_domains
        self._members: list[str] | None = None
        self._note: str | None = None
        self._subject: str | None = None

    @property
    def acting_note(self) -> str | None:
        return self._note

    @property
    def acting_subject(self) -> str | None:
        return self._subject

    def members(self) -> list[str]:
        if self._members is None:
            self._members = ranked_members(self.admin_ops.list_permissions(self.drive_id), self.org_domains,
                                           ACTING_MEMBER_ROLES)
        return self._members

    def _call(self, name: str, file_id: str, *args: Any, **kwargs: Any) -> Any:
        while self.members():
            member = self.members()[0]
            try:
                result = getattr(self.member_ops(member), name)(file_id, *args, **kwargs)
                self._note = f"acted as {member}, a member of the shared drive"
                self._subject = member
                return result
            except Exception as exc:
                if not cannot_impersonate(exc):
                    raise
                self.members().pop(0)  # suspended or deleted: the next member
        self._note = None
        self._subject = self.admin_ops.subject
        return getattr(self.admin_ops, name)(file_id, *args, **kwargs)


def google_ops_factory(settings: Settings, clients: Any | None = None) -> OpsFactory:
    """DriveOps with the remediation credentials: as the owner (falling back to the admin when the owner
    cannot be impersonated, see :class:`OwnerOrAdminOps`), or as the admin for shared drives."""
    if clients is None:
        from scanner.connectors.google.client import GoogleClients

        clients = GoogleClients(settings, credentials_file=settings.google.remediation_service_account_file)
    cache: dict[tuple[str, bool], GoogleDriveOps] = {}
    owners: dict[str, OwnerOrAdminOps] = {}
    drives: dict[str, SharedDriveOps] = {}
    admin_domain = settings.google.admin_subject.rpartition("@")[2].lower()
    org_domains = frozenset(d.lower() for d in settings.organisation.domains) or frozenset({admin_domain})

    def plain(subject: str, admin: bool) -> GoogleDriveOps:
        key = (subject, admin)
        if key not in cache:
            cache[key] = GoogleDriveOps(clients, subject, domain_admin=admin)
        return cache[key]

    def factory(owner: str | None, drive_id: str | None) -> DriveOps:
        admin_subject = settings.google.admin_subject
        if drive_id:
            if drive_id not in drives:
                drives[drive_id] = SharedDriveOps(drive_id, plain(admin_subject, True),
                                                  lambda member: plain(member, False), org_domains)
            return drives[drive_id]
        if not owner:
            return plain(admin_subject, False)
        key = owner.lower()
        if key not in owners:
            owners[key] = OwnerOrAdminOps(plain(owner, False), plain(admin_subject, False), owner, admin_subject)
        return owners[key]

    return factory
