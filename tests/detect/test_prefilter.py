"""The prefilter only saves work: with it, detections are exactly those of running every pattern
recognizer on every block (pattern-only, so NER gating plays no part)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

from scanner.detect.pipeline import ContentPipeline, DetectConfig
from scanner.detect.prefilter import BlockPlan, Prefilter, blocks

KEY = b"test-installation-key-0123456789"
ROOT = Path(__file__).parent.parent.parent
CORPUS = ROOT / "tests" / "data" / "corpus"

EXTRA = [
    ("contacts.txt", "Reach Ana Costa on her mobile: 07700 900 123 or phone (415) 982-3344.\n"),
    ("ids.txt", "passport 912803456, ITIN 912-71-1234, bank account 000123456789, NI AB 12 34 56 C\n"),
    ("dob.txt", "Born on 3 March 1987 at home. Date of birth 14/07/1990. DOB: Mar 3, 1987\n"),
    ("addr.txt", "Address:\n\n7 Elm Street, Leeds\n"),
    ("client.md", "Client: Orion Health\n  customer name: Bright Retail\n"),
    ("card.txt", "card number 5425-2334-3010-9903, another 4000 0566 5566 5556\n"),
    ("secrets.env", "API-KEY=9f8e7d6c5b4a39281706f5e4d3c2b1a0\nclient_secret: 'Zx81kPq0Lm3Nv7Bc2Df9Gh4Jk'\n"),
    ("pay.txt", "Dear Marco Polo, your rate is EUR 420 per day, or USD55/hr.\n"),
    ("prefixed.env", "LABEL_STUDIO_API_KEY=9f8e7d6c5b4a39281706f5e4d3c2b1a0\nexport FOO_SECRET_TOKEN=Zx81kPq0Lm3Nv7Bc2\n"
                     "$env:AZURE_CLIENT_SECRET = 'q8R~x2Lm9PzT4vB7nK1cW5yH3jF6gD0s'\nDD_API_KEY\t4f3c2b1a09e8d7c6b5a4f3e2d1\n"
                     "token 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 and sk-proj-Q2x8Lw0ZpR4mT7vN1cY5bK3hJ6gF9dS2aE8uI0\n"),
    ("wrapped.txt", "key: -----BEGIN RSA\nPRIVATE KEY----- MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6f\n"),
    ("passport.txt", "Passport no. W66208770 and passport number AB1234567\n"),
    ("phones.txt", "Noortje Klein -- +49 152 69279120\nChijioke Onoh -- 697.788.4580\nPeter Adetokunbo -- 07875 971892\n"),
]


def _bench_docs() -> list[tuple[str, bytes]]:
    spec = importlib.util.spec_from_file_location("bench_detect", ROOT / "benchmarks" / "bench_detect.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_detect", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return [(d.name, d.data) for d in module.make_corpus(24, seed=3, max_kb=12)]


def _docs() -> list[tuple[str, bytes]]:
    labels = yaml.safe_load((CORPUS / "labels.yaml").read_text())
    docs = [(n, (CORPUS / n).read_bytes()) for n in sorted(labels)]
    return docs + [(n, t.encode()) for n, t in EXTRA] + _bench_docs()


class _Everything(Prefilter):
    def __init__(self, entities: frozenset[str]) -> None:
        super().__init__()
        self.entities = entities

    def plan(self, text: str, spans: list[tuple[int, int]], context_free: frozenset[str] = frozenset()
             ) -> list[BlockPlan]:
        return [BlockPlan(s, e, self.entities) for s, e in spans]


@pytest.fixture(scope="module")
def pipelines() -> tuple[ContentPipeline, ContentPipeline]:
    fast = ContentPipeline(DetectConfig(nlp_mode="pattern-only"), KEY)
    full = ContentPipeline(DetectConfig(nlp_mode="pattern-only"), KEY)
    everything = frozenset(full.analyzer.engine.get_supported_entities("en")) - {"PERSON"}
    full.prefilter = _Everything(everything)
    return fast, full


@pytest.mark.parametrize("name,data", _docs(), ids=lambda v: v if isinstance(v, str) else "")
def test_prefilter_loses_nothing(pipelines: tuple[ContentPipeline, ContentPipeline], name: str, data: bytes) -> None:
    fast, full = pipelines
    a = fast.analyze_bytes(data, "", name)
    b = full.analyze_bytes(data, "", name)
    assert a.detections == b.detections
    assert a.hits == b.hits


def test_blocks_cover_text() -> None:
    text = "a" * 4000 + "\n\n" + "b c " * 1000
    spans = blocks(text)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(e == s2 for (_, e), (s2, _) in zip(spans, spans[1:], strict=False))
    assert max(e - s for s, e in spans) <= 1500


@pytest.mark.parametrize("text,expected", [
    ("just words about the weather", frozenset()),
    ("mail ana@x.io", frozenset({"EMAIL_ADDRESS"})),
    ("version 2.3.0 released 2024-02-11", frozenset()),  # no phone context word: no phone candidate
    ("call 415 982 3344", frozenset({"PHONE_NUMBER"})),
    ("account 000123456789", frozenset({"US_BANK_NUMBER"})),
    ("ssn 536-22-8411", frozenset({"US_SSN", "US_ITIN", "US_PASSPORT"})),
    ("STRICTLY CONFIDENTIAL", frozenset({"CONFIDENTIAL_MARKING"})),
    ("a kestrel hovered", frozenset()),
])
def test_plan_entities(text: str, expected: frozenset[str]) -> None:
    pf = Prefilter(phone_context=("phone", "call", "mobile"))
    assert pf.plan(text, [(0, len(text))])[0].entities == expected


@pytest.mark.parametrize("text", [
    "call +1 415 982 3344 or (212) 555-0187, office 020 7946 0958, DE +49 30 901820",
    "Revenue\tQ1\t4567890\t12.5%\nmobile 07700 900123; ref 2024-02-11; 1-800-555-0199 ext. 12",
    "+44 7700 900123,+39 347 123 4567;+46 70 123 45 67 and 9876543210",
])
def test_windowed_phone_recognizer_matches_presidio(pipelines: tuple[ContentPipeline, ContentPipeline],
                                                    text: str) -> None:
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer

    fast = next(r for r in pipelines[0].analyzer.engine.registry.recognizers if isinstance(r, PhoneRecognizer))
    original = PhoneRecognizer(supported_regions=fast.supported_regions, leniency=fast.leniency)
    saved, fast.require_context = fast.require_context, False
    try:
        got = {(r.start, r.end) for r in fast.analyze(text, ["PHONE_NUMBER"])}
    finally:
        fast.require_context = saved
    assert got == {(r.start, r.end) for r in original.analyze(text, ["PHONE_NUMBER"])}
    assert got
