"""Run each rule's ``tests:`` samples through the real content pipeline (``sharescan rules test``).

A sample is judged on the rule's *content* conditions (exposure and metadata are properties of a
Drive file, not of a local document). Sample paths are relative to the rule file's directory, its
parent (the repository for the built-in rules) or the current directory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanner.policy.evaluate import content_matches
from scanner.policy.schema import Rule


@dataclass(frozen=True)
class SampleResult:
    rule_id: str
    sample: str
    expect: str  # match | no_match
    outcome: str  # PASS | FAIL | MISSING
    detectors: list[str]


def resolve_sample(rule: Rule, sample: str) -> Path | None:
    path = Path(sample)
    if path.is_absolute():
        return path if path.is_file() else None
    bases = []
    if rule.source:
        src = Path(rule.source).resolve().parent
        bases += [src, src.parent]
    bases.append(Path.cwd())
    for base in bases:
        if (base / path).is_file():
            return base / path
    return None


def samples(rules: Iterable[Rule]) -> list[tuple[Rule, str, str]]:
    return [(r, s, kind) for r in rules for kind, items in (("match", r.tests.match), ("no_match", r.tests.no_match))
            for s in items]


def run_rule_tests(rules: Iterable[Rule], *, key_path: Path | None = None, nlp: str = "auto",
                   pipeline: Any = None) -> list[SampleResult]:
    from scanner.detect.evidence import load_or_create_key
    from scanner.detect.pipeline import ContentPipeline, DetectConfig

    if pipeline is None:
        key = load_or_create_key(key_path) if key_path else b"sharescan-rule-tests-key"
        pipeline = ContentPipeline(DetectConfig(nlp_mode=nlp), hmac_key=key)  # type: ignore[arg-type]
    cache: dict[Path, Any] = {}
    out = []
    for rule, sample, kind in samples(rules):
        path = resolve_sample(rule, sample)
        if path is None:
            out.append(SampleResult(rule.id, sample, kind, "MISSING", []))
            continue
        if path not in cache:
            cache[path] = pipeline.analyze_path(path)
        content = cache[path]
        matched, _ = content_matches(rule, content)
        ok = matched == (kind == "match")
        out.append(SampleResult(rule.id, sample, kind, "PASS" if ok else "FAIL",
                                sorted(h.detector for h in content.hits)))
    return out
