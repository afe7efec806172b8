"""The regex time bound: a catastrophic pattern is stopped, the file is partial, the run goes on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from scanner.cli.main import cli
from scanner.detect.models import PartialKind, PartialReason
from scanner.detect.pipeline import ContentPipeline, DetectConfig, default_rules_dir
from scanner.detect.regexguard import RegexGuard

KEY = b"test-installation-key-0123456789"
CATASTROPHIC = {
    "name": "RunawayRecognizer",
    "supported_language": "en",
    "supported_entity": "RUNAWAY",
    "patterns": [{"name": "nested quantifier", "regex": "(a+)+$", "score": 0.9}],
}
HOSTILE = "Intro line.\n" + "a" * 20_000 + "!\nSSN: 536-22-8411\n"


def rules_with_catastrophic_pattern(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    registry = rules / "presidio" / "recognizers.yaml"
    raw = yaml.safe_load(registry.read_text())
    raw["recognizers"].append(CATASTROPHIC)
    registry.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return rules


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> ContentPipeline:
    rules = rules_with_catastrophic_pattern(tmp_path_factory.mktemp("guard"))
    return ContentPipeline(DetectConfig(rules_dir=rules, nlp_mode="pattern-only", regex_timeout=0.2), KEY)


def test_timed_out_pattern_makes_the_file_partial_and_keeps_other_detections(guarded: ContentPipeline) -> None:
    result = guarded.analyze_bytes(HOSTILE.encode(), "text/plain", "hostile.txt")
    assert result.analysed and result.is_partial
    assert result.partial == (PartialReason(PartialKind.REGEX_TIMEOUT, "RunawayRecognizer/nested quantifier", 0.2),)
    assert str(result.partial[0]) == "regex time limit: pattern RunawayRecognizer/nested quantifier stopped after 0.2s"
    assert {h.detector for h in result.hits} >= {"government_id"}  # the other patterns' evidence stands


def test_next_document_starts_clean(guarded: ContentPipeline) -> None:
    guarded.analyze_bytes(HOSTILE.encode(), "text/plain", "hostile.txt")
    clean = guarded.analyze_bytes(b"Nothing to see: bbbb\nSSN: 536-22-8411\n", "text/plain", "ok.txt")
    assert clean.analysed and not clean.is_partial
    assert clean.hit("government_id") is not None


def test_custom_entity_without_anchor_runs_on_every_block(guarded: ContentPipeline) -> None:
    """A custom recognizer's entity has no prefilter anchor: it must still be looked for."""
    result = guarded.analyze_bytes(b"just words here\n\naaaa\n", "text/plain", "short.txt")
    assert "RUNAWAY" in {d.entity_type for d in result.detections}
    assert not result.is_partial


def test_builtin_patterns_are_all_guarded() -> None:
    p = ContentPipeline(DetectConfig(nlp_mode="pattern-only"), KEY)
    assert p.analyzer.regex_guard.patterns >= 30
    for rec in p.analyzer.engine.registry.recognizers:
        for pattern in getattr(rec, "patterns", None) or ():
            assert type(pattern.compiled_regex).__name__ == "GuardedRegex", (rec.name, pattern.name)


@pytest.mark.parametrize("seconds", [0, -1, float("inf"), float("nan")])
def test_guard_rejects_unbounded_settings(seconds: float) -> None:
    with pytest.raises(ValueError, match="positive number of seconds"):
        RegexGuard(seconds)


def test_classify_reports_partial_and_goes_on(tmp_path: Path) -> None:
    rules = rules_with_catastrophic_pattern(tmp_path)
    hostile = tmp_path / "hostile.txt"
    hostile.write_text(HOSTILE, encoding="utf-8")
    fine = tmp_path / "fine.txt"
    fine.write_text("Contractor SSN: 536-22-8411\n", encoding="utf-8")
    config = tmp_path / "sharescan.toml"
    config.write_text('[detect]\nnlp = "pattern-only"\nregex_timeout_seconds = 0.2\nkey_file = "%s"\n'
                      % (tmp_path / "evidence.key"))
    env = {"SHARESCAN_CONFIG": str(config), "SHARESCAN_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "250"}
    result = CliRunner().invoke(cli, ["classify", "--rules-dir", str(rules), str(hostile), str(fine),
                                      "--format", "json"], env=env, catch_exceptions=False)
    assert result.exit_code == 9, result.output  # ExitCode.PARTIAL
    rows = {Path(r["path"]).name: r for r in json.loads(result.stdout)}
    assert rows["hostile.txt"]["partial"] == [
        "regex time limit: pattern RunawayRecognizer/nested quantifier stopped after 0.2s"]
    assert rows["fine.txt"]["analysed"] is True and rows["fine.txt"]["partial"] == []
    assert {d["detector"] for d in rows["fine.txt"]["detectors"]} >= {"government_id"}
    assert result.stderr.strip() == "error: 1 partly analysed of 2 files"
    table = CliRunner().invoke(cli, ["classify", "--rules-dir", str(rules), str(hostile)], env=env,
                               catch_exceptions=False)
    assert table.exit_code == 9 and "partial: regex time limit" in table.stdout


def test_time_the_caller_spends_on_matches_is_not_counted() -> None:
    """Only the regex engine's time counts: a caller that is slow with each match (Presidio's
    e-mail validation loads a domain list on first use) does not stop the pattern."""
    import time

    import regex

    from scanner.detect.regexguard import GuardedRegex

    guard = RegexGuard(0.2)
    guarded = GuardedRegex(regex.compile("a"), "Test/a", guard)
    got = []
    for match in guarded.finditer("a a a"):
        time.sleep(0.15)  # 0.45 s in the caller, well over the bound
        got.append(match.start())
    assert got == [0, 2, 4] and guard.reasons == ()
