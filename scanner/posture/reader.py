"""Read the Drive and Docs sharing settings of every org unit: Cloud Identity Policy API ``policies.list``
(filtered to ``drive_and_docs.*``, every page) and Admin SDK ``orgunits.list`` (the paths its
``orgUnits/{id}`` names stand for), through the real googleapiclient. Read-only.

The Policy API returns only policies whose values were set explicitly; the effective value of a setting
for an org unit is the one of the applying policy with the greatest ``sortOrder`` (Google's reducer for
Drive and Docs settings) among the unit's own and its ancestors' policies, field by field.
Group-scoped policies override these for the group's members: they are read and counted, not judged
per org unit (see :class:`PostureSnapshot.group_policies`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scanner.connectors.google.client import GoogleCallError, GoogleClients

DRIVE_FILTER = "setting.type.matches('drive_and_docs\\\\..*')"
ROOT = "/"


class PostureUnavailable(Exception):
    """The settings could not be read (a scope not delegated, not a super administrator, an API error)."""


@dataclass(frozen=True)
class PolicyRecord:
    """One explicitly set policy: its setting type, value, org unit id and sort order."""

    name: str
    setting_type: str
    value: dict[str, Any]
    org_unit_id: str
    group: str
    sort_order: float


@dataclass(frozen=True)
class OrgUnitInfo:
    id: str  # without "id:" / "orgUnits/"
    path: str


@dataclass
class PostureSnapshot:
    units: dict[str, OrgUnitInfo] = field(default_factory=dict)  # by path
    policies: list[PolicyRecord] = field(default_factory=list)
    group_policies: int = 0
    api_calls: int = 0

    def path_of(self, unit_id: str) -> str | None:
        unit_id = unit_id.removeprefix("orgUnits/").removeprefix("id:")
        return next((u.path for u in self.units.values() if u.id == unit_id), None)


def parent_of(path: str) -> str | None:
    if path == ROOT:
        return None
    head = path.rstrip("/").rsplit("/", 1)[0]
    return head or ROOT


def ancestry(path: str) -> list[str]:
    """Root first, the unit itself last."""
    out = []
    current: str | None = path
    while current is not None:
        out.append(current)
        current = parent_of(current)
    return out[::-1]


def read_posture(clients: GoogleClients, subject: str, customer_id: str = "my_customer") -> PostureSnapshot:
    """Every org unit and every explicitly set Drive and Docs policy; PostureUnavailable when unreadable."""
    snap = PostureSnapshot()
    try:
        directory = clients.org_units(subject)
        answer = clients.execute(directory.orgunits().list(
            customerId=customer_id, type="allIncludingParent",
            fields="organizationUnits(orgUnitId,orgUnitPath)"))
        snap.api_calls += 1
        for unit in answer.get("organizationUnits") or []:
            info = OrgUnitInfo(str(unit["orgUnitId"]).removeprefix("id:"), str(unit["orgUnitPath"]))
            snap.units[info.path] = info
        policies = clients.cloud_identity(subject).policies()
        for page in clients.pages(lambda token: policies.list(filter=DRIVE_FILTER, pageSize=100, pageToken=token)):
            snap.api_calls += 1
            for item in page.get("policies") or []:
                query = item.get("policyQuery") or {}
                setting = item.get("setting") or {}
                record = PolicyRecord(str(item.get("name", "")), str(setting.get("type", "")),
                                      dict(setting.get("value") or {}),
                                      str(query.get("orgUnit", "")).removeprefix("orgUnits/"),
                                      str(query.get("group") or ""), float(query.get("sortOrder") or 0.0))
                if record.group:
                    snap.group_policies += 1
                snap.policies.append(record)
    except GoogleCallError as exc:
        raise PostureUnavailable(f"{exc.method or 'posture read'}: {exc.reason or exc}") from exc
    if ROOT not in snap.units:
        raise PostureUnavailable("admin.orgunits.list: the root org unit was not listed")
    return snap


@dataclass(frozen=True)
class EffectiveSetting:
    """One setting of one org unit: effective field values and, per field, the org unit that set it."""

    values: dict[str, Any]
    sources: dict[str, str]

    def source_of(self, fields: tuple[str, ...]) -> str | None:
        """The deepest org unit among those that set ``fields`` (None: all Google's defaults)."""
        found = [self.sources[f] for f in fields if f in self.sources]
        return max(found, key=lambda p: (p != ROOT, p.count("/"), p)) if found else None


def effective(snapshot: PostureSnapshot, path: str, setting_type: str) -> EffectiveSetting:
    """The effective value of ``setting_type`` for org unit ``path`` (org-unit policies only)."""
    chain = set(ancestry(path))
    applying = []
    for p in snapshot.policies:
        if p.setting_type != setting_type or p.group:
            continue
        where = snapshot.path_of(p.org_unit_id)
        if where in chain:
            applying.append((p.sort_order, where, p))
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for _, where, p in sorted(applying, key=lambda t: t[0]):
        for key, value in p.value.items():
            values[key] = value
            sources[key] = str(where)
    return EffectiveSetting(values, sources)
