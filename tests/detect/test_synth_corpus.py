"""Document-level precision/recall on a slice of the HELD-BACK v2 part of the generated corpus
(tests/data/synth): every format, every category, and a >= 1 MB document.

The slice is the first documents of the held-back v2 split (the same seed and order as the full
measurement in scanner/detect/README.md), 60 per format. Thresholds sit a little under what the
slice measured when detection was frozen (overall recall 0.994 / precision 1.000; per format
recall 0.973-1.000, precision 1.000; per category recall 0.952 credentials (20 of 21), 0.985
financial, 0.992 contractor_pii, 1.000 client_confidential and government_id), so that a real
regression (a class of documents lost) fails while one document more or less does not. The
issue's targets (0.97 / 0.95) are measured on the whole held-back part, not asserted here.
"""

from __future__ import annotations

import pytest

from scanner.detect.pipeline import ContentPipeline
from tests.data.synth.corpus import build, make_one
from tests.data.synth.families import CATEGORIES
from tests.data.synth.pools import HELDBACK2
from tests.data.synth.score import Report, evaluate
from tests.data.synth.writers import FORMATS

pytestmark = pytest.mark.timeout(1200)  # the fixture builds and scores 300 documents + 1 MB (a hang guard)
SLICE = 300  # documents, round-robin over the five formats
FORMAT_RECALL = 0.93
PRECISION = 0.95
CATEGORY_RECALL = 0.88
OVERALL_RECALL = 0.97


@pytest.fixture(scope="module")
def report(spacy_pipeline: ContentPipeline) -> Report:
    docs = build(HELDBACK2, SLICE)
    docs.append(make_one(HELDBACK2, 900_000, "txt", long=True))
    return evaluate(spacy_pipeline, docs)


def test_every_document_analysed(report: Report) -> None:
    assert report.not_analysed == []
    assert report.docs == SLICE + 1


def test_overall(report: Report) -> None:
    assert report.overall.recall >= OVERALL_RECALL, report.misses
    assert report.overall.precision >= PRECISION, report.misses


@pytest.mark.parametrize("fmt", FORMATS)
def test_per_format(report: Report, fmt: str) -> None:
    counts = report.per_format[fmt]
    assert counts.tp + counts.fn >= 20 and counts.tn + counts.fp >= 15  # the slice covers both sides
    misses = [m for m in report.misses if m.fmt == fmt]
    assert counts.recall >= FORMAT_RECALL, misses
    assert counts.precision >= PRECISION, misses


@pytest.mark.parametrize("category", CATEGORIES)
def test_per_category_recall(report: Report, category: str) -> None:
    counts = report.per_category[category]
    assert counts.tp + counts.fn >= 5
    assert counts.recall >= CATEGORY_RECALL, [m for m in report.misses if category in m.expected]
    assert counts.precision >= PRECISION, [m for m in report.misses if category in m.predicted]


def test_long_document_roster_found(report: Report) -> None:
    assert not [m for m in report.misses if m.kind == "long_document"]
