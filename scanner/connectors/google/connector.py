"""Google Workspace (Drive, Admin SDK Directory and Reports) as a connector.

``GOOGLE_CONNECTOR`` is what the registry knows (name, capabilities); :class:`GoogleConnector`
implements :class:`scanner.connectors.base.Connector` over the modules beside this one: ``client``
(credentials, retries, quota), ``directory`` (users, domains, groups, shared-drive members),
``drive_api`` (the crawl's requests and their parsing into core items), ``fetch`` (export or
download, capped), ``readers`` (who can read an item's content) and ``drive_ops`` (sharing changes
as the owner / a drive member / the admin). See docs/ARCHITECTURE.md, "How to add a connector".

The scan's crawler (``scanner/drive/crawler.py``) still drives the Drive requests itself, for what
the protocol does not carry yet (batched publish checks gated by the stored state, pending reads,
group expansion); the analysis phase fetches content through the protocol.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any

from scanner.config import Settings
from scanner.connectors.base import Capability, Change, ChangePage, Content, Page, Target
from scanner.connectors.google import directory
from scanner.connectors.google import drive_api as api
from scanner.connectors.google.client import GoogleCallError, GoogleClients
from scanner.connectors.google.drive_ops import GoogleDriveOps
from scanner.connectors.google.fetch import DENIED_REASONS, ContentFetcher
from scanner.connectors.google.readers import ContentReaders
from scanner.connectors.registry import CONNECTORS, ConnectorInfo
from scanner.core.errors import GoogleApiError
from scanner.core.exposure import can_be_published, normalise_domains
from scanner.core.models import GOOGLE, DriveFile, Permission
from scanner.core.unread import ReadFailure, failure_of

GOOGLE_CONNECTOR = CONNECTORS.register(ConnectorInfo(
    name=GOOGLE,
    capabilities=frozenset({Capability.PUBLISH_TO_WEB, Capability.INHERITED_GRANTS, Capability.CHANGE_FEED,
                            Capability.GRANT_EXPIRY, Capability.LIMITED_ACCESS, Capability.SHARED_DRIVES}),
    settings_section="google",
    description="Google Drive (My Drive and shared drives) of a Workspace domain",
))


def _denied(exc: BaseException) -> bool:
    """This identity cannot read the item (refused, or cannot be impersonated); another one might."""
    return getattr(exc, "status", None) in (401, 403, 404) or getattr(exc, "reason", "") in DENIED_REASONS


def _permissions_request(drive: Any, item: dict[str, Any], token: str | None) -> Any:
    return api.list_permissions(drive, item["id"], token, published_view=api.is_form(item))


class GoogleSharing:
    """:class:`scanner.connectors.base.SharingOps` as one identity: Drive permissions as core grants."""

    def __init__(self, ops: GoogleDriveOps) -> None:
        self.ops = ops

    def list_grants(self, item_id: str) -> list[Permission]:
        return list(api.parse_permissions(self.ops.list_permissions(item_id)))

    def remove_grant(self, item_id: str, grant_id: str) -> bool:
        """False: the grant was already gone."""
        return self.ops.delete_permission(item_id, grant_id)

    def set_role(self, item_id: str, grant_id: str, role: str) -> Permission:
        return api.permission_from_api(self.ops.update_permission(item_id, grant_id, {"role": role}))


class GoogleConnector:
    """A Workspace domain's Drive through the :class:`scanner.connectors.base.Connector` protocol.

    Targets are the selected users' My Drives (``kind="user"``, key the email) and the shared drives
    (``kind="drive"``, key the drive id); a My Drive is listed as its owner, a shared drive as its
    most privileged active member. Safe to share between threads (the readers cache is locked).
    """

    provider = GOOGLE
    capabilities = GOOGLE_CONNECTOR.capabilities

    def __init__(self, settings: Settings, clients: GoogleClients, *,
                 org_domains: frozenset[str] | None = None, include_labels: str = "") -> None:
        self.settings = settings
        self.clients = clients
        self._org_domains = org_domains
        self.include_labels = include_labels
        self.fetcher = ContentFetcher(clients)
        self._readers: ContentReaders | None = None
        self._active: set[str] | None = None

    # ------------------------------------------------------------------ who and what
    @property
    def org_domains(self) -> frozenset[str]:
        if self._org_domains is None:
            configured = self.settings.organisation.domains
            self._org_domains = normalise_domains(
                configured if configured else directory.list_domains(self.clients, self.settings))
        return self._org_domains

    @property
    def readers(self) -> ContentReaders:
        if self._readers is None:
            self._readers = ContentReaders(self.settings, self.clients, self.org_domains)
        return self._readers

    def _active_users(self) -> set[str]:
        if self._active is None:
            self._active = {u.email for u in directory.list_users(self.clients, self.settings)
                            if u.skip_reason is None}
        return self._active

    def discover_targets(self) -> Sequence[Target]:
        """The selected users (``[google] users`` / org units / groups; a suspended or archived one with
        its ``skip_reason``) and, with ``include_shared_drives``, every shared drive."""
        settings = self.settings
        users = directory.list_users(self.clients, settings)
        self._active = {u.email for u in users if u.skip_reason is None}
        group_emails: set[str] = set()
        for group in settings.google.groups:
            group_emails |= directory.group_members(self.clients, settings, group)
        targets = [Target("user", u.email, u.email, skip_reason=u.skip_reason)
                   for u in directory.select_users(users, settings, group_emails)]
        if settings.google.include_shared_drives:
            targets += [Target("drive", d.id, d.name) for d in directory.list_shared_drives(self.clients, settings)]
        return targets

    def _subject(self, target: Target) -> str:
        if target.kind == "drive":
            member = directory.find_member(self.clients, self.settings, target.key, self._active_users(),
                                           self.org_domains)
            if member is None:
                raise GoogleApiError(f"no active organisation member can list shared drive {target.key}")
            return member
        if target.skip_reason is not None:
            return self.settings.google.admin_subject
        return target.key

    # ------------------------------------------------------------------ crawl
    def crawl(self, target: Target, cursor: str | None) -> Iterator[Page]:
        """``files.list`` of the target from ``cursor``, a page at a time, each item with its grants
        (``permissions.list`` where the listing leaves them out) and its publish state (``revisions.list``
        for Docs editor files). An item whose grants or publish state cannot be read is left out of the
        page: an item is never reported with less sharing than it has."""
        subject = self._subject(target)
        drive = self.clients.drive(subject)

        def request(token: str | None) -> Any:
            if target.kind == "drive":
                return api.list_shared_drive(drive, target.key, token, include_labels=self.include_labels)
            return api.list_owned(drive, target.key, token, include_labels=self.include_labels)

        for body in self.clients.pages(request, token=cursor):
            yield Page(items=tuple(self._complete(drive, body.get("files", []))),
                       next_cursor=body.get("nextPageToken"))

    def change_cursor(self, target: Target) -> str:
        """Where the target's change feed starts now (take it before a full crawl)."""
        drive = self.clients.drive(self._subject(target))
        body = self.clients.execute(api.start_page_token(drive, target.key if target.kind == "drive" else None))
        return str(body["startPageToken"])

    def changes(self, target: Target, cursor: str) -> Iterator[ChangePage]:
        """The target's change feed from ``cursor``: items as they are now (with grants) or removed."""
        drive = self.clients.drive(self._subject(target))
        drive_id = target.key if target.kind == "drive" else None
        token = cursor
        while True:
            body = self.clients.execute(api.list_changes(drive, token, drive_id, include_labels=self.include_labels))
            entries = [c for c in body.get("changes", []) if c.get("changeType", "file") == "file"]
            live = [c["file"] for c in entries if c.get("file") and not c.get("removed")
                    and not c["file"].get("trashed")]
            items = {f.id: f for f in self._complete(drive, live)}
            out = []
            for c in entries:
                item_id = str(c.get("fileId") or (c.get("file") or {}).get("id") or "")
                if item_id in items:
                    out.append(Change(item_id, item=items[item_id]))
                elif c.get("removed") or not c.get("file") or c["file"].get("trashed"):
                    out.append(Change(item_id, removed=True))
            next_token = body.get("nextPageToken")
            new_start = body.get("newStartPageToken")
            yield ChangePage(changes=tuple(out), next_cursor=next_token,
                             new_start_cursor=str(new_start) if new_start and not next_token else None)
            if not next_token:
                return
            token = str(next_token)

    def _complete(self, drive: Any, raw: list[dict[str, Any]]) -> list[DriveFile]:
        need = [i for i in raw if not api.has_permissions(i)]
        perms: dict[str, tuple[Permission, ...]] = {}
        for item in need:
            try:
                pages = self.clients.pages(partial(_permissions_request, drive, item))
                perms[item["id"]] = api.parse_permissions([p for page in pages for p in page.get("permissions", [])])
            except GoogleCallError:
                continue  # grants unknown: not reported as having none
        files = [api.parse_file(i, permissions=perms[i["id"]]) if i["id"] in perms else api.parse_file(i)
                 for i in raw if i["id"] in perms or api.has_permissions(i)]
        out = []
        for f in files:
            if can_be_published(f):
                try:
                    revisions = [r for page in self.clients.pages(partial(api.list_revisions, drive, f.id))
                                 for r in page.get("revisions", [])]
                except GoogleCallError:
                    continue  # publish state unknown
                if any(r.get("published") for r in revisions):
                    f = dataclasses.replace(f, published=True)
            out.append(f)
        return out

    # ------------------------------------------------------------------ content
    def identities_for(self, item: DriveFile) -> Sequence[str]:
        """A member of its shared drive, its owner, then the admin subject (each once)."""
        return list(self.readers.for_file(item))

    def fetch_content(self, item: DriveFile, *, as_identity: str, max_bytes: int) -> Content:
        """Export (Docs editor files) or download the item as ``as_identity``, at most ``max_bytes``."""
        try:
            got = self.fetcher.fetch(item, as_user=as_identity, max_bytes=max_bytes)
        except GoogleApiError as exc:  # e.g. the identity cannot be impersonated (suspended): try the next
            return Content(skip_reason=str(exc), denied=True, failure=failure_of(
                exc, ReadFailure.NO_READER if _denied(exc) else ReadFailure.DOWNLOAD_FAILED))
        if not got.ok and got.denied:
            return Content(mime_type=got.mime_type, skip_reason=got.skip_reason, denied=True,
                           failure=ReadFailure.NO_READER)
        return Content(data=got.data, mime_type=got.mime_type, truncated=got.truncated, skip_reason=got.skip_reason,
                       failure=got.failure)

    # ------------------------------------------------------------------ act
    def sharing(self, identity: str) -> GoogleSharing:
        return GoogleSharing(GoogleDriveOps(self.clients, identity))
