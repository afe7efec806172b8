"""ContentPipeline.analyze_extracted: detection on text already extracted is what analyze_bytes
does after extraction (benchmarks/bench_detect.py times it on the text plain Presidio gets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.content.extract import extract
from scanner.detect.pipeline import ContentPipeline

CORPUS = Path(__file__).parent.parent / "data" / "corpus"


@pytest.mark.parametrize("name", ["roster_labelers.csv", "hr_form_uk.docx", "pay_review.xlsx", "hr_form_ssn.pdf",
                                  "conference_talk.pptx", "credentials_notes.txt", "recipe.txt"])
def test_same_decisions_as_from_bytes(pattern_pipeline: ContentPipeline, name: str) -> None:
    path = CORPUS / name
    if not path.exists():
        pytest.skip(f"{name} not in the labelled corpus")
    data = path.read_bytes()
    a = pattern_pipeline.analyze_bytes(data, "", name)
    b = pattern_pipeline.analyze_extracted(extract(data, "", name))
    assert a.analysed and b.analysed
    assert [(h.detector, h.count) for h in a.hits] == [(h.detector, h.count) for h in b.hits]
    assert a.detections == b.detections


def test_refused_extraction_is_not_analysed(pattern_pipeline: ContentPipeline) -> None:
    r = pattern_pipeline.analyze_extracted(extract(b"PK\x03\x04 not a zip", "", "broken.docx"))
    assert not r.analysed and r.skip_reason and r.skip_reason.startswith("not analysed")
