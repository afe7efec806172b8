"""The rule actions that ask or tell a person instead of changing sharing: ``notify: owner`` and
``justify: 14d``. The planner turns them into outbox notices (``scanner.remediate.plan``); they have
no Drive handler, only their place in the action registry (how rules write them)."""

from __future__ import annotations

from typing import Any

from scanner.core.registry import type_schema
from scanner.policy.actions import ACTIONS
from scanner.policy.schema import DURATION_SCHEMA, parse_duration


class Notify:
    name = "notify"
    schema: dict[str, Any] = type_schema("notify", {"enum": ["owner"]})


class Justify:
    """Ask the owner first: they may keep the sharing with a reason until a date."""

    name = "justify"
    schema: dict[str, Any] = type_schema("justify", DURATION_SCHEMA)

    def check_arg(self, arg: str) -> None:
        if parse_duration(arg) is None:
            raise ValueError(f"justify needs a duration like '7d' or '48h' (got {arg!r})")


ACTIONS.register(Notify())
ACTIONS.register(Justify())
