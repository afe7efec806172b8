"""Rule files: validation with file:line: key errors, the JSON Schema, and every rule's samples."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from scanner.errors import RuleError
from scanner.policy.loader import builtin_rules_dir, known_detectors, load_rules, parse_rule_text, rule_files
from scanner.policy.ruletest import run_rule_tests, samples
from scanner.policy.schema import rule_json_schema

DETECTORS = frozenset({"contractor_roster", "contractor_pii", "pay_data", "government_id", "bank_data",
                       "client_codename", "confidential_marking", "credentials"})
GOOD = """\
id: demo-rule
title: Demo rule
severity: high
when:
  exposure: [anyone_with_link]
content:
  any:
    - detector: contractor_roster
actions:
  - revoke: matched
  - notify: owner
"""


def test_known_detectors_are_the_pipelines() -> None:
    assert known_detectors() == DETECTORS


def test_builtin_rules_load() -> None:
    rules = load_rules([builtin_rules_dir()])
    assert sorted(r.id for r in rules) == [
        "exposed-credentials", "external-contractor-pii", "external-government-id-or-bank",
        "public-client-confidential", "public-contractor-pii", "public-file-inventory",
        "public-government-id-or-bank",
    ]


@pytest.mark.parametrize("path", rule_files(builtin_rules_dir()), ids=lambda p: p.name)
def test_rule_files_match_the_json_schema(path: Path) -> None:
    jsonschema.validate(yaml.safe_load(path.read_text()), rule_json_schema())


@pytest.mark.parametrize(("text", "expected"), [
    (GOOD.replace("severity: high", "severity: severe"),
     "r.yaml:3: severity: Input should be 'critical', 'high', 'medium', 'low' or 'info' (got 'severe')"),
    (GOOD.replace("contractor_roster", "contractor_rooster"),
     "r.yaml:8: content.any[0].detector: unknown detector 'contractor_rooster'"),
    (GOOD.replace("  exposure: [anyone_with_link]", "  exposure: [anyone_with_link]\n  colour: red"),
     "r.yaml:6: when.colour: unknown key"),
    (GOOD.replace("  - notify: owner", "  - notify: everyone"),
     "r.yaml:11: actions[1]: notify: expected owner (got 'everyone')"),
    (GOOD.replace("  - notify: owner", "  - expire: soon"),
     "r.yaml:11: actions[1]: expire needs a duration like '7d' or '48h' (got 'soon')"),
    (GOOD.replace("title: Demo rule\n", ""), "r.yaml:1: title: required key is missing"),
    (GOOD.replace("  - notify: owner", "  - downgrade: domain"),
     "r.yaml:9: actions: revoke and downgrade act on the same permissions: choose one"),
    ("id: [unclosed\n", "r.yaml:2: invalid YAML"),
])
def test_errors_name_file_line_and_key(text: str, expected: str) -> None:
    rule, problems = parse_rule_text(text, "r.yaml", DETECTORS)
    assert rule is None
    assert str(problems[0]).startswith(expected), str(problems[0])


def test_duplicate_ids_and_directories(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yml").write_text(GOOD)
    with pytest.raises(RuleError, match=r"b\.yml:1: id: duplicate rule id 'demo-rule'"):
        load_rules([tmp_path], DETECTORS)


def test_yaml_action_forms() -> None:
    rule, problems = parse_rule_text(GOOD.replace("  - notify: owner", "  - unpublish\n  - expire: 48h"),
                                     "r.yaml", DETECTORS)
    assert problems == [] and rule is not None
    assert [a.label() for a in rule.actions] == ["revoke: matched", "unpublish", "expire: 48h"]
    assert rule.actions[2].expiry is not None and rule.actions[2].expiry.total_seconds() == 48 * 3600


SAMPLES = samples(load_rules([builtin_rules_dir()]))


@pytest.fixture(scope="module")
def pipeline() -> object:
    from scanner.detect.pipeline import ContentPipeline, DetectConfig

    return ContentPipeline(DetectConfig(nlp_mode="auto"), hmac_key=b"rule-tests-key-0123456789")


@pytest.mark.parametrize(("rule", "sample", "kind"), SAMPLES, ids=[f"{r.id}:{k}:{Path(s).name}" for r, s, k in SAMPLES])
def test_rule_samples(rule: object, sample: str, kind: str, pipeline: object) -> None:
    [result] = run_rule_tests([rule.model_copy(update={"tests": type(rule.tests)(  # type: ignore[attr-defined]
        match=[sample] if kind == "match" else [], no_match=[sample] if kind == "no_match" else [])})],
        pipeline=pipeline)
    assert result.outcome == "PASS", result
