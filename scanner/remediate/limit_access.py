"""``limit_access``: turn a folder into a folder with limited access (``inheritedPermissionsDisabled``).

Everything the folder inherited (a link or a member set on a folder above it or on its shared drive)
stops reaching it and what it holds; people added to the folder directly, the My Drive owner and the
shared drive's organizers keep access. Drive lets only the owner (My Drive) or an organizer (shared
drive) do it: ``capabilities.canDisableInheritedPermissions`` is checked first. The folder's permissions
before the change are stored; restore turns inheritance back on and checks the same grants are back.
"""

from __future__ import annotations

from typing import Any

from scanner.connectors.google.drive_ops import DriveOps
from scanner.connectors.google.mime import GOOGLE_FOLDER
from scanner.core.registry import type_schema
from scanner.core.statuses import ActionStatus
from scanner.remediate.actions import (
    ActionContext,
    ActionHandler,
    Outcome,
    Prepared,
    Restored,
    StartedAction,
    grant,
    principal_key,
    register,
)
from scanner.remediate.plan import PlannedAction


def _error(exc: BaseException) -> str:
    reason = getattr(exc, "reason", "") or type(exc).__name__
    status = getattr(exc, "status", None)
    return f"{reason} ({status})" if status else str(reason)


def grants(permissions: list[dict[str, Any]]) -> list[list[str]]:
    """Who holds what on the folder (principal and role), sorted: what a restore must bring back."""
    return sorted([*principal_key(grant(p)), str(p.get("role"))] for p in permissions)


@register
class LimitAccess(ActionHandler):
    name = "limit_access"
    schema = type_schema("limit_access")
    restorable = True

    def prepare(self, ctx: ActionContext, action: PlannedAction) -> Prepared:
        folder = action.target_file_id
        meta = ctx.ops.get_folder_access(folder)
        if meta is None:
            return Prepared(None, Outcome("already_gone", f"folder {folder} no longer exists"))
        before = {"file_id": folder, "inheritedPermissionsDisabled": bool(meta.get("inheritedPermissionsDisabled")),
                  "permissions": ctx.ops.list_permissions(folder)}
        if meta.get("mimeType") != GOOGLE_FOLDER:
            return Prepared(before, Outcome("refused", "limited access exists for folders only"))
        if meta.get("inheritedPermissionsDisabled"):
            return Prepared(before, Outcome("already_gone", "the folder already has limited access"))
        if not (meta.get("capabilities") or {}).get("canDisableInheritedPermissions"):
            return Prepared(before, Outcome("failed", "cannot turn on limited access: only the owner (My Drive) or "
                                                      "an organizer (shared drive) can"))
        return Prepared(before)

    def apply(self, ctx: ActionContext, action: PlannedAction, prepared: Prepared) -> Outcome:
        folder = action.target_file_id
        try:
            ctx.ops.set_limited_access(folder, True)
        except Exception as exc:  # noqa: BLE001 - recorded on the action, never lost
            return Outcome("failed", f"turning on limited access failed: {_error(exc)}")
        after = ctx.ops.get_folder_access(folder)
        if after is None or not after.get("inheritedPermissionsDisabled"):
            return Outcome("failed", "the folder does not have limited access after the update",
                           {"inheritedPermissionsDisabled": bool(after and after.get("inheritedPermissionsDisabled"))})
        return Outcome("verified", "the folder now has limited access: inherited access no longer reaches it",
                       {"inheritedPermissionsDisabled": True, "permissions": ctx.ops.list_permissions(folder)})

    def reconcile(self, ctx: ActionContext, started: StartedAction) -> Outcome:
        """After an interruption: the folder has limited access (our change went through) or not."""
        live = ctx.ops.get_folder_access(started.target_file_id)
        if live is not None and live.get("inheritedPermissionsDisabled"):
            return Outcome(ActionStatus.VERIFIED, "the folder has limited access (found so after the interruption)",
                           {"inheritedPermissionsDisabled": True,
                            "permissions": ctx.ops.list_permissions(started.target_file_id)})
        return Outcome(ActionStatus.NOT_APPLIED, "the folder still inherits its permissions"
                       if live is not None else "the folder is gone", {"inheritedPermissionsDisabled": False})

    def restore(self, ops: DriveOps, target: str, before: dict[str, Any], after: dict[str, Any]) -> Restored:
        from scanner.core.errors import SharescanError
        from scanner.remediate.restore import RestoreRefused

        live = ops.get_folder_access(target)
        if live is None:
            raise RestoreRefused(f"folder {target} no longer exists (or is no longer visible): nothing restored")
        if not live.get("inheritedPermissionsDisabled"):
            raise RestoreRefused(f"folder {target} already inherits its permissions again: nothing restored")
        ops.set_limited_access(target, False)
        now = ops.get_folder_access(target) or {}
        permissions = ops.list_permissions(target)
        if now.get("inheritedPermissionsDisabled") or grants(permissions) != grants(before.get("permissions") or []):
            raise SharescanError(f"folder {target}: inherited permissions are not back as they were")
        return Restored({"inheritedPermissionsDisabled": True}, {"inheritedPermissionsDisabled": False,
                                                                 "permissions": permissions},
                        "limited access turned off: the folder inherits its permissions again")
