"""Posture checks are data: every built-in check's samples are judged as they say; a bad check file is
reported with its file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.core.errors import RuleError
from scanner.posture.checks import Verdict, load_checks, parse_check, run_check_tests
from scanner.posture.reader import OrgUnitInfo, PolicyRecord, PostureSnapshot
from scanner.posture.service import judge


def test_every_builtin_check_has_samples_that_hold() -> None:
    checks = load_checks()
    assert len(checks) >= 8
    outcomes = run_check_tests(checks)
    for check in checks:
        assert check.tests.fail and check.tests.pass_, f"{check.id} needs fail and pass samples"
        assert check.compliance.get("scuba_gws"), f"{check.id} names no SCuBA control"
    assert [o for o in outcomes if not o.ok] == []


def test_a_check_that_would_pass_everything_fails_its_own_samples(tmp_path: Path) -> None:
    """The samples can fail: a check whose condition never holds is caught by its fail sample."""
    text = (Path(__file__).parents[2] / "rules/posture/drive-external-sharing-allowed.yaml").read_text()
    broken, problems = parse_check(text.replace("equals: ALLOWED", "equals: NEVER"), "x.yaml")
    assert broken is not None and not problems
    assert [o.ok for o in run_check_tests([broken]) if o.expect == Verdict.FAIL] == [False]


def test_bad_check_files_name_file_line_and_key(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "id: bad-check\ntitle: t\nseverity: urgent\nsetting: drive_and_docs.external_sharing\n"
        "fails_when:\n  - {field: x}\nsetting_label: s\nrecommendation: r\n"
        "compliance:\n  cis_gws: [9.9.9]\n")
    with pytest.raises(RuleError) as err:
        load_checks([tmp_path])
    text = str(err.value)
    assert f"{tmp_path / 'bad.yaml'}:3: severity:" in text
    assert f"{tmp_path / 'bad.yaml'}:6: fails_when.0:" in text


def _snapshot(*policies: tuple[str, dict[str, object], float]) -> PostureSnapshot:
    units = {p: OrgUnitInfo(f"id{i}", p) for i, p in enumerate(["/", "/A", "/A/B", "/C"])}
    records = [PolicyRecord(f"policies/{i}", "settings/drive_and_docs.external_sharing", dict(value),
                            units[path].id, "", order) for i, (path, value, order) in enumerate(policies)]
    return PostureSnapshot(units=units, policies=records)


def test_inheritance_groups_failures_under_the_org_unit_that_sets_them() -> None:
    check = next(c for c in load_checks() if c.id == "drive-anyone-with-link-allowed")
    snap = _snapshot(("/", {"externalSharingMode": "ALLOWED", "allowPublishingFiles": False}, 1.0),
                     ("/A", {"allowPublishingFiles": True}, 2.0))
    failing = judge(snap, [check]).failing
    assert [(r.org_unit, r.applies_to) for r in failing] == [("/A", ("/A", "/A/B"))]
    assert failing[0].is_default is False
    # nothing set anywhere: Google's default (link sharing allowed) fails at the root, for every unit
    failing = judge(_snapshot(), [check]).failing
    assert [(r.org_unit, r.is_default) for r in failing] == [("/", True)]
    assert set(failing[0].applies_to) == {"/", "/A", "/A/B", "/C"}
