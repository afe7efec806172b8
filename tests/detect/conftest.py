from __future__ import annotations

import pytest

from scanner.detect.pipeline import ContentPipeline, DetectConfig

KEY = b"test-installation-key-0123456789"


@pytest.fixture(scope="session")
def pattern_pipeline() -> ContentPipeline:
    return ContentPipeline(DetectConfig(nlp_mode="pattern-only"), KEY)


@pytest.fixture(scope="session")
def spacy_pipeline() -> ContentPipeline:
    pipeline = ContentPipeline(DetectConfig(nlp_mode="auto"), KEY)
    if not pipeline.analyzer.ner_enabled:
        pytest.skip("spaCy model not installed")
    return pipeline
