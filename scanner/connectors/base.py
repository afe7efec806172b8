"""The connector seam: what the scan needs from a storage provider, in neutral nouns.

A connector is one package under ``scanner/connectors/<provider>/`` (Google's is ``google``). It is
found through the connector registry (:mod:`scanner.connectors.registry`), which also loads the
``sharescan.connectors`` entry points of installed distributions. Connectors import
``scanner.core`` (and the configuration) and never the store: the scan phases persist what they
return. See docs/ARCHITECTURE.md, "How to add a connector".

The protocol, by phase:

- **plan**: :meth:`Connector.discover_targets` — the units a full crawl splits into (a user's
  My Drive, a shared drive, a bucket...), each with a stable key the coverage is recorded under.
- **crawl**: :meth:`Connector.crawl` — one target from a cursor (``None``: from the start) into
  :class:`Page` s of items with their grants; each page carries the cursor to resume from, so a
  killed crawl resumes where it stopped. :meth:`Connector.changes` is the incremental feed of one
  target from a cursor that :meth:`Connector.change_cursor` gave before an earlier crawl.
- **content**: :meth:`Connector.fetch_content` — the bytes of one item (bounded), as an identity
  that can read it.
- **act**: :meth:`Connector.identities_for` — who the calls on an item run as (its owner, a
  drive member, an admin), and :meth:`Connector.sharing` — sharing operations on neutral grants.
- **declare**: :attr:`Connector.capabilities` — what the provider has at all (publish-to-web,
  inherited grants, a change feed, grant expiry, limited-access folders), so rules and actions
  that need a capability the provider lacks are refused at load time, not at run time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from scanner.core.models import DriveFile, Permission
from scanner.core.unread import ReadFailure


class Capability(StrEnum):
    """What a provider can have; a connector declares the ones it has."""

    #: Items can be published to the web apart from their sharing (Google Docs editor files).
    PUBLISH_TO_WEB = "publish_to_web"
    #: Grants can be inherited from a folder / drive (and then changed only on the ancestor).
    INHERITED_GRANTS = "inherited_grants"
    #: An incremental change feed with a resumable token.
    CHANGE_FEED = "change_feed"
    #: Grants can carry an expiry time.
    GRANT_EXPIRY = "grant_expiry"
    #: Folders can stop inherited grants from reaching what they hold.
    LIMITED_ACCESS = "limited_access"
    #: Shared (team) drives whose items belong to no user.
    SHARED_DRIVES = "shared_drives"


@dataclass(frozen=True)
class Target:
    """One unit of a full crawl. ``key`` is stable across runs (coverage and cursors are stored by it)."""

    kind: str  # e.g. "user" (a My Drive), "drive" (a shared drive), a bucket...
    key: str  # e.g. the user's email, the drive id
    title: str = ""
    #: Set when the target exists but cannot be crawled as itself (a suspended user): the plan records it.
    skip_reason: str | None = None


@dataclass(frozen=True)
class Page:
    """Items of one target, and the cursor to resume after them (``None``: the target is done)."""

    items: Sequence[DriveFile]
    next_cursor: str | None = None


@dataclass(frozen=True)
class Content:
    """An item's bytes (``mime_type`` says how to read them), or why there are none.

    ``skip_reason`` alone is a lasting reason (a folder, too large, an unsupported type: the verdict on
    that revision); with ``failure`` set the read failed for a cause that may pass (a pending read,
    ``scanner.core.unread``); ``denied``: this identity cannot read the item, another one may. The
    reason names the API call and its error, never the data.
    """

    data: bytes = b""
    mime_type: str = ""
    truncated: bool = False
    skip_reason: str | None = None
    failure: ReadFailure | None = None
    denied: bool = False

    @property
    def ok(self) -> bool:
        return self.skip_reason is None


@dataclass(frozen=True)
class Change:
    """One entry of the change feed: the item as it is now, or ``removed``."""

    item_id: str
    item: DriveFile | None = None
    removed: bool = False


@dataclass(frozen=True)
class ChangePage:
    changes: Sequence[Change] = field(default_factory=tuple)
    next_cursor: str | None = None
    #: Set on the last page: where the next incremental run starts.
    new_start_cursor: str | None = None


class SharingOps(Protocol):
    """Sharing operations on neutral grants (:class:`~scanner.core.models.Permission`), as one identity."""

    def list_grants(self, item_id: str) -> list[Permission]: ...
    def remove_grant(self, item_id: str, grant_id: str) -> bool: ...
    def set_role(self, item_id: str, grant_id: str, role: str) -> Permission: ...


@runtime_checkable
class Connector(Protocol):
    """A storage provider as the scan phases see it."""

    #: The provider name stored on targets, files and findings (``google``).
    provider: str
    capabilities: frozenset[Capability]

    def discover_targets(self) -> Sequence[Target]: ...
    def crawl(self, target: Target, cursor: str | None) -> Iterator[Page]: ...
    def change_cursor(self, target: Target) -> str: ...
    def changes(self, target: Target, cursor: str) -> Iterator[ChangePage]: ...
    def fetch_content(self, item: DriveFile, *, as_identity: str, max_bytes: int) -> Content: ...
    def identities_for(self, item: DriveFile) -> Sequence[str]: ...
    def sharing(self, identity: str) -> SharingOps: ...
