"""Document- and entity-level precision/recall on the labelled corpus (tests/data/corpus)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from scanner.detect.pipeline import ContentPipeline

CORPUS = Path(__file__).parent.parent / "data" / "corpus"
RESULTS = Path(__file__).parent.parent / "data" / "accuracy_results.json"


def evaluate(pipeline: ContentPipeline) -> dict[str, object]:
    labels = yaml.safe_load((CORPUS / "labels.yaml").read_text())
    sensitive = set(pipeline.settings.sensitive_detectors)
    tp = fp = fn = tn = 0
    det_tp: Counter[str] = Counter()
    det_fp: Counter[str] = Counter()
    det_fn: Counter[str] = Counter()
    ent_ok: Counter[str] = Counter()
    ent_total: Counter[str] = Counter()
    errors = []
    for name, label in sorted(labels.items()):
        result = pipeline.analyze_path(CORPUS / name)
        assert result.analysed, (name, result.skip_reason)
        fired = {h.detector for h in result.hits}
        predicted = bool(fired & sensitive)
        expected = bool(label["sensitive"])
        tp += predicted and expected
        fp += predicted and not expected
        fn += expected and not predicted
        tn += not predicted and not expected
        if predicted != expected:
            errors.append(name)
        for det in label["detectors"]:
            (det_tp if det in fired else det_fn)[det] += 1
        if not expected:
            for det in fired & sensitive:
                det_fp[det] += 1
        counts = Counter(d.entity_type for d in result.detections)
        for entity, n in (label.get("entities") or {}).items():
            ent_total[entity] += 1
            ent_ok[entity] += counts[entity] == n
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    detectors = {
        d: {
            "recall": round(det_tp[d] / (det_tp[d] + det_fn[d]), 3) if det_tp[d] + det_fn[d] else None,
            "false_positive_docs": det_fp[d],
        }
        for d in sorted(set(det_tp) | set(det_fn) | set(det_fp))
    }
    return {
        "mode": pipeline.nlp_mode,
        "documents": len(labels),
        "doc_precision": round(precision, 3),
        "doc_recall": round(recall, 3),
        "tp": tp, "fp": fp, "fn": fn, "tn": tn,
        "misclassified": errors,
        "detectors": detectors,
        "exact_entity_counts": {e: f"{ent_ok[e]}/{ent_total[e]}" for e in sorted(ent_total)},
    }


def _report(stats: dict[str, object]) -> None:
    print(f"\n== {stats['mode']}: doc precision {stats['doc_precision']} recall {stats['doc_recall']} "
          f"(tp={stats['tp']} fp={stats['fp']} fn={stats['fn']} tn={stats['tn']}) misclassified={stats['misclassified']}")
    print(f"{'detector':<22}{'recall':>8}{'FP docs':>9}")
    for det, row in stats["detectors"].items():  # type: ignore[union-attr]
        print(f"{det:<22}{row['recall']!s:>8}{row['false_positive_docs']:>9}")
    print("exact entity counts:", stats["exact_entity_counts"])
    existing = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    existing[str(stats["mode"]).split(":")[0]] = stats
    RESULTS.write_text(json.dumps(existing, indent=2, sort_keys=True))


def test_accuracy_pattern_only(pattern_pipeline: ContentPipeline) -> None:
    stats = evaluate(pattern_pipeline)
    _report(stats)
    labels = yaml.safe_load((CORPUS / "labels.yaml").read_text())
    # Pattern-only cannot see names in prose: only documents labelled needs_ner may be missed.
    assert set(stats["misclassified"]) <= {n for n, lab in labels.items() if lab.get("needs_ner")}  # type: ignore[arg-type]
    assert stats["doc_precision"] >= 0.90
    assert stats["doc_recall"] >= 0.95


def test_accuracy_spacy(spacy_pipeline: ContentPipeline) -> None:
    stats = evaluate(spacy_pipeline)
    _report(stats)
    assert stats["doc_precision"] >= 0.90
    assert stats["doc_recall"] >= 0.95
    assert all(r["recall"] in (None, 1.0) for r in stats["detectors"].values())  # type: ignore[union-attr]


@pytest.mark.parametrize("name", sorted(yaml.safe_load((CORPUS / "labels.yaml").read_text())))
def test_corpus_document(spacy_pipeline: ContentPipeline, name: str) -> None:
    label = yaml.safe_load((CORPUS / "labels.yaml").read_text())[name]
    result = spacy_pipeline.analyze_path(CORPUS / name)
    fired = {h.detector for h in result.hits}
    assert set(label["detectors"]) <= fired
    if not label["sensitive"]:
        assert not fired & set(spacy_pipeline.settings.sensitive_detectors)


def test_ner_gating_loses_no_document(spacy_pipeline: ContentPipeline) -> None:
    """NER only where a person-linked value was found vs NER on every block: same decisions."""
    from scanner.detect.pipeline import DetectConfig

    ungated = ContentPipeline(DetectConfig(nlp_mode="auto", ner_gating=False), b"test-installation-key-0123456789")
    gated_stats, ungated_stats = evaluate(spacy_pipeline), evaluate(ungated)
    assert gated_stats["misclassified"] == ungated_stats["misclassified"] == []
    assert gated_stats["detectors"] == ungated_stats["detectors"]
