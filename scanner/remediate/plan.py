"""What remediation will do, decided in ONE place (:func:`decide_mode` and :func:`build_plan`).

Settings (``[remediation] mode``), the rule (``mode``, ``auto``) and the command line (``--apply``,
``--dry-run``) meet here and nowhere else; actions only execute a :class:`PlannedAction`.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from scanner.config import Settings
from scanner.policy.schema import EXTERNAL_PRINCIPAL_EXPOSURES, Action, Rule
from scanner.store.models import Finding

ENFORCE, DRY_RUN, OFF = "enforce", "dry-run", "off"
PROTECTED_ROLES = frozenset({"owner", "organizer"})
#: Actions that change Drive (notify and justify only write to the outbox).
CHANGING_ACTIONS = frozenset({"revoke", "downgrade", "unpublish", "expire", "limit_access", "label"})
#: Actions that tell the owner (a digest item in the outbox).
NOTICE_ACTIONS = frozenset({"notify", "justify"})


class Hold(enum.StrEnum):
    """Why an action that would change Drive waits (recorded as the action's status)."""

    #: Fixing a folder would change access to more items than ``max_actions_per_run``.
    OVER_LIMIT = "over_limit"
    #: The owner was asked to justify the sharing and still has time to answer.
    AWAITING_OWNER = "awaiting_owner"


@dataclass(frozen=True)
class PlanContext:
    """What the plan needs beyond the findings and rules (all read before planning; no I/O here)."""

    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    #: Findings a person named (``sharescan remediate --apply FINDING``): no over_limit hold.
    explicit: bool = False
    #: Open, active folder findings: a descendant's inherited permission is fixed with its folder.
    open_folder_findings: frozenset[int] = frozenset()
    #: finding id -> when its owner's time to justify the sharing ends (the request was sent).
    justify_deadlines: Mapping[int, dt.datetime] = field(default_factory=dict)
    #: Set when enforcement must not happen at all (e.g. the domain check failed): why.
    enforcement_blocked: str | None = None


@dataclass(frozen=True)
class ModeDecision:
    mode: str  # enforce | dry-run | off
    reason: str


def decide_mode(settings: Settings, rule: Rule, *, apply: bool | None, manual: bool,
                blocked: str | None = None) -> ModeDecision:
    """THE decision between dry-run and enforce.

    * ``apply=False`` (``--dry-run`` / no ``--apply`` on ``sharescan remediate``): dry-run.
    * a rule or global mode ``off``: nothing, not even with ``--apply``.
    * ``blocked`` (enforcement stopped, e.g. the organisation's domains failed their check): dry-run.
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
    if blocked and (apply is True or base == ENFORCE):
        return ModeDecision(DRY_RUN, f"enforcement stopped: {blocked}")
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
    #: Set when the action must not run (recorded as skipped with this detail, or as ``hold``).
    skip_reason: str | None = None
    #: Why an action that would change Drive waits (its recorded status); ``skip_reason`` says more.
    hold: Hold | None = None
    #: How many items the change touches, for the run's limits: 1, or for a folder 1 + the items below it
    #: that lose access.
    weight: int = 1
    #: The plan's inputs hashed (see :func:`plan_key`): an action that does not act is recorded once.
    plan_key: str = ""

    @property
    def changes_drive(self) -> bool:
        return self.action in CHANGING_ACTIONS

    @property
    def will_act(self) -> bool:
        return self.mode == ENFORCE and self.skip_reason is None and self.hold is None and self.changes_drive

    @property
    def status_if_not_acting(self) -> str:
        """What an action that does not act is recorded as: its hold, skipped, or planned (dry run)."""
        if self.hold is not None:
            return self.hold.value
        return "planned" if self.skip_reason is None else "skipped"

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
        elif self.action == "limit_access":
            text = "make the folder a folder with limited access"
        elif self.action == "label":
            text = f"apply the classification label {self.params.get('title') or self.params.get('label_id')}"
        elif self.action == "justify":
            text = f"ask the owner to justify the sharing by {self.params.get('deadline')}"
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
    #: A person named these findings: the per-run limits do not hold them back.
    explicit: bool = False
    #: Actions left out because the very same plan was recorded before (nothing changed since).
    unchanged: int = 0
    #: Findings planned (read and passed through :func:`build_plan`), for the run's stats.
    considered: int = 0

    @property
    def acting(self) -> tuple[PlannedAction, ...]:
        return tuple(a for a in self.actions if a.will_act)

    @property
    def acting_weight(self) -> int:
        """What the acting actions touch, counted for ``max_actions_per_run`` (a folder fix weighs 1 + the
        items below it that lose access)."""
        return sum(a.weight for a in self.acting)

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
                       places: Mapping[str, str], params: dict[str, Any] | None = None,
                       folder_finding: int | None = None) -> PlannedAction:
    skip: str | None = None
    target = base["file_id"]
    if perm.get("role") in PROTECTED_ROLES:
        skip = f"never removes {perm.get('role')} access"
    elif perm.get("inherited") and folder_finding is not None:
        skip = f"fixed with its folder: finding {folder_finding}"
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
                 fix_on_ancestor: bool, published: bool, places: Mapping[str, str],
                 context: PlanContext | None = None) -> list[PlannedAction]:
    """The actions of one finding under one mode decision (pure given its inputs).

    ``places`` names ancestors by id (see :func:`inherited_skip`)."""
    context = context or PlanContext()
    base: dict[str, Any] = {
        "finding_id": finding.id, "rule_id": rule.id, "file_id": finding.file_id,
        "file_name": finding.file.name if finding.file is not None else "", "owner": finding.owner_email,
        "drive_id": finding.file.drive_id if finding.file is not None else None,
        "mode": decision.mode, "mode_reason": decision.reason,
    }
    perms: list[dict[str, Any]] = list(finding.matched_permissions or [])
    folder = finding.folder_finding_id if finding.folder_finding_id in context.open_folder_findings else None
    out: list[PlannedAction] = []
    for action in rule.actions:
        out.extend(_plan_action(settings, action, base, perms, fix_on_ancestor=fix_on_ancestor, published=published,
                                places=places, folder_finding=folder))
    out = _weigh(settings, finding, out, explicit=context.explicit)
    out = _justify(rule, finding, out, context)
    return [replace(a, plan_key=plan_key(finding, rule, a)) for a in out]


def _weigh(settings: Settings, finding: Finding, actions: list[PlannedAction], *,
           explicit: bool) -> list[PlannedAction]:
    """A folder finding's changes weigh 1 + the items below the folder that lose access; one heavier than
    ``max_actions_per_run`` waits (over_limit) for a person to apply it by name."""
    radius = finding.blast_radius or {}
    if not radius:
        return actions
    weight = 1 + int(radius.get("losing_access", 0))
    limit = settings.remediation.max_actions_per_run
    out = []
    for a in actions:
        if not a.changes_drive:
            out.append(a)
            continue
        a = replace(a, weight=weight)
        if a.will_act and weight > limit and not explicit:
            a = replace(a, hold=Hold.OVER_LIMIT, skip_reason=(
                f"over_limit: fixing the folder changes access to {weight} items ({radius.get('losing_access', 0)} "
                f"below it lose access, {radius.get('internal_collaborators', 0)} internal collaborators affected; "
                f"max_actions_per_run={limit}): apply with `sharescan remediate --apply {finding.id}`"))
        out.append(a)
    return out


def _justify(rule: Rule, finding: Finding, actions: list[PlannedAction],
             context: PlanContext) -> list[PlannedAction]:
    """``justify: N``: in enforce mode the owner is asked first (one request, recorded with its deadline);
    the changes wait until the deadline passes. An owner who justifies accepts the finding (it is then
    not open, so not planned) until the date they gave."""
    ask = next((a for a in actions if a.action == "justify"), None)
    if ask is None or ask.mode != ENFORCE:
        return actions
    if ask.skip_reason is not None:  # nobody to ask: the changes are not held for an answer that cannot come
        return actions
    deadline = context.justify_deadlines.get(finding.id)
    if deadline is not None and context.now >= deadline:
        return [a for a in actions if a.action != "justify"]  # time is up: the other actions run
    until = deadline or context.now + dt.timedelta(seconds=int(ask.params.get("seconds", 0)))
    when = until.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = []
    for a in actions:
        if a.action == "justify":
            if deadline is None:  # the request is sent once
                out.append(replace(a, params={**a.params, "deadline": until.isoformat()}))
            continue
        if a.action == "notify":
            continue  # the request is the owner's notice (sent once); the changes' notice comes with them

        if a.will_act:
            a = replace(a, hold=Hold.AWAITING_OWNER,
                        skip_reason=f"awaiting the owner's justification until {when}; then: {a.describe()}")
        out.append(a)
    return out


def rule_digest(rule: Rule) -> str:
    return hashlib.sha256(rule.model_dump_json(exclude={"source"}).encode()).hexdigest()


def plan_key(finding: Finding, rule: Rule, action: PlannedAction) -> str:
    """The inputs of one planned action, hashed: the finding (its matched permissions and blast radius),
    the file's revision and sharing, the rule, the mode and what the action would do."""
    file = finding.file
    payload = {
        "finding": finding.id, "matched": finding.matched_permissions, "severity": finding.severity,
        "blast_radius": finding.blast_radius,
        "revision": [file.md5_checksum, file.head_revision_id, file.modified_time] if file is not None else None,
        "sharing": [sorted(file.exposure_classes or []), file.published, file.inherited_permissions_disabled]
        if file is not None else None,
        "rule": rule_digest(rule), "mode": action.mode, "mode_reason": action.mode_reason,
        "action": action.action, "target": action.target_file_id,
        "permission": (action.permission or {}).get("id"), "params": action.params,
        "skip": action.skip_reason, "hold": action.hold,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _plan_action(settings: Settings, action: Action, base: dict[str, Any], perms: list[dict[str, Any]], *,
                 fix_on_ancestor: bool, published: bool, places: Mapping[str, str],
                 folder_finding: int | None = None) -> list[PlannedAction]:
    if action.kind == "revoke":
        return [_permission_action(base, p, "revoke", fix_on_ancestor=fix_on_ancestor, places=places,
                                   folder_finding=folder_finding)
                for p in _revoke_targets(action.arg, perms)]
    if action.kind == "downgrade":
        domains = settings.organisation.domains
        out = []
        for p in perms:
            if p.get("type") != "anyone" or p.get("view"):
                continue
            planned = _permission_action(base, p, "downgrade", fix_on_ancestor=fix_on_ancestor, places=places,
                                         params={"domain": domains[0] if domains else None},
                                         folder_finding=folder_finding)
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
                                   params={"duration": action.arg, "seconds": int(delta.total_seconds())},
                                   folder_finding=folder_finding)
                for p in perms if p.get("type") in ("user", "group")
                and p.get("exposure") in EXTERNAL_PRINCIPAL_EXPOSURES]
    if action.kind == "limit_access":
        return [PlannedAction(**base, action="limit_access", target_file_id=base["file_id"])]
    if action.kind == "justify":
        delta = action.duration or dt.timedelta(days=14)
        notices = settings.notifications
        skip = None if base["owner"] or base["drive_id"] else "no owner to ask"
        if not (notices.enabled and notices.channels):
            skip = "no notification channel configured ([notifications] channels): the owner cannot be asked"
        return [PlannedAction(**base, action="justify", target_file_id=base["file_id"], skip_reason=skip,
                              params={"duration": action.arg, "seconds": int(delta.total_seconds())})]
    if action.kind == "notify":
        # Shared-drive items have no owner: their notice goes to the security contact (see Outbox).
        skip = None if base["owner"] or base["drive_id"] else "no owner to notify"
        return [PlannedAction(**base, action="notify", target_file_id=base["file_id"], skip_reason=skip)]
    # an action of its own module or of an installed distribution: it plans itself (``plan``), or acts
    # on the item as a whole
    from scanner.policy.actions import ACTIONS

    own_plan = getattr(ACTIONS.all().get(action.kind), "plan", None)
    if callable(own_plan):
        return list(own_plan(settings, action, base, perms))
    return [PlannedAction(**base, action=action.kind, target_file_id=base["file_id"],
                          params={"arg": action.arg} if action.arg else {})]


def build_plan(settings: Settings, findings: Iterable[Finding], rules: Iterable[Rule], *, apply: bool | None,
               manual: bool, fix_on_ancestor: bool | None = None, run_id: int | None = None,
               places: Mapping[str, str] | None = None, context: PlanContext | None = None) -> RemediationPlan:
    """Every action for these findings, each with its mode. Findings not open+active are ignored.

    ``places``: ancestor id → how to name it (``folder "Recruiting"``), for inherited-permission skips."""
    context = context or PlanContext()
    by_id = {r.id: r for r in rules}
    ancestor_fix = settings.remediation.fix_inherited_on_ancestor if fix_on_ancestor is None else fix_on_ancestor
    actions: list[PlannedAction] = []
    ignored: list[tuple[int, str]] = []
    considered = 0
    for finding in findings:
        considered += 1
        rule = by_id.get(finding.rule_id)
        if rule is None:
            ignored.append((finding.id, f"rule {finding.rule_id} is not loaded"))
            continue
        if finding.status != "open" or finding.detection_state != "active":
            ignored.append((finding.id, f"status {finding.status}, {finding.detection_state}"))
            continue
        decision = decide_mode(settings, rule, apply=apply, manual=manual, blocked=context.enforcement_blocked)
        if decision.mode == OFF:
            ignored.append((finding.id, decision.reason))
            continue
        # published to the web: the file's head revision (a form's responders are a permission, not this)
        published = bool(finding.file.published) if finding.file is not None else (
            finding.exposure == "published" or finding.principal == "published")
        actions.extend(plan_finding(settings, finding, rule, decision, fix_on_ancestor=ancestor_fix,
                                    published=published, places=places or {}, context=context))
    return RemediationPlan(tuple(actions), run_id=run_id, ignored=tuple(ignored), explicit=context.explicit,
                           considered=considered)
