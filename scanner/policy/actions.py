"""The remediation actions rules may name, as a registry (entry point group ``sharescan.actions``).

Each element says how a rule writes it (``schema``, made with :func:`scanner.core.registry.type_schema`)
and may check the value further (``check_arg``). The rule model validates actions against this
registry and the rule JSON Schema is generated from it, so a new action is one module that
registers itself (plus its test), whether it ships with sharescan or in another distribution.
The built-in actions live in ``scanner.remediate`` and are imported, by name, when the registry is
first read.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from scanner.core.registry import GROUP_ACTIONS, Registry


class RuleAction(Protocol):
    @property
    def name(self) -> str:
        """The key rules write (``- revoke: matched``)."""

    @property
    def schema(self) -> dict[str, Any]:
        """``type_schema(name, value schema, bare=...)``."""


ACTIONS: Registry[RuleAction] = Registry(GROUP_ACTIONS, builtins=(
    "scanner.remediate.actions", "scanner.remediate.limit_access", "scanner.remediate.notices",
))


def check_arg(action: RuleAction, arg: str) -> None:
    """Raise ValueError when ``arg`` is not what ``action`` takes: its own ``check_arg`` when it has one,
    else what its schema allows (an enum, or a string pattern)."""
    custom = getattr(action, "check_arg", None)
    if callable(custom):
        custom(arg)
        return
    value = action.schema["schema"]["properties"][action.name]
    if "enum" in value:
        allowed = ["" if v in (True, None) else str(v) for v in value["enum"]]
        if arg not in allowed:
            want = " | ".join(dict.fromkeys(a or "(no value)" for a in allowed))
            raise ValueError(f"{action.name}: expected {want} (got {arg!r})")
    elif "pattern" in value and not re.match(value["pattern"], arg):
        raise ValueError(f"{action.name}: {arg!r} does not match {value['pattern']}")


def actions_yaml_schema() -> dict[str, Any]:
    """How actions are written in YAML, one alternative per registered action."""
    registered = ACTIONS.all()
    bare = sorted(name for name, a in registered.items() if a.schema.get("bare"))
    alternatives: list[dict[str, Any]] = [{"type": "string", "enum": bare}] if bare else []
    alternatives += [registered[name].schema["schema"] for name in sorted(registered)]
    return {"title": "Action", "oneOf": alternatives}
