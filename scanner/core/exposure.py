"""Who can open a file: each Drive permission normalised into an exposure class
(docs/ARCHITECTURE.md, "Exposure classes").

Pure functions, no I/O. Direct and inherited permissions are kept apart by the Permission
itself (``inherited`` / ``inherited_from``); publishing to the web comes from the file
(``DriveFile.published``, set by the crawler from the head revision).
"""

from __future__ import annotations

from collections.abc import Iterable

from scanner.core.models import PUBLISHED_VIEW, DriveFile, ExposedPermission, Exposure, FileExposure, Permission

#: Who keeps reaching a folder with limited access through an inherited grant: shared-drive organizers.
LIMITED_ACCESS_KEEPS = frozenset({"organizer"})


def normalise_domain(domain: str) -> str:
    """``Tessera-Labs.com.`` → ``tessera-labs.com``."""
    return domain.strip().lower().rstrip(".")


def normalise_domains(domains: Iterable[str]) -> frozenset[str]:
    return frozenset(normalise_domain(d) for d in domains if d and d.strip())


def email_domain(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    return normalise_domain(email.rsplit("@", 1)[1]) or None


def classify_permission(permission: Permission, org_domains: frozenset[str],
                        external_groups: frozenset[str] = frozenset()) -> Exposure | None:
    """The exposure class a permission grants, or None when it grants nobody access.

    A deleted account grants nothing. A user or group without a visible email address is
    treated as external (we cannot prove it is ours). Unknown permission types are treated
    as external users for the same reason. A form's responder permission for anyone (the
    ``published`` view) publishes the form: ``published``.
    """
    if permission.deleted:
        return None
    kind = permission.type
    if kind == "anyone":
        if permission.view == PUBLISHED_VIEW:
            return Exposure.PUBLISHED
        return Exposure.PUBLIC if permission.allow_file_discovery else Exposure.ANYONE_WITH_LINK
    if kind == "domain":
        return Exposure.DOMAIN if normalise_domain(permission.domain or "") in org_domains else Exposure.EXTERNAL_DOMAIN
    email_dom = email_domain(permission.email_address)
    internal = email_dom is not None and email_dom in org_domains
    if kind == "group":
        # an organisation group with members outside it (``external_groups``) shares outside too
        ours = internal and (permission.email_address or "").lower() not in external_groups
        return Exposure.INTERNAL if ours else Exposure.EXTERNAL_GROUP
    return Exposure.INTERNAL if internal else Exposure.EXTERNAL_USER


def classify(file: DriveFile, org_domains: Iterable[str],
             external_groups: frozenset[str] = frozenset()) -> FileExposure:
    """The exposure of a file: every permission that reaches beyond organisation users/groups
    (``domain`` included), sorted widest first then by permission id for stable output.
    ``external_groups``: the organisation's group emails (lower case) that have outside members.
    On a folder with limited access an inherited grant (other than a shared drive's organizers) reaches
    nobody, whatever the API lists."""
    domains = org_domains if isinstance(org_domains, frozenset) else normalise_domains(org_domains)
    exposed = []
    for permission in file.permissions:
        if file.inherited_permissions_disabled and permission.inherited_only \
                and permission.role not in LIMITED_ACCESS_KEEPS:
            continue
        exposure = classify_permission(permission, domains, external_groups)
        if exposure is None or exposure is Exposure.INTERNAL:
            continue
        exposed.append(ExposedPermission(permission=permission, exposure=exposure))
    exposed.sort(key=lambda e: (e.exposure.rank, e.permission.inherited, e.permission.id))
    return FileExposure(file=file, exposed=tuple(exposed))


def is_exposed(exposure: FileExposure) -> bool:
    """Exposed beyond ``internal`` (``domain`` counts: rules may match it)."""
    return exposure.widest is not Exposure.INTERNAL


def is_external(exposure: FileExposure) -> bool:
    """Reachable by someone outside the organisation (public, link, published, external)."""
    return exposure.widest.is_external


def can_be_published(file: DriveFile) -> bool:
    """Whether a file can be published to the web: a live Google Docs editor file.

    Publishing needs no sharing at all (an owner-only doc can be published), so every live
    editor file is a candidate; binary files cannot be published. When to read it again:
    ``scanner.core.publish.needs_publish_check``.
    """
    return file.is_editor_document and not file.trashed
