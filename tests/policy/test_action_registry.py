"""Actions are found through the registry (built-ins and ``sharescan.actions`` entry points), and the
rule model and the rule JSON Schema follow it: a new action is one module plus its test."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import EntryPoint

import jsonschema
import pytest
from pydantic import ValidationError

from scanner.core import registry as registry_module
from scanner.policy.actions import ACTIONS
from scanner.policy.schema import Rule, rule_json_schema
from scanner.remediate.actions import registered

RULE = {"id": "quarantine-public", "title": "Quarantine public files", "severity": "high",
        "when": {"exposure": ["public"]}, "actions": [{"quarantine": "legal-hold"}]}


@pytest.fixture()
def plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An installed distribution declaring ``quarantine = tests.policy.plugin_action:Quarantine``."""
    ep = EntryPoint(name="quarantine", value="tests.policy.plugin_action:Quarantine", group="sharescan.actions")
    real = registry_module.entry_points

    def fake(*, group: str) -> list[EntryPoint]:
        return [ep] if group == "sharescan.actions" else list(real(group=group))

    monkeypatch.setattr(registry_module, "entry_points", fake)
    ACTIONS.load(reload=True)
    yield
    ACTIONS.unregister("quarantine")


def test_builtin_actions_are_registered_with_their_schema() -> None:
    names = set(ACTIONS.names())
    assert {"revoke", "downgrade", "unpublish", "expire", "limit_access", "justify", "notify"} <= names
    handlers = registered()
    assert {"revoke", "downgrade", "unpublish", "expire", "limit_access"} <= set(handlers)
    assert "notify" not in handlers  # a notice, not a Drive change
    action_schema = rule_json_schema()["$defs"]["Action"]
    written = [{"revoke": "matched"}, "unpublish", {"expire": "30d"}, {"notify": "owner"}]
    for value in written:
        jsonschema.validate(value, action_schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"revoke": "everyone"}, action_schema)


def test_unknown_action_is_refused_until_its_entry_point_is_installed() -> None:
    with pytest.raises(ValidationError, match="unknown action 'quarantine'"):
        Rule.model_validate(RULE)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(RULE, rule_json_schema())


def test_action_from_an_entry_point_is_accepted_by_the_model_and_the_schema(plugin: None) -> None:
    rule = Rule.model_validate(RULE)
    assert [(a.kind, a.arg) for a in rule.actions] == [("quarantine", "legal-hold")]
    jsonschema.validate(RULE, rule_json_schema())
    assert "quarantine" in registered()  # the engine finds its handler too
    bad = {**RULE, "actions": [{"quarantine": "no spaces allowed"}]}
    with pytest.raises(ValidationError, match="quarantine"):
        Rule.model_validate(bad)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, rule_json_schema())


def test_a_broken_entry_point_does_not_hide_the_builtins(monkeypatch: pytest.MonkeyPatch) -> None:
    ep = EntryPoint(name="broken", value="tests.policy.no_such_module:Nothing", group="sharescan.actions")
    monkeypatch.setattr(registry_module, "entry_points", lambda *, group: [ep])
    ACTIONS.load(reload=True)
    assert "broken" not in ACTIONS.names()
    assert "revoke" in ACTIONS.names()
