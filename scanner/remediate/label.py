"""``label``: apply the configured classification label (``[labels] classification_label``, optionally one
selection field set to one choice) to a file with a finding, through ``files.modifyLabels``, so Google's
own DLP and trust rules enforce from then on. Alone, or before a revoke (the rule's order).

It adds information and removes no access: the finding stays open. What the file carried before (the label
absent, or present with other field values) is stored; restore puts exactly that back (removes the label, or
sets the field back) after checking nobody changed the label since.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from scanner.config import Settings
from scanner.connectors.google.drive_ops import DriveOps
from scanner.core.registry import type_schema
from scanner.core.statuses import ActionStatus
from scanner.policy.schema import Action
from scanner.remediate.actions import (
    ActionContext,
    ActionHandler,
    Outcome,
    Prepared,
    Restored,
    StartedAction,
    register,
)
from scanner.remediate.plan import PlannedAction

NOT_CONFIGURED = "no classification label configured ([labels] classification_label)"


def plan_params(settings: Settings) -> tuple[dict[str, Any], str | None]:
    """The planned action's params (label, field, choice, title) and why it cannot run, if it cannot."""
    cfg = settings.labels
    if not cfg.configured:
        return {}, NOT_CONFIGURED
    params = {"label_id": cfg.classification_label, "field_id": cfg.field, "choice": cfg.choice,
              "title": cfg.title or cfg.classification_label}
    return params, None


def _error(exc: BaseException) -> str:
    reason = getattr(exc, "reason", "") or type(exc).__name__
    status = getattr(exc, "status", None)
    return f"{reason} ({status})" if status else str(reason)


def _find(labels: list[dict[str, Any]] | None, label_id: str) -> dict[str, Any] | None:
    return next((dict(x) for x in labels or [] if x.get("id") == label_id), None)


def field_selection(label: dict[str, Any] | None, field_id: str) -> list[str] | None:
    """The selection values of ``field_id`` on an applied label (None: label or field not set)."""
    if label is None or not field_id:
        return None
    value = (label.get("fields") or {}).get(field_id)
    if not value:
        return None
    return [str(v) for v in value.get("selection") or []]


def is_applied(label: dict[str, Any] | None, params: dict[str, Any]) -> bool:
    """The label is on the file as the action sets it (with the configured choice, when there is one)."""
    if label is None:
        return False
    field_id, choice = str(params.get("field_id") or ""), str(params.get("choice") or "")
    return not field_id or field_selection(label, field_id) == [choice]


def _modification(params: dict[str, Any]) -> dict[str, Any]:
    mod: dict[str, Any] = {"kind": "drive#labelModification", "labelId": params["label_id"]}
    if params.get("field_id"):
        mod["fieldModifications"] = [{"kind": "drive#labelFieldModification", "fieldId": params["field_id"],
                                      "setSelectionValues": [params["choice"]]}]
    return mod


@register
class ApplyLabel(ActionHandler):
    name = "label"
    schema = type_schema("label")
    restorable = True

    def plan(self, settings: Settings, action: Action, base: dict[str, Any],
             perms: Sequence[dict[str, Any]]) -> list[PlannedAction]:
        """One action on the file, with the configured label (skipped, with why, when none is configured)."""
        params, skip = plan_params(settings)
        return [PlannedAction(**base, action=self.name, target_file_id=base["file_id"], params=params,
                              skip_reason=skip)]

    def prepare(self, ctx: ActionContext, action: PlannedAction) -> Prepared:
        label_id = str(action.params.get("label_id") or "")
        live = ctx.ops.get_labels(action.file_id, [label_id])
        if live is None:
            return Prepared(None, Outcome("already_gone", f"file {action.file_id} no longer exists"))
        current = _find(live, label_id)
        before = {"file_id": action.file_id, "label_id": label_id, "field_id": action.params.get("field_id") or "",
                  "label": current}
        if is_applied(current, action.params):
            return Prepared(before, Outcome("already_gone", f"already labelled {action.params.get('title')}",
                                            {"label": current}))
        return Prepared(before)

    def apply(self, ctx: ActionContext, action: PlannedAction, prepared: Prepared) -> Outcome:
        label_id = str(action.params.get("label_id"))
        try:
            ctx.ops.modify_labels(action.file_id, [_modification(action.params)])
        except Exception as exc:  # noqa: BLE001 - recorded on the action, never lost
            if getattr(exc, "status", None) == 404:
                return Outcome("already_gone", "the file no longer exists (404)")
            return Outcome("failed", f"applying the label failed: {_error(exc)}")
        after = _find(ctx.ops.get_labels(action.file_id, [label_id]), label_id)
        if not is_applied(after, action.params):
            return Outcome("failed", "the label is not on the file after files.modifyLabels", {"label": after})
        return Outcome("verified", f"labelled {action.params.get('title')}", {"label": after})

    def reconcile(self, ctx: ActionContext, started: StartedAction) -> Outcome:
        label_id = str(started.params.get("label_id") or "")
        live = ctx.ops.get_labels(started.file_id, [label_id])
        if live is None:
            return Outcome(ActionStatus.ALREADY_GONE, "the file no longer exists")
        current = _find(live, label_id)
        if is_applied(current, started.params):
            return Outcome(ActionStatus.VERIFIED, "the label is on the file (found so after the interruption)",
                           {"label": current})
        return Outcome(ActionStatus.NOT_APPLIED, "the label was not applied", {"label": current})

    def restore(self, ops: DriveOps, target: str, before: dict[str, Any], after: dict[str, Any]) -> Restored:
        from scanner.remediate.restore import RestoreRefused

        label_id = str(before.get("label_id") or "")
        field_id = str(before.get("field_id") or "")
        live = ops.get_labels(target, [label_id])
        if live is None:
            raise RestoreRefused(f"file {target} no longer exists (or is no longer visible): nothing restored")
        current = _find(live, label_id)
        ours = after.get("label")
        if current is None:
            raise RestoreRefused(f"label {label_id} is no longer on {target}: nothing restored")
        if field_id and field_selection(current, field_id) != field_selection(ours, field_id):
            raise RestoreRefused(f"label {label_id} on {target} changed since the action: nothing restored")
        previous = before.get("label")
        if previous is None:
            mod: dict[str, Any] = {"kind": "drive#labelModification", "labelId": label_id, "removeLabel": True}
            detail = f"removed label {label_id}"
        else:
            old = field_selection(previous, field_id)
            change: dict[str, Any] = {"kind": "drive#labelFieldModification", "fieldId": field_id}
            change.update({"setSelectionValues": old} if old else {"unsetValues": True})
            mod = {"kind": "drive#labelModification", "labelId": label_id, "fieldModifications": [change]}
            detail = f"label {label_id}: field {field_id} set back to what it was"
        ops.modify_labels(target, [mod])
        now = _find(ops.get_labels(target, [label_id]), label_id)
        if (now is None) != (previous is None) or (field_id and field_selection(now, field_id)
                                                   != field_selection(previous, field_id)):
            from scanner.core.errors import SharescanError

            raise SharescanError(f"file {target}: label {label_id} is not back as it was")
        return Restored({"label": current}, {"label": now}, detail)
