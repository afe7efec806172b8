"""What remediation will do, decided in ONE place (:func:`decide_mode` and :func:`build_plan`).

Settings (``[remediation] mode``), the rule (``mode``, ``auto``) and the command line (``--apply``,
``--dry-run``) meet here and nowhere else; actions only execute a :class:`PlannedAction`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scanner.config import Settings
from scanner.policy.schema import EXTERNAL_PRINCIPAL_EXPOSURES, Action, Rule
from scanner.store.models import Finding

ENFORCE, DRY_RUN, OFF = "enforce", "dry-run", "off"
PROTECTED_ROLES = frozenset({"owner", "organizer"})
#: Actions that change Drive (notify only writes to the outbox).
CHANGING_ACTIONS = frozenset({"revoke", "downgrade", "unpublish", "expire"})


@dataclass(frozen=True)
class ModeDecision:
    mode: str  # enforce | dry-run | off
    reason: str


def decide_mode(settings: Settings, rule: Rule, *, apply: bool | None, manual: bool) -> ModeDecision:
    """THE decision between dry-run and enforce.

    * ``apply=False`` (``--dry-run`` / no ``--apply`` on ``sharescan remediate``): dry-run.
    * a rule or global mode ``off``: nothing, not even with ``--apply``.
    * ``auto: false`` during a scan (even ``scan --apply``): dry-run; a person applies it with
      ``sharescan remediate``.
    * ``apply=True`` (``--apply``): enforce, for this invocation only.
    * otherwise the rule's ``mode``, else ``[remediation] mode``.
    """
    base = rule.mode or settings.remediation.mode
    source = "rule mode" if rule.mode else "[remediation] mode"
    if base == OFF:
        return ModeDecision(OFF, f"{source} is off")
    if apply is False:
        return ModeDecision(DRY_RUN, "dry run requested")
    if not rule.auto and not manual and (apply is True or base == ENFORCE):
        return ModeDecision(DRY_RUN, "rule has auto: false; apply with `sharescan remediate`")
    if apply is True:
        return ModeDecision(ENFORCE, "--apply")
    return ModeDecision(base, f"{source} is {base}")


@dataclass(frozen=True)
class PlannedAction:
    finding_id: int
    rule_id: str
    file_id: str
    file_name: str
    owner: str | None
    drive_id: str | None
    action: str  # revoke | downgrade | unpublish | expire | notify
    mode: str  # enforce | dry-run
    mode_reason: str
    #: Where the change is made: the file, or the ancestor an inherited permission comes from.
    target_file_id: str
    #: The permission as the scan recorded it (Finding.matched_permissions item), for permission actions.
    permission: dict[str, Any] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    #: Set when the action must not run (recorded as skipped with this detail).
    skip_reason: str | None = None

    @property
    def changes_drive(self) -> bool:
        return self.action in CHANGING_ACTIONS

    @property
    def will_act(self) -> bool:
        return self.mode == ENFORCE and self.skip_reason is None and self.changes_drive

    def describe(self) -> str:
        perm = self.permission or {}
        what = describe_principal(perm) if perm else ""
        if self.action == "revoke":
            text = f"remove {what} ({perm.get('role')})"
        elif self.action == "downgrade":
            text = f"limit {what} ({perm.get('role')}) to people at {self.params.get('domain')}"
        elif self.action == "unpublish":
            text = "stop publishing to the web"
        elif self.action == "expire":
            text = f"make {what} access expire after {self.params.get('duration')}"
        else:
            text = "notify the owner"
        if self.target_file_id != self.file_id:
            text += f" on ancestor {self.target_file_id}"
        return text


def inherited_skip(ancestor: str | None, place: str | None = None) -> str:
    """Why an inherited permission is left alone, and where to fix it: the ancestor's name (``place``,
    e.g. ``folder "Recruiting"``, when the scan stored one) and its id."""
    if not ancestor:
        return "inherited: fix on ancestor"
    return f"inherited from {place or ancestor}: fix on ancestor {ancestor}"


def describe_principal(perm: dict[str, Any]) -> str:
    """Who a permission grants access to, without naming people (domains only)."""
    ptype = perm.get("type")
    if ptype == "anyone":
        return "public access (findable on the web)" if perm.get("allow_file_discovery") else "anyone with the link"
    if ptype == "domain":
        return f"everyone at {perm.get('domain')}"
    email = str(perm.get("email_address") or "")
    domain = email.rsplit("@", 1)[-1] if "@" in email else "?"
    return f"an external {'group' if ptype == 'group' else 'user'} at {domain}"


@dataclass(frozen=True)
class RemediationPlan:
    actions: tuple[PlannedAction, ...]
    run_id: int | None = None
    #: Findings the plan considered but left alone (not open/active, rule gone, mode off...), with why.
    ignored: tuple[tuple[int, str], ...] = ()

    @property
    def acting(self) -> tuple[PlannedAction, ...]:
        return tuple(a for a in self.actions if a.will_act)

    @property
    def finding_ids(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(a.finding_id for a in self.actions))

    @property
    def acting_finding_ids(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(a.finding_id for a in self.acting))


def _revoke_targets(arg: str, perms: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    if arg == "matched":
        return list(perms)
    if arg == "external":
        return [p for p in perms if p.get("exposure") in EXTERNAL_PRINCIPAL_EXPOSURES]
    return [p for p in perms if p.get("exposure") == arg]


def _permission_action(base: dict[str, Any], perm: dict[str, Any], kind: str, *, fix_on_ancestor: bool,
                       places: Mapping[str, str], params: dict[str, Any] | None = None) -> PlannedAction:
    skip: str | None = None
    target = base["file_id"]
    if perm.get("role") in PROTECTED_ROLES:
        skip = f"never removes {perm.get('role')} access"
    elif perm.get("inherited"):
        ancestor = str(perm.get("inherited_from") or "")
        if fix_on_ancestor and ancestor:
            target = ancestor
        else:
            skip = (f"{inherited_skip(ancestor, places.get(ancestor))} "
                    "(or rerun with --fix-on-ancestor / [remediation] fix_inherited_on_ancestor)")
    return PlannedAction(**base, action=kind, target_file_id=target, permission=dict(perm), params=params or {},
                         skip_reason=skip)


def plan_finding(settings: Settings, finding: Finding, rule: Rule, decision: ModeDecision, *,
                 fix_on_ancestor: bool, published: bool, places: Mapping[str, str]) -> list[PlannedAction]:
    """The actions of one finding under one mode decision (pure given its inputs).

    ``places`` names ancestors by id (see :func:`inherited_skip`)."""
    base: dict[str, Any] = {
        "finding_id": finding.id, "rule_id": rule.id, "file_id": finding.file_id,
        "file_name": finding.file.name if finding.file is not None else "", "owner": finding.owner_email,
        "drive_id": finding.file.drive_id if finding.file is not None else None,
        "mode": decision.mode, "mode_reason": decision.reason,
    }
    perms: list[dict[str, Any]] = list(finding.matched_permissions or [])
    out: list[PlannedAction] = []
    for action in rule.actions:
        out.extend(_plan_action(settings, action, base, perms, fix_on_ancestor=fix_on_ancestor, published=published,
                                places=places))
    return out


def _plan_action(settings: Settings, action: Action, base: dict[str, Any], perms: list[dict[str, Any]], *,
                 fix_on_ancestor: bool, published: bool, places: Mapping[str, str]) -> list[PlannedAction]:
    if action.kind == "revoke":
        return [_permission_action(base, p, "revoke", fix_on_ancestor=fix_on_ancestor, places=places)
                for p in _revoke_targets(action.arg, perms)]
    if action.kind == "downgrade":
        domains = settings.organisation.domains
        out = []
        for p in perms:
            if p.get("type") != "anyone":
                continue
            planned = _permission_action(base, p, "downgrade", fix_on_ancestor=fix_on_ancestor, places=places,
                                         params={"domain": domains[0] if domains else None})
            if not domains and planned.skip_reason is None:
                planned = PlannedAction(**{**planned.__dict__, "skip_reason": "[organisation] domains is empty"})
            out.append(planned)
        return out
    if action.kind == "unpublish":
        if not published:
            return []
        return [PlannedAction(**base, action="unpublish", target_file_id=base["file_id"])]
    if action.kind == "expire":
        delta = action.expiry or dt.timedelta(days=settings.remediation.external_access_expiry_days)
        return [_permission_action(base, p, "expire", fix_on_ancestor=fix_on_ancestor, places=places,
                                   params={"duration": action.arg, "seconds": int(delta.total_seconds())})
                for p in perms if p.get("type") in ("user", "group")
                and p.get("exposure") in EXTERNAL_PRINCIPAL_EXPOSURES]
    if action.kind == "notify":
        # Shared-drive items have no owner: their notice goes to the security contact (see Outbox).
        skip = None if base["owner"] or base["drive_id"] else "no owner to notify"
        return [PlannedAction(**base, action="notify", target_file_id=base["file_id"], skip_reason=skip)]
    return []


def build_plan(settings: Settings, findings: Iterable[Finding], rules: Iterable[Rule], *, apply: bool | None,
               manual: bool, fix_on_ancestor: bool | None = None, run_id: int | None = None,
               places: Mapping[str, str] | None = None) -> RemediationPlan:
    """Every action for these findings, each with its mode. Findings not open+active are ignored.

    ``places``: ancestor id → how to name it (``folder "Recruiting"``), for inherited-permission skips."""
    by_id = {r.id: r for r in rules}
    ancestor_fix = settings.remediation.fix_inherited_on_ancestor if fix_on_ancestor is None else fix_on_ancestor
    actions: list[PlannedAction] = []
    ignored: list[tuple[int, str]] = []
    for finding in findings:
        rule = by_id.get(finding.rule_id)
        if rule is None:
            ignored.append((finding.id, f"rule {finding.rule_id} is not loaded"))
            continue
        if finding.status != "open" or finding.detection_state != "active":
            ignored.append((finding.id, f"status {finding.status}, {finding.detection_state}"))
            continue
        decision = decide_mode(settings, rule, apply=apply, manual=manual)
        if decision.mode == OFF:
            ignored.append((finding.id, decision.reason))
            continue
        published = bool(finding.file is not None and finding.file.published) or finding.exposure == "published" \
            or "published" in (finding.principal or "")
        actions.extend(plan_finding(settings, finding, rule, decision, fix_on_ancestor=ancestor_fix,
                                    published=published, places=places or {}))
    return RemediationPlan(tuple(actions), run_id=run_id, ignored=tuple(ignored))
