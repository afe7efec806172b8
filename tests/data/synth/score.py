"""Score the pipeline on a split: document-level precision/recall per format and per category.

Run: .venv/bin/python -m tests.data.synth.score [--split tuning|heldback|heldback2|heldback3|heldback4] [--docs N] [--long K] [--misses]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.data.synth.corpus import LabelledDoc, build
from tests.data.synth.families import CATEGORIES
from tests.data.synth.writers import FORMATS

FORMAT_LABELS = {"txt": "TXT/CSV", "docx": "DOCX", "xlsx": "XLSX", "pdf": "PDF", "pptx": "PPTX"}


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, predicted: bool, expected: bool) -> None:
        if predicted and expected:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif expected:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn,
                "recall": round(self.recall, 4), "precision": round(self.precision, 4)}


@dataclass
class Miss:
    name: str
    fmt: str
    kind: str
    expected: tuple[str, ...]
    predicted: tuple[str, ...]
    reason: str = ""


@dataclass
class Report:
    docs: int = 0
    seconds: float = 0.0
    chars: int = 0
    overall: Counts = field(default_factory=Counts)
    per_format: dict[str, Counts] = field(default_factory=dict)
    per_category: dict[str, Counts] = field(default_factory=dict)
    per_format_category: dict[tuple[str, str], Counts] = field(default_factory=dict)
    misses: list[Miss] = field(default_factory=list)
    not_analysed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "docs": self.docs, "seconds": round(self.seconds, 2), "chars": self.chars,
            "overall": self.overall.as_dict(),
            "per_format": {FORMAT_LABELS.get(k, k): v.as_dict() for k, v in self.per_format.items()},
            "per_category": {k: v.as_dict() for k, v in self.per_category.items()},
            "misses": [m.__dict__ for m in self.misses],
        }


def predicted_categories(result: Any, sensitive: set[str]) -> set[str]:
    return {c for h in result.hits if h.detector in sensitive for c in h.categories}


def evaluate(pipeline: Any, docs: list[LabelledDoc]) -> Report:
    sensitive = set(pipeline.settings.sensitive_detectors)
    report = Report()
    report.per_format = {f: Counts() for f in FORMATS}
    report.per_category = {c: Counts() for c in CATEGORIES}
    started = time.perf_counter()
    for doc in docs:
        result = pipeline.analyze_bytes(doc.data, "", doc.name)
        report.docs += 1
        report.chars += result.chars_analysed
        if not result.analysed:
            report.not_analysed.append(f"{doc.name}: {result.skip_reason}")
        got = predicted_categories(result, sensitive)
        report.overall.add(bool(got), doc.sensitive)
        report.per_format[doc.fmt].add(bool(got), doc.sensitive)
        for c in CATEGORIES:
            report.per_category[c].add(c in got, c in doc.categories)
            report.per_format_category.setdefault((doc.fmt, c), Counts()).add(c in got, c in doc.categories)
        if got != set(doc.categories):
            report.misses.append(Miss(doc.name, doc.fmt, doc.kind, tuple(sorted(doc.categories)), tuple(sorted(got)),
                                      ",".join(sorted(h.detector for h in result.hits))))
    report.seconds = time.perf_counter() - started
    return report


def print_report(title: str, report: Report, misses: bool = False) -> None:
    o = report.overall
    print(f"\n== {title}: {report.docs} docs, {report.chars / 1e6:.1f} M chars, {report.seconds:.1f} s; "
          f"sensitive recall {o.recall:.3f} precision {o.precision:.3f} (tp {o.tp} fp {o.fp} fn {o.fn} tn {o.tn})")
    print(f"{'format':<9}{'recall':>8}{'prec':>7}{'tp':>6}{'fp':>5}{'fn':>5}{'tn':>6}")
    for fmt, c in report.per_format.items():
        print(f"{FORMAT_LABELS[fmt]:<9}{c.recall:>8.3f}{c.precision:>7.3f}{c.tp:>6}{c.fp:>5}{c.fn:>5}{c.tn:>6}")
    print(f"{'category':<20}{'recall':>8}{'prec':>7}{'tp':>6}{'fp':>5}{'fn':>5}   recall per format")
    for cat, c in report.per_category.items():
        per = " ".join(f"{report.per_format_category[(f, cat)].recall:.2f}" for f in FORMATS
                       if (f, cat) in report.per_format_category)
        print(f"{cat:<20}{c.recall:>8.3f}{c.precision:>7.3f}{c.tp:>6}{c.fp:>5}{c.fn:>5}   {per}")
    if report.not_analysed:
        print("not analysed:", report.not_analysed[:10])
    if misses:
        by_kind = Counter((m.kind, "FN" if set(m.expected) - set(m.predicted) else "FP") for m in report.misses)
        print("misses by family:", dict(sorted(by_kind.items())))
        for m in report.misses:
            print(f"  {m.name:<48} want {','.join(m.expected) or '-':<40} got {','.join(m.predicted) or '-':<40} "
                  f"[{m.reason}]")


def main() -> None:
    from scanner.detect.pipeline import ContentPipeline, DetectConfig

    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="tuning")
    ap.add_argument("--docs", type=int, default=1000)
    ap.add_argument("--long", type=int, default=0, help=">= 1 MB documents per format")
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--nlp", default="auto")
    ap.add_argument("--misses", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    docs = build(args.split, args.docs, long_docs=args.long, start=args.start)
    print(f"built {len(docs)} docs ({sum(len(d.data) for d in docs) / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f} s")
    pipeline = ContentPipeline(DetectConfig(nlp_mode=args.nlp), b"synth-corpus-key-0123456789abcdef")
    print_report(f"{args.split} ({pipeline.nlp_mode})", evaluate(pipeline, docs), misses=args.misses)


if __name__ == "__main__":
    main()
