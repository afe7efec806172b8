"""Remediation actions, registered by name (``scanner.policy.actions.ACTIONS``, entry point group
``sharescan.actions``). Each says how rules write it (``schema``) and runs in two steps:

``prepare`` re-reads the live state and returns it (stored as ``RemediationAction.before`` and
committed *before* anything changes, with the action ``started``) or an outcome that ends the action
(already gone, changed since the scan, protected role); ``apply`` makes the change and re-reads to
verify it. ``reconcile`` tells, from Drive alone, whether an action whose process died after its
intent was recorded made its change (``verified``) or not (``not_applied``).
No action decides dry-run vs enforce: the plan did (scanner.remediate.plan).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from scanner.connectors.google.drive_api import permission_from_api
from scanner.connectors.google.drive_ops import INHERITED_REASONS, DriveOps
from scanner.core.models import Permission
from scanner.core.registry import type_schema
from scanner.core.statuses import ActionStatus
from scanner.policy.actions import ACTIONS
from scanner.policy.schema import DURATION_SCHEMA, MAX_EXPIRY, REVOKE_TARGETS, parse_duration
from scanner.remediate.plan import PROTECTED_ROLES, PlannedAction, inherited_skip

ROLE_RANK = {r: i for i, r in enumerate(("reader", "commenter", "writer", "fileOrganizer", "organizer", "owner"))}


@dataclass(frozen=True)
class Outcome:
    status: str  # verified | already_gone | skipped | failed | refused | applied
    detail: str = ""
    after: dict[str, Any] | None = None


@dataclass
class Prepared:
    """The live state before acting, or the outcome that ends the action without acting."""

    before: dict[str, Any] | None
    outcome: Outcome | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _no_place(item_id: str) -> str | None:
    return None


@dataclass(frozen=True)
class ActionContext:
    ops: DriveOps
    now: dt.datetime
    #: How to name a folder / shared drive to a person (None: by its id only).
    place: Callable[[str], str | None] = _no_place

    def inherited_skip(self, live: dict[str, Any]) -> str:
        """Why the live (inherited) permission is left alone, naming the ancestor to fix it on."""
        ancestor = grant(live).inherited_from
        return inherited_skip(ancestor, self.place(ancestor) if ancestor else None)


@dataclass(frozen=True)
class Restored:
    """What a restore changed: the live state before it, after it, and a line for people."""

    before: dict[str, Any]
    after: dict[str, Any]
    detail: str


@dataclass(frozen=True)
class StartedAction:
    """An action whose intent (``started``, with ``before``) was recorded but not its outcome."""

    action: str
    file_id: str
    target_file_id: str
    permission_id: str | None
    before: dict[str, Any]
    #: ``RemediationAction.intent``: the planned action's params and what prepare decided (``extra``).
    intent: dict[str, Any]

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.intent.get("params") or {})

    @property
    def extra(self) -> dict[str, Any]:
        return dict(self.intent.get("extra") or {})


class ActionHandler:
    name = ""
    #: How a rule writes this action: ``type_schema(name, value schema, bare=...)`` (the rule JSON Schema
    #: and the rule model's validation are generated from it).
    schema: ClassVar[dict[str, Any]] = {}
    #: Whether ``sharescan restore`` can undo this action (:meth:`restore`).
    restorable = False

    def prepare(self, ctx: ActionContext, action: PlannedAction) -> Prepared:
        raise NotImplementedError

    def apply(self, ctx: ActionContext, action: PlannedAction, prepared: Prepared) -> Outcome:
        raise NotImplementedError

    def restore(self, ops: DriveOps, target: str, before: dict[str, Any], after: dict[str, Any]) -> Restored:
        """Undo a verified action exactly, from what it stored (raises RestoreRefused when unsafe)."""
        raise NotImplementedError
    def reconcile(self, ctx: ActionContext, started: StartedAction) -> Outcome:
        """Re-read Drive: ``verified`` when the change is there, ``not_applied`` when it is not.
        An action kind that cannot tell leaves it to a person (``unknown``)."""
        return Outcome(ActionStatus.UNKNOWN, f"cannot check a {self.name!r} action after an interruption: "
                                             "look at the file's sharing")


def register(handler: type[ActionHandler]) -> type[ActionHandler]:
    """Class decorator: the action is known to rules and to the engine (``ACTIONS``)."""
    ACTIONS.register(handler())
    return handler


def registered() -> dict[str, ActionHandler]:
    """Every action handler: the built-ins (their modules imported) and installed entry points'."""
    return {name: a for name, a in ACTIONS.all().items() if isinstance(a, ActionHandler)}


def handler_for(name: str) -> ActionHandler:
    try:
        return registered()[name]
    except KeyError:
        raise KeyError(f"no remediation action named {name!r}") from None


# --------------------------------------------------------------------------- comparisons
# On core grants (scanner.core.models.Permission): the live state comes from the connector
# (Drive JSON read by ``grant``), the recorded one from the finding (``Permission.from_record``).
def grant(live: dict[str, Any]) -> Permission:
    """A live permission as the connector returned it, as a core grant."""
    return permission_from_api(live)


def principal_key(perm: Permission) -> tuple[str, str]:
    """Who a permission is for."""
    return perm.holder


def differences(live: Permission, recorded: Permission) -> list[str]:
    """How the live permission differs from what was recorded (empty: it still matches)."""
    out = []
    if live.holder != recorded.holder:
        out.append(f"principal {recorded.holder} -> {live.holder}")
    if live.role != recorded.role:
        out.append(f"role {recorded.role} -> {live.role}")
    if live.type in ("anyone", "domain") and live.allow_file_discovery != recorded.allow_file_discovery:
        out.append(f"allowFileDiscovery {recorded.allow_file_discovery} -> {live.allow_file_discovery}")
    return out


def is_inherited_only(perm: dict[str, Any]) -> bool:
    """A live permission every grant of which comes from an ancestor."""
    return grant(perm).inherited_only


def _inherited_error(exc: BaseException) -> bool:
    return getattr(exc, "reason", "") in INHERITED_REASONS


def _error_text(exc: BaseException) -> str:
    reason = getattr(exc, "reason", "") or type(exc).__name__
    status = getattr(exc, "status", None)
    return f"{reason} ({status})" if status else str(reason)


def _prepare_permission(ctx: ActionContext, action: PlannedAction) -> Prepared:
    snap = action.permission or {}
    perm_id = str(snap.get("id") or "")
    live = ctx.ops.get_permission(action.target_file_id, perm_id)
    if live is None:
        return Prepared(None, Outcome("already_gone", f"permission {perm_id} no longer exists on "
                                                      f"{action.target_file_id}"))
    before = {"permission": live, "file_id": action.target_file_id}
    diff = differences(grant(live), Permission.from_record(snap))
    if diff:
        return Prepared(before, Outcome("refused", "changed since the scan: " + "; ".join(diff)))
    if live.get("role") in PROTECTED_ROLES or live.get("pendingOwner"):
        return Prepared(before, Outcome("refused", f"never removes {live.get('role')} access"))
    if action.target_file_id == action.file_id and is_inherited_only(live):
        return Prepared(before, Outcome("skipped", ctx.inherited_skip(live)))
    return Prepared(before)


# --------------------------------------------------------------------------- actions
@register
class Revoke(ActionHandler):
    """Delete exactly the permission the scan recorded (after checking it is still the same one)."""

    name = "revoke"
    schema = type_schema("revoke", {"enum": list(REVOKE_TARGETS)})

    def prepare(self, ctx: ActionContext, action: PlannedAction) -> Prepared:
        return _prepare_permission(ctx, action)

    def apply(self, ctx: ActionContext, action: PlannedAction, prepared: Prepared) -> Outcome:
        perm_id = str((action.permission or {}).get("id"))
        try:
            deleted = ctx.ops.delete_permission(action.target_file_id, perm_id)
        except Exception as exc:  # noqa: BLE001 - recorded on the action, never lost
            if _inherited_error(exc):
                live = (prepared.before or {}).get("permission") or {}
                return Outcome("skipped", f"{ctx.inherited_skip(live)} ({_error_text(exc)})")
            return Outcome("failed", f"delete failed: {_error_text(exc)}")
        if not deleted:
            return Outcome("already_gone", "permission was already deleted (404)", {"permission": None})
        return _verify_absent(ctx, action.target_file_id, perm_id)

    def reconcile(self, ctx: ActionContext, started: StartedAction) -> Outcome:
        live = ctx.ops.get_permission(started.target_file_id, str(started.permission_id))
        if live is None:
            return Outcome(ActionStatus.VERIFIED, "permission removed (found so after the interruption)",
                           {"permission": None})
        return Outcome(ActionStatus.NOT_APPLIED, "the permission is still there: the process stopped before "
                                                 "removing it", {"permission": live})


def _verify_absent(ctx: ActionContext, file_id: str, perm_id: str) -> Outcome:
    after = ctx.ops.get_permission(file_id, perm_id)
    if after is None:
        return Outcome("verified", "permission removed", {"permission": None})
    return Outcome("failed", "permission still present after delete", {"permission": after})


@register
class Downgrade(ActionHandler):
    """Anyone-with-link → the organisation's domain with the same role, then delete the anyone permission."""

    name = "downgrade"
    schema = type_schema("downgrade", {"enum": ["domain"]})

    def prepare(self, ctx: ActionContext, action: PlannedAction) -> Prepared:
        prepared = _prepare_permission(ctx, action)
        if prepared.outcome is not None:
            return prepared
        domain = str(action.params.get("domain") or "")
        existing = next((p for p in ctx.ops.list_permissions(action.target_file_id)
                         if grant(p).holder == ("domain", domain.lower()) and not is_inherited_only(p)), None)
        assert prepared.before is not None
        prepared.before["domain_permission"] = existing
        return prepared

    def apply(self, ctx: ActionContext, action: PlannedAction, prepared: Prepared) -> Outcome:
        assert prepared.before is not None
        live = prepared.before["permission"]
        domain = str(action.params.get("domain") or "")
        existing = prepared.before.get("domain_permission")
        role = str(live.get("role"))
        created: dict[str, Any] | None = None
        if existing is None or ROLE_RANK.get(str(existing.get("role")), 0) < ROLE_RANK.get(role, 0):
            body = {"type": "domain", "domain": domain, "role": role, "allowFileDiscovery": False}
            try:
                created = ctx.ops.create_permission(action.target_file_id, body, send_notification=None)
            except Exception as exc:  # noqa: BLE001
                return Outcome("failed", f"creating the {domain} permission failed: {_error_text(exc)}; "
                                         "nothing was removed")
        perm_id = str(live.get("id"))
        try:
            deleted = ctx.ops.delete_permission(action.target_file_id, perm_id)
        except Exception as exc:  # noqa: BLE001
            return Outcome("failed", f"delete failed: {_error_text(exc)}", {"created": created})
        verify = _verify_absent(ctx, action.target_file_id, perm_id)
        after = {"created": created, "permission": verify.after.get("permission") if verify.after else None}
        if not deleted:
            return Outcome("already_gone", "anyone permission was already deleted (404)", after)
        if verify.status != "verified":
            return Outcome("failed", verify.detail, after)
        if created is not None:
            check = ctx.ops.get_permission(action.target_file_id, str(created.get("id")))
            if check is None or check.get("role") != role:
                return Outcome("failed", f"the {domain} permission is missing after the downgrade", after)
        return Outcome("verified", f"link limited to {domain} ({role})", after)

    def reconcile(self, ctx: ActionContext, started: StartedAction) -> Outcome:
        domain = str(started.params.get("domain") or "")
        live = ctx.ops.get_permission(started.target_file_id, str(started.permission_id))
        now = next((p for p in ctx.ops.list_permissions(started.target_file_id)
                    if grant(p).holder == ("domain", domain.lower()) and not is_inherited_only(p)), None)
        created = now if now is not None and started.before.get("domain_permission") is None else None
        after = {"created": created, "permission": live}
        if live is None:
            return Outcome(ActionStatus.VERIFIED, f"link limited to {domain} (found so after the interruption)",
                           after)
        added = f"; a permission for {domain} was added" if created is not None else ""
        return Outcome(ActionStatus.NOT_APPLIED, f"the anyone-with-link permission is still there{added}", after)


@register
class Unpublish(ActionHandler):
    """Stop publishing a Docs editor file to the web (revisions.update published=false)."""

    name = "unpublish"
    schema = type_schema("unpublish")

    def prepare(self, ctx: ActionContext, action: PlannedAction) -> Prepared:
        revisions = ctx.ops.list_revisions(action.file_id)
        published = [r for r in revisions if r.get("published")]
        before = {"revisions": published, "file_id": action.file_id}
        if not published:
            return Prepared(before, Outcome("already_gone", "no revision is published any more"))
        return Prepared(before)

    def apply(self, ctx: ActionContext, action: PlannedAction, prepared: Prepared) -> Outcome:
        assert prepared.before is not None
        for rev in prepared.before["revisions"]:
            try:
                ctx.ops.update_revision(action.file_id, str(rev["id"]), {"published": False})
            except Exception as exc:  # noqa: BLE001
                return Outcome("failed", f"unpublishing revision {rev['id']} failed: {_error_text(exc)}")
        still = [r for r in ctx.ops.list_revisions(action.file_id) if r.get("published")]
        if still:
            return Outcome("failed", "still published after the update", {"revisions": still})
        return Outcome("verified", "no longer published to the web", {"revisions": []})

    def reconcile(self, ctx: ActionContext, started: StartedAction) -> Outcome:
        still = [r for r in ctx.ops.list_revisions(started.file_id) if r.get("published")]
        if not still:
            return Outcome(ActionStatus.VERIFIED, "no longer published to the web (found so after the "
                                                  "interruption)", {"revisions": []})
        return Outcome(ActionStatus.NOT_APPLIED, f"{len(still)} revision(s) still published", {"revisions": still})


def _iso(ts: dt.datetime) -> str:
    return ts.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@register
class Expire(ActionHandler):
    """Give an external user's or group's access an expiry date (never extends an earlier one)."""

    name = "expire"
    schema = type_schema("expire", DURATION_SCHEMA)

    def check_arg(self, arg: str) -> None:
        duration = parse_duration(arg)
        if duration is None:
            raise ValueError(f"expire needs a duration like '7d' or '48h' (got {arg!r})")
        if duration > MAX_EXPIRY:
            raise ValueError(f"expire: at most 365d, Drive's limit for expiry dates (got {arg!r})")

    def prepare(self, ctx: ActionContext, action: PlannedAction) -> Prepared:
        prepared = _prepare_permission(ctx, action)
        if prepared.outcome is not None or prepared.before is None:
            return prepared
        live = prepared.before["permission"]
        target = ctx.now + dt.timedelta(seconds=int(action.params.get("seconds", 0)))
        current = live.get("expirationTime")
        if current:
            try:
                existing = dt.datetime.fromisoformat(str(current).replace("Z", "+00:00"))
            except ValueError:
                existing = None
            if existing is not None and existing <= target:
                return Prepared(prepared.before, Outcome("already_gone", f"access already expires at {current}"))
        prepared.extra["expiration_time"] = _iso(target)
        return prepared

    def apply(self, ctx: ActionContext, action: PlannedAction, prepared: Prepared) -> Outcome:
        perm_id = str((action.permission or {}).get("id"))
        when = prepared.extra["expiration_time"]
        try:
            ctx.ops.update_permission(action.target_file_id, perm_id, {"expirationTime": when})
        except Exception as exc:  # noqa: BLE001
            if getattr(exc, "status", None) == 404:
                return Outcome("already_gone", "permission was already deleted (404)")
            return Outcome("failed", f"setting the expiry failed: {_error_text(exc)}")
        after = ctx.ops.get_permission(action.target_file_id, perm_id)
        if after is None or not after.get("expirationTime"):
            return Outcome("failed", "no expiry on the permission after the update", {"permission": after})
        return Outcome("verified", f"access expires at {after.get('expirationTime')}", {"permission": after})

    def reconcile(self, ctx: ActionContext, started: StartedAction) -> Outcome:
        live = ctx.ops.get_permission(started.target_file_id, str(started.permission_id))
        if live is None:
            return Outcome(ActionStatus.ALREADY_GONE, "the permission no longer exists")
        wanted = _parse_iso(started.extra.get("expiration_time"))
        current = _parse_iso(live.get("expirationTime"))
        if wanted is not None and current is not None and current == wanted:
            return Outcome(ActionStatus.VERIFIED, f"access expires at {live.get('expirationTime')} (found so "
                                                  "after the interruption)", {"permission": live})
        return Outcome(ActionStatus.NOT_APPLIED, "the expiry was not set", {"permission": live})


def _parse_iso(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


HandlerFactory = Callable[[str], ActionHandler]
