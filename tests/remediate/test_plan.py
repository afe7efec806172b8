"""The one place that decides dry-run vs enforce: every combination, with the exact outcome."""

from __future__ import annotations

import pytest

from scanner.config import Settings
from scanner.policy.schema import Rule
from scanner.remediate.plan import decide_mode


def rule(*, auto: bool, mode: str | None = None) -> Rule:
    return Rule.model_validate({"id": "test-rule", "title": "a rule", "severity": "high",
                                "when": {"exposure": ["anyone_with_link"]}, "auto": auto, "mode": mode})


@pytest.mark.parametrize(
    ("global_mode", "rule_mode", "auto", "apply", "manual", "expected"),
    [
        ("dry-run", None, True, None, False, "dry-run"),
        ("enforce", None, True, None, False, "enforce"),
        ("enforce", None, False, None, False, "dry-run"),   # auto: false waits for a person
        ("dry-run", None, True, True, False, "enforce"),    # scan --apply
        ("dry-run", None, False, True, False, "dry-run"),   # scan --apply never applies auto: false
        ("dry-run", None, False, True, True, "enforce"),    # sharescan remediate --apply does
        ("enforce", None, True, False, False, "dry-run"),   # --dry-run wins
        ("enforce", "dry-run", True, None, False, "dry-run"),  # the rule's own mode
        ("dry-run", "enforce", True, None, False, "enforce"),
        ("off", None, True, True, True, "off"),             # off means off, even with --apply
        ("enforce", "off", True, True, False, "off"),
    ],
)
def test_decide_mode(global_mode: str, rule_mode: str | None, auto: bool, apply: bool | None, manual: bool,
                     expected: str) -> None:
    settings = Settings.model_validate({"remediation": {"mode": global_mode}})
    decision = decide_mode(settings, rule(auto=auto, mode=rule_mode), apply=apply, manual=manual)
    assert decision.mode == expected, decision.reason
