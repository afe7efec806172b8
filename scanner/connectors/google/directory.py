"""Who to crawl: users from the Admin SDK Directory, shared drives, and a shared drive's members."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from scanner.config import Settings
from scanner.connectors.google.client import CallTally, GoogleCallError, GoogleClients
from scanner.core.errors import ConfigError
from scanner.core.exposure import email_domain

USER_FIELDS = "nextPageToken,users(primaryEmail,suspended,archived,orgUnitPath,isMailboxSetup)"
DRIVE_FIELDS = "nextPageToken,drives(id,name,hidden)"
MEMBER_FIELDS = "nextPageToken,permissions(id,type,role,emailAddress,deleted)"
#: Which member of a shared drive to list it as: the most privileged first.
ROLE_PREFERENCE = ("organizer", "fileOrganizer", "writer", "commenter", "reader")


@dataclass(frozen=True)
class DirectoryUser:
    email: str
    org_unit: str = "/"
    suspended: bool = False
    archived: bool = False

    @property
    def skip_reason(self) -> str | None:
        if self.suspended:
            return "suspended"
        if self.archived:
            return "archived"
        return None


@dataclass(frozen=True)
class SharedDrive:
    id: str
    name: str
    hidden: bool = False


def list_users(clients: GoogleClients, settings: Settings, tally: CallTally | None = None) -> list[DirectoryUser]:
    """Every user of the customer, paged 500 at a time, as the admin subject."""
    directory = clients.directory(settings.google.admin_subject)
    pages = clients.pages(lambda token: directory.users().list(
        customer=settings.organisation.customer_id, maxResults=500, orderBy="email",
        fields=USER_FIELDS, pageToken=token), tally=tally)
    return [DirectoryUser(email=str(item["primaryEmail"]).lower(), org_unit=str(item.get("orgUnitPath") or "/"),
                          suspended=bool(item.get("suspended")), archived=bool(item.get("archived")))
            for page in pages for item in page.get("users", [])]


def list_domains(clients: GoogleClients, settings: Settings, tally: CallTally | None = None) -> list[str]:
    directory = clients.directory(settings.google.admin_subject)
    body = clients.execute(directory.domains().list(customer=settings.organisation.customer_id), tally=tally)
    return sorted(str(d["domainName"]).lower() for d in body.get("domains", []) if d.get("domainName"))


@dataclass(frozen=True)
class CustomerDomains:
    """What the Directory says the customer owns: verified primary and secondary domains, and aliases."""

    primary: str
    secondary: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    #: Domains added to the account but not verified: not (yet) the customer's.
    unverified: tuple[str, ...] = ()

    @property
    def owned(self) -> frozenset[str]:
        return frozenset({self.primary, *self.secondary, *self.aliases} - {""})


def customer_domains(clients: GoogleClients, settings: Settings, tally: CallTally | None = None) -> CustomerDomains:
    """``domains.list`` (primary and secondary domains, with their aliases) and ``domainAliases.list``."""
    directory = clients.directory(settings.google.admin_subject)
    customer = settings.organisation.customer_id
    body = clients.execute(directory.domains().list(customer=customer), tally=tally)
    primary, secondary, aliases, unverified = "", [], set(), []
    alias_items = list(clients.execute(directory.domainAliases().list(customer=customer), tally=tally)
                       .get("domainAliases", []))
    for d in body.get("domains", []):
        name = str(d.get("domainName") or "").lower()
        if not name:
            continue
        alias_items.extend(d.get("domainAliases") or [])
        if not d.get("verified", True):
            unverified.append(name)
        elif d.get("isPrimary"):
            primary = name
        else:
            secondary.append(name)
    for a in alias_items:
        name = str(a.get("domainAliasName") or "").lower()
        if name and a.get("verified", True):
            aliases.add(name)
        elif name:
            unverified.append(name)
    return CustomerDomains(primary, tuple(sorted(secondary)), tuple(sorted(aliases)), tuple(sorted(set(unverified))))


def _group_users(clients: GoogleClients, settings: Settings, group: str, tally: CallTally | None) -> set[str]:
    directory = clients.directory(settings.google.admin_subject)
    pages = clients.pages(lambda token: directory.members().list(
        groupKey=group, maxResults=200, includeDerivedMembership=True, fields="members(email,type),nextPageToken",
        pageToken=token), tally=tally)
    return {str(m["email"]).lower() for page in pages for m in page.get("members", [])
            if m.get("email") and m.get("type", "USER") == "USER"}


def group_members(clients: GoogleClients, settings: Settings, group: str,
                  tally: CallTally | None = None) -> set[str]:
    """Emails of the users in ``group``, members of nested groups included (Google expands them with
    ``includeDerivedMembership``); the nested groups themselves are not users and are left out."""
    try:
        return _group_users(clients, settings, group, tally)
    except GoogleCallError as exc:
        if exc.status == 404:
            raise ConfigError(f"[google] groups: no group {group!r} in the directory (check the address; "
                              "aliases work, display names do not)") from exc
        raise


def has_outside_members(clients: GoogleClients, settings: Settings, group: str, org_domains: frozenset[str],
                        tally: CallTally | None = None) -> bool:
    """Whether ``group`` (nested groups included) has a member outside ``org_domains``. A group the
    directory does not know (deleted) grants nobody anything: False."""
    try:
        members = _group_users(clients, settings, group, tally)
    except GoogleCallError as exc:
        if exc.status == 404:
            return False
        raise
    return any(email_domain(m) not in org_domains for m in members)


def select_users(users: list[DirectoryUser], settings: Settings, group_emails: set[str]) -> list[DirectoryUser]:
    """Narrow to ``google.users`` / ``google.org_units`` (and sub-units) / ``google.groups``
    members; a user matching any selector is included. No selector: everyone."""
    g = settings.google
    if not (g.users or g.org_units or g.groups):
        return users
    wanted = {u.lower() for u in g.users}
    units = [ou.rstrip("/") or "/" for ou in g.org_units]

    def in_unit(path: str) -> bool:
        return any(ou == "/" or path == ou or path.startswith(ou + "/") for ou in units)

    return [u for u in users if u.email in wanted or in_unit(u.org_unit) or u.email in group_emails]


def list_shared_drives(clients: GoogleClients, settings: Settings,
                       tally: CallTally | None = None) -> list[SharedDrive]:
    drive = clients.drive(settings.google.admin_subject)
    pages = clients.pages(lambda token: drive.drives().list(useDomainAdminAccess=True, pageSize=100,
                                                           fields=DRIVE_FIELDS, pageToken=token), tally=tally)
    return [SharedDrive(id=str(d["id"]), name=str(d.get("name", "")), hidden=bool(d.get("hidden")))
            for page in pages for d in page.get("drives", [])]


def find_member(clients: GoogleClients, settings: Settings, drive_id: str, active_users: set[str],
                org_domains: frozenset[str], tally: CallTally | None = None) -> str | None:
    """An active organisation user who is a member of the shared drive, most privileged first."""
    drive = clients.drive(settings.google.admin_subject)
    pages = clients.pages(lambda token: drive.permissions().list(
        fileId=drive_id, useDomainAdminAccess=True, supportsAllDrives=True, pageSize=100,
        fields=MEMBER_FIELDS, pageToken=token), tally=tally)
    members = ranked_members((p for page in pages for p in page.get("permissions", [])), org_domains)
    return next((m for m in members if m in active_users), None)


def ranked_members(permissions: Iterable[dict[str, Any]], org_domains: frozenset[str],
                   roles: Sequence[str] = ROLE_PREFERENCE) -> list[str]:
    """The organisation users among a shared drive's member permissions (API JSON) holding one of
    ``roles``, most privileged first (then by email)."""
    ranked = []
    for p in permissions:
        email = str(p.get("emailAddress") or "").lower()
        if p.get("type") != "user" or p.get("deleted") or p.get("role") not in roles:
            continue
        if email_domain(email) not in org_domains:
            continue
        ranked.append((roles.index(str(p["role"])), email))
    return [email for _rank, email in sorted(ranked)]
