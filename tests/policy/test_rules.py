"""Rule files: validation with file:line: key errors, the JSON Schema, and every rule's samples."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import jsonschema
import pytest
import yaml

from scanner.core.errors import RuleError
from scanner.policy.loader import builtin_rules_dir, known_detectors, load_rules, parse_rule_text, rule_files
from scanner.policy.ruletest import run_rule_tests, samples
from scanner.policy.schema import rule_json_schema

DETECTORS = frozenset({"contractor_roster", "contractor_pii", "pay_data", "government_id", "bank_data", "person_bank_data",
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


FOLDER = """\
id: folder-rule
title: Folder rule
severity: low
target: folder
when:
  exposure: [anyone_with_link]
  inherited: direct
actions:
  - downgrade: domain
"""


def test_known_detectors_are_the_pipelines() -> None:
    assert known_detectors() == DETECTORS


def test_builtin_rules_load() -> None:
    rules = load_rules([builtin_rules_dir()])
    assert sorted(r.id for r in rules) == [
        "exposed-credentials", "external-client-confidential", "external-contractor-pii",
        "external-government-id-or-bank", "external-shared-drive-folder",
        "public-client-confidential", "public-contractor-pii", "public-file-inventory",
        "public-folder-sensitive", "public-government-id-or-bank",
    ]


@pytest.mark.parametrize("path", rule_files(builtin_rules_dir()), ids=lambda p: p.name)
def test_rule_files_match_the_json_schema(path: Path) -> None:
    jsonschema.validate(yaml.safe_load(path.read_text()), rule_json_schema())


def test_every_builtin_rule_evidences_controls() -> None:
    """The mapping lives in the rule files; the schema knows the catalogue's ids."""
    rules = {r.id: r for r in load_rules([builtin_rules_dir()])}
    assert all(r.compliance for r in rules.values())
    assert rules["public-contractor-pii"].controls() == [
        "gdpr:Art.32", "gdpr:Art.33", "gdpr:Art.34", "iso27001:A.5.12", "iso27001:A.5.14", "iso27001:A.5.34",
        "iso27001:A.8.12", "soc2:CC6.1", "soc2:CC6.7", "cis_gws:3.1.2.1.1.2"]
    schema = rule_json_schema()["properties"]["compliance"]
    assert schema["properties"]["soc2"]["items"] == {"enum": ["CC6.1", "CC6.7"]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"soc2": ["CC9.9"]}, schema)


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
    (GOOD + "compliance:\n  iso27001: [A.5.12, A.9.99]\n",
     "r.yaml:12: compliance: iso27001: unknown control 'A.9.99' (expected one of A.5.12, A.5.14, A.5.15, A.5.34, "
     "A.8.12)"),
    (GOOD + "compliance:\n  hipaa: [164.312]\n",
     "r.yaml:12: compliance: unknown framework 'hipaa' (expected one of gdpr, iso27001, soc2, cis_gws)"),
    (GOOD.replace("  - notify: owner", "  - expire: 400d"),
     "r.yaml:11: actions[1]: expire: at most 365d, Drive's limit for expiry dates (got '400d')"),
    (GOOD.replace("  - revoke: matched\n", "  - justify: 14d\n"),
     "r.yaml:9: actions: justify waits for the owner before the rule's other actions"),
    (GOOD.replace("  - notify: owner", "  - limit_access"),
     "r.yaml:11: actions[1]: limit_access works on folders: use it in a rule with target: folder"),
    (FOLDER.replace("  inherited: direct\n", ""),
     "r.yaml:5: when.inherited: folder rules say where the fix goes"),
    (FOLDER.replace("  - downgrade: domain", "  - limit_access"),
     "r.yaml:9: actions[0]: limited access only cuts what a folder inherits"),
    (FOLDER.replace("inherited: direct", "inherited: inherited"),
     "r.yaml:9: actions[0]: downgrade cannot change an inherited permission on the folder that inherits it"),
    (FOLDER.replace("  - downgrade: domain", "  - unpublish"), "r.yaml:9: actions[0]: unpublish does not apply"),
    (FOLDER + "content:\n  any:\n    - detector: credentials\n",
     "r.yaml:10: content: a folder rule takes its sensitivity from its descendants' findings"),
])
def test_errors_name_file_line_and_key(text: str, expected: str) -> None:
    rule, problems = parse_rule_text(text, "r.yaml", DETECTORS)
    assert rule is None
    assert str(problems[0]).startswith(expected), str(problems[0])


KNOWN = ", ".join(sorted(DETECTORS))
EXEMPT = "exempt:\n  - folder: F1\n    reason: press kit\n    expires: {}\n"


@pytest.mark.parametrize(("text", "expected"), [
    # YAML syntax
    ("id: [unclosed\n", ["r.yaml:2: invalid YAML: expected ',' or ']', but got '<stream end>'"]),
    (GOOD.replace("  exposure:", "\texposure:"),
     ["r.yaml:5: invalid YAML: found character '\\t' that cannot start any token"]),
    (GOOD + "---\n" + GOOD, ["r.yaml:12: invalid YAML: but found another document"]),
    ("- a\n- b\n", ["r.yaml:1: a rule file holds one mapping (id, title, severity, when, ...)"]),
    (GOOD + "severity: low\n", ["r.yaml:12: severity: key given twice (YAML would keep only the last)"]),
    # wrong types
    (GOOD.replace("    - detector: contractor_roster", "    - detector: contractor_roster\n      min_count: many"),
     ["r.yaml:9: content.any[0].min_count: Input should be a valid integer, unable to parse string as an integer "
      "(got 'many')"]),
    (GOOD + "auto: maybe\n",
     ["r.yaml:12: auto: Input should be a valid boolean, unable to interpret input (got 'maybe')"]),
    (GOOD.replace("[anyone_with_link]", "anyone_with_link"),
     ["r.yaml:5: when.exposure: Input should be a valid list (got 'anyone_with_link')"]),
    # unknown keys
    (GOOD + "colour: red\n", ["r.yaml:12: colour: unknown key"]),
    (GOOD + EXEMPT.format("2027-01-31") + "    approved_by: legal\n", ["r.yaml:16: exempt[0].approved_by: unknown key"]),
    # unknown detectors
    (GOOD.replace("contractor_roster", "contractor_rooster"),
     [f"r.yaml:8: content.any[0].detector: unknown detector 'contractor_rooster' (known: {KNOWN})"]),
    (GOOD.replace("  any:\n    - detector: contractor_roster", "  none: [secrets]"),
     [f"r.yaml:7: content.none[0]: unknown detector 'secrets' (known: {KNOWN})"]),
    # unknown exposure class
    (GOOD.replace("[anyone_with_link]", "[anyone_with_link, everywhere]"),
     ["r.yaml:5: when.exposure[1]: Input should be 'public', 'published', 'anyone_with_link', 'external_domain', "
      "'external_group', 'external_user', 'domain' or 'internal' (got 'everywhere')"]),
    # bad dates (the YAML loader must not crash on an impossible date)
    (GOOD + EXEMPT.format("2026-02-30"), ["r.yaml:15: exempt[0].expires: expected a date like 2027-01-31, "
                                          "or never (got '2026-02-30')"]),
    (GOOD + EXEMPT.format("31/12/2026"), ["r.yaml:15: exempt[0].expires: expected a date like 2027-01-31, "
                                          "or never (got '31/12/2026')"]),
    (GOOD + EXEMPT.format("next year"), ["r.yaml:15: exempt[0].expires: expected a date like 2027-01-31, "
                                         "or never (got 'next year')"]),
    # an exemption must say until when (or say never)
    (GOOD + "exempt:\n  - folder: F1\n    reason: press kit\n",
     ["r.yaml:13: exempt[0].expires: required key is missing: a date like 2027-01-31, or never for a permanent "
      "exemption"]),
    (GOOD + EXEMPT.format("null"), ["r.yaml:15: exempt[0].expires: expected a date like 2027-01-31, or never (got None)"]),
], ids=["yaml-unclosed", "yaml-tab", "yaml-two-documents", "not-a-mapping", "duplicate-key", "type-int",
        "type-bool", "type-list", "unknown-key", "unknown-nested-key", "unknown-detector", "unknown-detector-none",
        "unknown-exposure", "date-impossible", "date-format", "date-words", "expiry-missing", "expiry-null"])
def test_each_error_is_one_exact_line(text: str, expected: list[str]) -> None:
    rule, problems = parse_rule_text(text, "r.yaml", DETECTORS)
    assert rule is None
    assert [str(p) for p in problems] == expected


@pytest.mark.parametrize(("written", "expires", "active_in_2030"), [
    ("2027-01-31", dt.date(2027, 1, 31), False),
    ("never", None, True),
    ("Never", None, True),
])
def test_a_valid_exempt_expiry(written: str, expires: dt.date | None, active_in_2030: bool) -> None:
    rule, problems = parse_rule_text(GOOD + EXEMPT.format(written), "r.yaml", DETECTORS)
    assert problems == [] and rule is not None
    assert rule.exempt[0].expires == expires
    assert rule.exempt[0].active(dt.date(2027, 1, 31)) is True
    assert rule.exempt[0].active(dt.date(2030, 1, 1)) is active_in_2030


def test_validate_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from scanner.cli.main import main

    (tmp_path / "good.yaml").write_text(GOOD)
    (tmp_path / "bad.yaml").write_text(GOOD.replace("id: demo-rule", "id: other-rule") + EXEMPT.format("2026-02-30"))
    with pytest.raises(SystemExit) as exited:
        main(["rules", "validate", str(tmp_path)])
    assert exited.value.code == 2
    assert capsys.readouterr().err == (f"error: {tmp_path / 'bad.yaml'}:15: exempt[0].expires: expected a date like "
                                       "2027-01-31, or never (got '2026-02-30')\n")
    (tmp_path / "bad.yaml").unlink()
    main(["rules", "validate", str(tmp_path)])
    assert capsys.readouterr().out == "1 rule(s) valid in 1 file(s)\n"


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
