"""Organisational units and the Cloud Identity policies set on them (Drive and Docs sharing posture).

Like Google's Policy API, the store holds only policies whose values were set explicitly: a child org
unit that inherits its parent's setting has no policy of its own, and a setting nobody changed at the
root has none at all (clients then apply Google's documented defaults). Several policies may apply to
one user (their org unit, its ancestors, their groups); the one with the greatest ``sortOrder`` wins
(Google's "Max" reducer for the ``drive_and_docs.*`` settings), so deeper units and groups get greater
sort orders here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

#: Setting types (``setting.type``) of the Drive and Docs settings the Policy API exposes, and the
#: fields of their values, as Google's "supported settings" reference names them (camelCase in JSON).
EXTERNAL_SHARING = "settings/drive_and_docs.external_sharing"
GENERAL_ACCESS_DEFAULT = "settings/drive_and_docs.general_access_default"
SHARED_DRIVE_CREATION = "settings/drive_and_docs.shared_drive_creation"
SERVICE_STATUS = "settings/drive_and_docs.service_status"
SETTING_FIELDS: dict[str, frozenset[str]] = {
    EXTERNAL_SHARING: frozenset({
        "externalSharingMode", "allowReceivingExternalFiles", "warnForSharingOutsideAllowlistedDomains",
        "allowReceivingFilesOutsideAllowlistedDomains", "allowNonGoogleInvitesInAllowlistedDomains",
        "warnForExternalSharing", "allowNonGoogleInvites", "allowPublishingFiles", "accessCheckerSuggestions",
        "allowedPartiesForDistributingContent"}),
    GENERAL_ACCESS_DEFAULT: frozenset({"defaultFileAccess"}),
    SHARED_DRIVE_CREATION: frozenset({
        "allowSharedDriveCreation", "orgUnitForNewSharedDrives", "customOrgUnit", "allowManagersToOverrideSettings",
        "allowExternalUserAccess", "allowNonMemberAccess", "allowedPartiesForDownloadPrintCopy",
        "allowContentManagersToShareFolders"}),
    SERVICE_STATUS: frozenset({"serviceState"}),
}


class PolicyType(StrEnum):
    ADMIN = "ADMIN"  # set by an administrator in the Admin console
    SYSTEM = "SYSTEM"  # provided by Google Workspace


def unit_id(path: str) -> str:
    """A stable Google-looking org unit id (the part after ``id:`` / ``orgUnits/``)."""
    digest = hashlib.sha256(f"ou:{path}".encode()).hexdigest()
    return "03" + "".join(c for c in digest if c.isalnum())[:13]


def group_id(email: str) -> str:
    """A stable Google-looking group id (Directory ``Group.id``, ``groups/{id}`` in policies)."""
    return "0" + hashlib.sha256(f"group:{email.lower()}".encode()).hexdigest()[:14]


@dataclass(slots=True)
class OrgUnit:
    path: str
    id: str
    description: str = ""

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1] if self.path != "/" else ""

    @property
    def parent(self) -> str | None:
        if self.path == "/":
            return None
        head = self.path.rstrip("/").rsplit("/", 1)[0]
        return head or "/"


@dataclass(slots=True)
class Policy:
    id: str  # the part after ``policies/``
    setting_type: str
    value: dict[str, Any]
    org_unit: str = "/"
    group: str | None = None  # group email
    type: PolicyType = PolicyType.ADMIN
    sort_order: float = 1.0


@dataclass
class PolicyStore:
    org_units: dict[str, OrgUnit] = field(default_factory=dict)
    policies: list[Policy] = field(default_factory=list)
    allowlisted_domains: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ensure_unit("/")

    def ensure_unit(self, path: str, description: str = "") -> OrgUnit:
        """The org unit at ``path`` (created with its ancestors when missing)."""
        path = "/" + path.strip("/") if path.strip("/") else "/"
        unit = self.org_units.get(path)
        if unit is None:
            unit = OrgUnit(path, unit_id(path), description)
            if unit.parent is not None:
                self.ensure_unit(unit.parent)
            self.org_units[path] = unit
        elif description and not unit.description:
            unit.description = description
        return unit

    def unit_by_id(self, ou_id: str) -> OrgUnit | None:
        ou_id = ou_id.removeprefix("id:").removeprefix("orgUnits/")
        return next((u for u in self.org_units.values() if u.id == ou_id), None)

    def set(self, setting_type: str, value: dict[str, Any], *, org_unit: str = "/", group: str | None = None,
            type: PolicyType = PolicyType.ADMIN) -> Policy:
        """Set (or replace) the policy for one setting on one org unit or group."""
        unknown = set(value) - SETTING_FIELDS.get(setting_type, frozenset(value))
        if unknown:
            raise ValueError(f"{setting_type} has no field(s) {sorted(unknown)}")
        unit = self.ensure_unit(org_unit)
        group = group.lower() if group else None
        self.policies = [p for p in self.policies
                         if not (p.setting_type == setting_type and p.org_unit == unit.path and p.group == group
                                 and p.type == type)]
        depth = 0 if unit.path == "/" else unit.path.count("/")
        if type == PolicyType.SYSTEM:
            order = 0.5
        elif group:
            order = 1000.0 + sum(1 for p in self.policies if p.setting_type == setting_type and p.group)
        else:
            order = 1.0 + depth
        key = f"{setting_type}|{unit.path}|{group}|{type}"
        policy_id = "".join(c for c in hashlib.sha256(key.encode()).hexdigest() if c.isalpha())[:6] + \
            hashlib.sha256(key.encode()).hexdigest()[:22]
        policy = Policy(policy_id, setting_type, dict(value), unit.path, group, type, order)
        self.policies.append(policy)
        return policy

    def dump(self) -> dict[str, Any]:
        return {
            "orgUnits": [{"path": u.path, "id": u.id, "description": u.description} for u in self.org_units.values()],
            "policies": [{"id": p.id, "type": p.setting_type, "value": p.value, "orgUnit": p.org_unit,
                          "group": p.group, "policyType": str(p.type), "sortOrder": p.sort_order}
                         for p in self.policies],
            "allowlistedDomains": list(self.allowlisted_domains),
        }

    @classmethod
    def load(cls, data: dict[str, Any]) -> PolicyStore:
        store = cls()
        for u in data.get("orgUnits", []):
            store.org_units[u["path"]] = OrgUnit(u["path"], u["id"], u.get("description", ""))
        store.policies = [Policy(p["id"], p["type"], dict(p["value"]), p["orgUnit"], p.get("group"),
                                 PolicyType(p.get("policyType", "ADMIN")), float(p["sortOrder"]))
                          for p in data.get("policies", [])]
        store.allowlisted_domains = list(data.get("allowlistedDomains", []))
        return store
