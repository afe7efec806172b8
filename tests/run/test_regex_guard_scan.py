"""A scan whose detector has a catastrophic pattern: files are recorded partial, the run goes on."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from sqlalchemy import select

from scanner.detect.pipeline import ContentPipeline, DetectConfig, default_rules_dir
from scanner.emulator.seeds.demo import EXPECTED
from scanner.run import ScanOptions, ScanService
from scanner.store.models import DriveFileRow, Finding

FLAGGED = {e.file_id for e in EXPECTED.values() if e.flagged}
# catastrophic on any line of words that ends in punctuation
RUNAWAY = {"name": "RunawayRecognizer", "supported_language": "en", "supported_entity": "RUNAWAY",
           "patterns": [{"name": "words to end of line", "regex": "(\\w|\\w\\w|\\s)+$", "score": 0.9}]}


def test_timed_out_patterns_make_files_partial_and_findings_stand(make_sqlite_app, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    registry = rules / "presidio" / "recognizers.yaml"
    raw = yaml.safe_load(registry.read_text())
    raw["recognizers"].append(RUNAWAY)
    registry.write_text(yaml.safe_dump(raw), encoding="utf-8")
    app = make_sqlite_app()

    def pipeline() -> ContentPipeline:
        return ContentPipeline(DetectConfig(rules_dir=rules, nlp_mode="pattern-only", regex_timeout=0.1),
                               b"test-installation-key-0123456789")

    result = ScanService(app, pipeline_factory=pipeline).run(ScanOptions(full=True))
    assert result.status == "completed"
    assert 0 < result.files_partial <= result.files_analysed
    with app.sessions() as s:
        reasons = [r for r in s.scalars(select(DriveFileRow.content_skip_reason)
                                        .where(DriveFileRow.content_status == "analysed")) if r]
        flagged = set(s.scalars(select(Finding.file_id).where(Finding.rule_id != "public-file-inventory")))
    assert len(reasons) >= result.files_partial
    assert "partial: regex time limit: pattern RunawayRecognizer/words to end of line stopped after 0.1s" in reasons
    assert flagged == FLAGGED  # every other pattern's evidence still decides
