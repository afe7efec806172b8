"""An action from outside sharescan, as a plugin distribution would ship it (one module): how rules
write it, and how it changes Drive. Loaded through a ``sharescan.actions`` entry point by the tests."""

from __future__ import annotations

from scanner.core.registry import type_schema
from scanner.remediate.actions import ActionContext, ActionHandler, Outcome, Prepared
from scanner.remediate.plan import PlannedAction


class Quarantine(ActionHandler):
    """Move the item into a quarantine folder (here: only what rules see of it)."""

    name = "quarantine"
    schema = type_schema("quarantine", {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"})

    def prepare(self, ctx: ActionContext, action: PlannedAction) -> Prepared:
        return Prepared(before=ctx.ops.get_file(action.file_id))

    def apply(self, ctx: ActionContext, action: PlannedAction, prepared: Prepared) -> Outcome:
        return Outcome("verified", "quarantined")
