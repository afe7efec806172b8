"""The one entry point for content analysis: bytes → extract → prefilter → Presidio → detectors.

Usage (the scan orchestrator builds ONE pipeline per worker process and reuses it)::

    from scanner.detect.pipeline import ContentPipeline, DetectConfig
    from scanner.keys import ensure_key

    pipeline = ContentPipeline(DetectConfig.from_settings(settings), hmac_key=ensure_key(settings.evidence_key_path))
    result = pipeline.analyze_bytes(data, mime_type, name)   # -> ContentResult, never raises
    result = pipeline.analyze_path(Path("roster.xlsx"))       # MIME type from the extension
    result.hits  # [DetectorHit(detector="contractor_roster", categories=("contractor_pii",), ...)]

``DetectConfig`` fields: ``rules_dir`` (holds presidio/, detectors/, dictionaries/; default the
built-in one), ``dictionary_paths`` (default: ``rules_dir/dictionaries/*.txt``), ``nlp_mode``
(``auto`` | ``spacy`` | ``pattern-only``), ``limits`` (``ExtractLimits``), ``ner_gating``.
``DetectConfig.from_settings(settings)`` builds it from ``scanner.config.Settings``.

Per document: extract → table structure + dictionary → one-pass prefilter (regex + Aho-Corasick)
picks, per paragraph block, the entity types worth looking for → Presidio pattern recognizers on
those blocks only, restricted to those types (one tokenizer batch per document) → spaCy NER
(``nlp.pipe``, one batch) only on blocks ± one where a person-linked value was found → detectors.
Results never carry raw values: masked previews and HMAC-SHA256 hashes under ``hmac_key``.
"""

from __future__ import annotations

import bisect
import logging
import mimetypes
import re
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from scanner.config import Settings
from scanner.content.extract import Chunk, ExtractLimits, ExtractResult, extract
from scanner.content.extract_base import SkipKind
from scanner.core.resources import builtin_rules_dir
from scanner.detect.analyzer import Analyzer, NlpMode
from scanner.detect.detectors import STRUCTURE, Aggregator, Found
from scanner.detect.entities import AMOUNT, kind, person_data_types, roster_contact_types
from scanner.detect.models import ContentResult, InputError
from scanner.detect.prefilter import BlockPlan, Prefilter, anchored_entities, blocks
from scanner.detect.recognizers import DetectorSettings, DictionaryMatcher, read_terms
from scanner.detect.records import (
    Record,
    RecordKind,
    RecordMap,
    prose_names,
    record_candidate,
    table_records,
    text_records,
    text_tables,
)
from scanner.detect.regexguard import DEFAULT_SECONDS
from scanner.detect.structure import TableFacts, analyse_table, field_entity

log = logging.getLogger(__name__)
_PHONE_RUN = re.compile(r"(?:\+|\()?\d{1,4}\)?[ \-./]+\d[\d \-.()/]{4,}\d")  # a formatted number
_LETTERS = re.compile(r"[^\W\d_]{2}")
LIST_LINE_CHARS = 300  # list lines are short; prose paragraphs are not looked at


def list_lines(text: str, value: re.Pattern[str], enough: int = 3) -> bool:
    """``enough`` short lines that hold letters and ``value`` (a phone-shaped number, an amount):
    a list of names with phone numbers, or of names with amounts."""
    count = 0
    pos, n = 0, len(text)
    while pos < n:
        end = text.find("\n", pos)
        end = n if end == -1 else end
        if end - pos <= LIST_LINE_CHARS:
            m = value.search(text, pos, end)
            if m is not None and _LETTERS.search(text, pos, m.start()) is not None:
                count += 1
                if count >= enough:
                    return True
        pos = end + 1
    return False


_LABEL_PREFIX = re.compile(r"[^:,]*?(?:[:,]\s*|\b(?:dear|holder)\s+)", re.IGNORECASE)

SEGMENT_CHARS = 8_000  # consecutive anchored blocks analysed in one Presidio / spaCy call
PERSON_LINKED = person_data_types()
#: person data whose name may stand anywhere near it in prose: NER runs around these (bank data
#: links only within its own record, where the layout names the person)
NER_TRIGGERS = frozenset(n for n in PERSON_LINKED if kind(n).window_link)
MAX_DETECTIONS = 2_000
LIST_CONTEXT_BOOST = 0.35  # what a context word adds (Presidio's similarity factor in nlp.yaml)
MIN_LIST = 3  # records with a name beside an e-mail/phone/rate that make a list (names kept without e-mail agreement)


def default_rules_dir() -> Path:
    """The built-in rules directory (works from a source tree and from an installed wheel)."""
    return builtin_rules_dir()


@dataclass
class DetectConfig:
    rules_dir: Path = field(default_factory=default_rules_dir)
    dictionary_paths: list[Path] | None = None
    nlp_mode: NlpMode = "auto"
    limits: ExtractLimits = field(default_factory=ExtractLimits)
    ner_gating: bool = True  # NER only on blocks (± one) where a person-linked value was found
    regex_timeout: float = DEFAULT_SECONDS  # time bound of each recognizer pattern per text segment

    def dictionaries(self) -> list[Path]:
        if self.dictionary_paths is not None:
            return list(self.dictionary_paths)
        return sorted((self.rules_dir / "dictionaries").glob("*.txt"))

    @classmethod
    def from_settings(cls, settings: Settings) -> DetectConfig:
        """The scan's configuration: ``[detect] nlp``, ``[rules]`` dictionaries and ``[limits]``.

        The Presidio/detector configuration always comes from the built-in rules directory;
        ``rules.include_builtin = false`` drops the built-in dictionaries only. Dictionaries:
        built-in ones, then ``dictionaries/*.txt`` of each ``rules.directories`` entry, then
        ``rules.dictionaries`` files.
        """
        rules_dir = builtin_rules_dir()
        paths: list[Path] = sorted((rules_dir / "dictionaries").glob("*.txt")) if settings.rules.include_builtin else []
        for directory in settings.rules.directories:
            paths.extend(sorted((Path(directory).expanduser() / "dictionaries").glob("*.txt")))
        paths.extend(Path(p).expanduser() for p in settings.rules.dictionaries)
        limits = settings.limits
        return cls(
            rules_dir=rules_dir,
            dictionary_paths=paths,
            nlp_mode=settings.detect.nlp,
            regex_timeout=settings.detect.regex_timeout_seconds,
            limits=ExtractLimits(
                max_bytes=limits.max_download_bytes,
                max_chars=limits.max_text_chars,
                max_pages=limits.max_pages,
                max_cells=limits.max_cells,
            ),
        )


class ContentPipeline:
    def __init__(self, config: DetectConfig, hmac_key: bytes) -> None:
        if len(hmac_key) < 16:
            raise ValueError("hmac_key must be at least 16 bytes")
        self.config = config
        rules = config.rules_dir
        self.settings = DetectorSettings.load(rules / "detectors" / "detectors.yaml")
        self.analyzer = Analyzer(
            rules / "presidio" / "recognizers.yaml", rules / "presidio" / "nlp.yaml", config.nlp_mode,
            phone_min_score=self.settings.min_score("PHONE_NUMBER"), regex_timeout=config.regex_timeout,
        )
        self.dictionary = DictionaryMatcher(read_terms(config.dictionaries()))
        self.prefilter = Prefilter(phone_context=self.analyzer.phone_context,
                                   always=self.analyzer.entities - anchored_entities())
        self.aggregator = Aggregator(self.settings, hmac_key)
        self._stop_words = frozenset(self.analyzer.nlp_engine.stop_words)
        self.stats = {"blocks": 0, "blocks_pattern": 0, "chars_pattern": 0, "blocks_ner": 0, "chars_ner": 0}

    @property
    def nlp_mode(self) -> str:
        return self.analyzer.mode

    def analyze_path(self, path: Path | str) -> ContentResult:
        p = Path(path)
        mime = mimetypes.guess_type(p.name)[0] or ""
        try:
            too_large = self.config.limits.size_refusal(p.stat().st_size)
            if too_large is not None:  # refused before reading it into memory
                return ContentResult(analysed=False, skip_reason=too_large, skip_kind=SkipKind.TOO_LARGE,
                                     nlp_mode=self.nlp_mode)
            data = p.read_bytes()
        except FileNotFoundError:
            return ContentResult(analysed=False, skip_reason="not analysed: file not found", nlp_mode=self.nlp_mode,
                                 input_error=InputError.NOT_FOUND)
        except OSError as exc:
            return ContentResult(
                analysed=False, skip_reason=f"not analysed: unreadable ({type(exc).__name__})",
                nlp_mode=self.nlp_mode, input_error=InputError.UNREADABLE,
            )
        return self.analyze_bytes(data, mime, p.name)

    def analyze_bytes(self, data: bytes, mime_type: str, name: str = "") -> ContentResult:
        return self.analyze_extracted(extract(data, mime_type, name, self.config.limits))

    def analyze_extracted(self, extracted: ExtractResult) -> ContentResult:
        """Detection on text already extracted (``scanner.content.extract.extract``): what
        ``analyze_bytes`` does after extraction; benchmarks/bench_detect.py times it on the same
        text plain Presidio gets. Never raises."""
        if not extracted.ok:
            return ContentResult(
                analysed=False, skip_reason=extracted.reason, skip_kind=extracted.skip,
                bytes_read=extracted.bytes_read, nlp_mode=self.nlp_mode,
            )
        try:
            return self._analyse_chunks(extracted.chunks, extracted.bytes_read, extracted.truncated)
        except Exception as exc:  # a recognizer bug must not kill a scan
            # the frames say where; the exception's message may quote document text, so it is left out
            log.error("content analysis failed (%s)\n%s", type(exc).__name__,
                      "".join(traceback.format_tb(exc.__traceback__)), extra={"error": type(exc).__name__})
            return ContentResult(
                analysed=False,
                skip_reason=f"not analysed: detector error ({type(exc).__name__})",
                bytes_read=extracted.bytes_read,
                nlp_mode=self.nlp_mode,
            )

    # ------------------------------------------------------------------ internals
    def _analyse_chunks(self, chunks: list[Chunk], bytes_read: int, truncated: bool) -> ContentResult:
        self.analyzer.regex_guard.begin()
        found: list[Found] = []
        tables: dict[int, TableFacts] = {}
        plans: dict[int, list[BlockPlan]] = {}
        phone_lists: set[int] = set()
        pay_lists: set[int] = set()
        text_rows: dict[int, list[Record]] = {}  # rows of headed tables laid out in flat text
        header_spans: list[tuple[int, int, int]] = []  # (chunk, start, end) of those tables' header rows
        for idx, chunk in enumerate(chunks):
            if chunk.rows is not None:
                facts = analyse_table(chunk.rows)
                tables[idx] = facts
                found.extend(self._structure_found(idx, chunk.rows, chunk.cell_starts, facts))
            else:
                for tt in text_tables(chunk.text):
                    facts = analyse_table(tt.rows)
                    if facts.header_row is None:
                        continue
                    found.extend(self._structure_found(idx, tt.rows, tt.cell_starts, facts))
                    rows = table_records(tt.rows, tt.cell_starts, tt.end, True)
                    text_rows.setdefault(idx, []).extend(rows)
                    if facts.header_row < len(rows):
                        header = rows[facts.header_row]
                        header_spans.append((idx, header.start, header.end))
            for start, end in self.dictionary.find(chunk.text):
                found.append(Found(self.dictionary.entity, 1.0, idx, start, end, chunk.text[start:end],
                                   "dictionary", chunk.row_at(start)))
            phone_list = list_lines(chunk.text, _PHONE_RUN, MIN_LIST)
            if phone_list:
                phone_lists.add(idx)
            if list_lines(chunk.text, AMOUNT, MIN_LIST):
                pay_lists.add(idx)
            plans[idx] = self.prefilter.plan(chunk.text, blocks(chunk.text),
                                             context_free=frozenset({"PHONE_NUMBER"}) if phone_list else frozenset())
            self.stats["blocks"] += len(plans[idx])
        patterns = self._patterns(chunks, plans, phone_lists)
        found.extend(patterns)
        records = {idx: self._records(chunk, tables.get(idx), text_rows.get(idx, []))
                   for idx, chunk in enumerate(chunks)}
        found.extend(self._record_persons(chunks, records, tables, found, pay_lists))
        if self.analyzer.ner_enabled:
            found.extend(self._vouch(self._ner(chunks, plans, tables, patterns), records, chunks, found))
        found = [f for f in found if not _header_label(f, tables) and not (
            f.entity == "PERSON" and f.recognizer != STRUCTURE
            and any(i == f.chunk and a <= f.start < b for i, a, b in header_spans))]
        for f in found:
            f.record = records[f.chunk].at(f.start)
        kept = self.aggregator.filter(found, chunks, records)
        hits = self.aggregator.hits(kept, chunks, tables, records)
        detections = [self.aggregator.to_detection(f, chunks) for f in kept[:MAX_DETECTIONS]]
        return ContentResult(
            analysed=True,
            bytes_read=bytes_read,
            chars_analysed=sum(len(c.text) for c in chunks),
            truncated=truncated,
            detections=detections,
            hits=hits,
            nlp_mode=self.nlp_mode,
            partial=self.analyzer.regex_guard.reasons,
        )

    @staticmethod
    def _records(chunk: Chunk, facts: TableFacts | None, table_rows: list[Record]) -> RecordMap:
        if chunk.rows is not None:
            has_header = facts is not None and facts.header_row is not None
            return RecordMap(table_records(chunk.rows, chunk.cell_starts, len(chunk.text), has_header))
        skip = [(r.start, r.end) for r in table_rows]
        return RecordMap(text_records(chunk.text, skip) + table_rows)

    def _record_persons(self, chunks: list[Chunk], records: dict[int, RecordMap], tables: dict[int, TableFacts],
                        found: list[Found], pay_lists: set[int] | None = None) -> list[Found]:
        """PERSONs the layout vouches for: a form's name field, and the name beside the e-mail /
        phone / pay rate of a list line or headerless row (kept when the e-mail spells it, or when
        the chunk holds ``MIN_LIST`` such records). In a pay list (lines of a name or a contact and
        amounts), the amounts on those lines are pay rates (as a "rate" context word would make them)."""
        contact_types = roster_contact_types()
        by_record: dict[tuple[int, int], list[Found]] = {}
        for f in found:
            rmap = records[f.chunk]
            r = rmap.at(f.start)
            if r is not None:
                by_record.setdefault((f.chunk, r), []).append(f)
        out: list[Found] = []
        for idx, rmap in records.items():
            chunk = chunks[idx]
            facts = tables.get(idx)
            headed = facts is not None and facts.header_row is not None
            candidates: list[tuple[Record, int, int, bool]] = []
            pending_rates: list[Found] = []
            pay_lines = 0
            for r, record in enumerate(rmap.records):
                items = by_record.get((idx, r), [])
                if record.kind is RecordKind.FORM:
                    for fld in record.fields:
                        value = chunk.text[fld.start:fld.end]
                        if fld.role == "name":
                            if value.strip() and not any(c.isdigit() for c in value) and "@" not in value:
                                out.append(Found("PERSON", 0.7, idx, fld.start, fld.end, value, STRUCTURE,
                                                 chunk.row_at(fld.start)))
                            continue
                        entity = field_entity(fld.role, fld.label, value)
                        if entity is not None:
                            out.append(Found(entity, 0.7, idx, fld.start, fld.end, value, STRUCTURE,
                                             chunk.row_at(fld.start)))
                    continue
                if record.kind is RecordKind.ROW and chunk.rows is None:
                    continue  # a row of a headed table in flat text: its columns say who is who
                pay_list = idx in (pay_lists or ())
                if headed:
                    continue
                listed_value = any(f.entity in contact_types or f.entity == "PAY_RATE" for f in items
                                   if f.score >= self.settings.min_score(f.entity)
                                   or (pay_list and f.entity == "PAY_RATE"))
                emails = [f.value for f in items if f.entity == "EMAIL_ADDRESS"]
                taken = [(f.start, f.end) for f in items if f.entity != "PERSON"]
                cand = record_candidate(chunk.text, record, taken, emails) if listed_value else None
                contact_line = any(f.entity in contact_types and f.score >= self.settings.min_score(f.entity)
                                   for f in items)
                if pay_list and (cand is not None or contact_line):  # a list line of a person and amounts
                    pay_lines += 1
                    floor = self.settings.min_score("PAY_RATE")
                    pending_rates.extend(f for f in items if f.entity == "PAY_RATE" and f.score < floor)
                if cand is not None:
                    candidates.append((record, cand.start, cand.end, cand.agrees))
                elif self._holds_person_data(items, chunk.text):  # e-mail, phone, address, date of birth
                    real = [f.value for f in items if f.entity == "EMAIL_ADDRESS"
                            and not self.aggregator.placeholder(f, chunk.text)]
                    for s, e in prose_names(chunk.text, record.start, min(record.end, len(chunk.text)), taken,
                                            real, self._stop_words):
                        out.append(Found("PERSON", 0.65, idx, s, e, chunk.text[s:e], STRUCTURE, None))
            listed = len(candidates) >= MIN_LIST
            if pay_lines >= MIN_LIST:
                for f in pending_rates:
                    f.score = min(f.score + LIST_CONTEXT_BOOST, 1.0)
            pending_rates.clear()
            for _record, s, e, agrees in candidates:
                if agrees or listed:
                    out.append(Found("PERSON", 0.7, idx, s, e, chunk.text[s:e], STRUCTURE, chunk.row_at(s)))
        return out

    def _holds_person_data(self, items: list[Found], text: str) -> bool:
        """A real (not sample, not role) person's e-mail, phone, address or date of birth."""
        return any(f.entity in NER_TRIGGERS and f.entity != "PAY_RATE" and f.score >= self.settings.min_score(f.entity)
                   and not self.aggregator.placeholder(f, text) for f in items)

    def _vouch(self, persons: list[Found], records: dict[int, RecordMap], chunks: list[Chunk],
               found: list[Found]) -> list[Found]:
        """A one-word name NER found on the line of a person's e-mail or phone is kept."""
        lines: dict[tuple[int, int], list[Found]] = {}
        for f in found:
            r = records[f.chunk].at(f.start)
            if r is not None:
                lines.setdefault((f.chunk, r), []).append(f)
        for p in persons:
            r = records[p.chunk].at(p.start)
            if (r is not None and len(p.value.split()) == 1
                    and self._holds_person_data(lines.get((p.chunk, r), []), chunks[p.chunk].text)):
                p.vouched = True
        return persons

    @staticmethod
    def _structure_found(idx: int, rows: tuple[tuple[str, ...], ...], cell_starts: tuple[tuple[int, int, int], ...],
                         facts: TableFacts) -> list[Found]:
        if not facts.cells:
            return []
        where = {(r, c): off for off, r, c in cell_starts}
        out = []
        for entity, r, c in facts.cells:
            off = where.get((r, c))
            if off is None:
                continue
            value = rows[r][c]
            out.append(Found(entity, 0.7, idx, off, off + len(value), value, STRUCTURE, r))
        return out

    def _patterns(self, chunks: list[Chunk], plans: dict[int, list[BlockPlan]],
                  phone_lists: set[int] | None = None) -> list[Found]:
        """Phase 1: pattern recognizers, only on blocks with anchors, only the anchored entity types.
        A chunk that is a list of names with phone numbers is their context."""
        segments: list[tuple[int, int, int, frozenset[str]]] = []  # chunk, start, end, entities
        for idx, chunk_plans in plans.items():
            current: list[BlockPlan] = []
            for plan in [*chunk_plans, BlockPlan(-1, -1, frozenset())]:
                if current and (not plan.entities or plan.end - current[0].start > SEGMENT_CHARS):
                    wanted = frozenset().union(*(p.entities for p in current))
                    segments.append((idx, current[0].start, current[-1].end, wanted))
                    current = []
                if plan.entities:
                    current.append(plan)
                    self.stats["blocks_pattern"] += 1
        texts = [chunks[idx].text[s:e] for idx, s, e, _ in segments]
        self.stats["chars_pattern"] += sum(len(t) for t in texts)
        contexts: list[tuple[str, ...]] = [("phone",) if idx in (phone_lists or ()) else () for idx, *_ in segments]
        results = self.analyzer.analyze_patterns(texts, [w for *_, w in segments], contexts)
        out: list[Found] = []
        for (idx, start, _end, _w), res in zip(segments, results, strict=True):
            chunk = chunks[idx]
            text = chunk.text
            for r in res:
                s, e = start + r.start, start + r.end
                entity = r.entity_type
                if entity == "LABELLED_PERSON":  # keep only the name after the label
                    m = _LABEL_PREFIX.match(text, s, e)
                    s = m.end() if m else s
                    entity = "PERSON"
                out.append(Found(entity, float(r.score), idx, s, e, text[s:e],
                                 str((r.recognition_metadata or {}).get("recognizer_name", "")),
                                 chunk.row_at(s)))
        return out

    def _ner(self, chunks: list[Chunk], plans: dict[int, list[BlockPlan]], tables: dict[int, TableFacts],
             patterns: list[Found]) -> list[Found]:
        """Phase 2: spaCy NER (PERSON) only where a person-linked value was found (± one block).

        A name alone never makes a document sensitive; names matter next to contact data, pay
        rates, addresses and dates of birth. Tables with a name column already give PERSON cells.
        """
        need: dict[int, set[int]] = {}
        if self.config.ner_gating:
            starts = {idx: [p.start for p in chunk_plans] for idx, chunk_plans in plans.items()}
            for f in patterns:
                if f.entity in NER_TRIGGERS and f.score >= self.settings.min_score(f.entity):
                    i = bisect.bisect_right(starts[f.chunk], f.start) - 1
                    need.setdefault(f.chunk, set()).update((i - 1, i, i + 1))
        else:
            need = {idx: set(range(len(p))) for idx, p in plans.items()}
        segments: list[tuple[int, int, int]] = []
        for idx, wanted in need.items():
            facts = tables.get(idx)
            if facts is not None and facts.has_name_column:
                continue
            chunk_plans = plans[idx]
            run: list[BlockPlan] = []
            for i, plan in enumerate([*chunk_plans, None]):
                take = plan is not None and i in wanted
                if run and (not take or (plan is not None and plan.end - run[0].start > SEGMENT_CHARS)):
                    segments.append((idx, run[0].start, run[-1].end))
                    run = []
                if take and plan is not None:
                    run.append(plan)
                    self.stats["blocks_ner"] += 1
        texts = [chunks[idx].text[s:e] for idx, s, e in segments]
        self.stats["chars_ner"] += sum(len(t) for t in texts)
        out: list[Found] = []
        for (idx, start, _end), persons in zip(segments, self.analyzer.persons(texts), strict=True):
            chunk = chunks[idx]
            for s, e, score in persons:
                s, e = start + s, start + e
                out.append(Found("PERSON", score, idx, s, e, chunk.text[s:e], "SpacyRecognizer",
                                 chunk.row_at(s)))
        return out


def _header_label(found: Found, tables: dict[int, TableFacts]) -> bool:
    """A "name" in a table's header row is a column label ("Name  Email  Phone" read as
    "Name: Email Phone"), not a person: the header row holds no values."""
    facts = tables.get(found.chunk)
    return (found.entity == "PERSON" and facts is not None and facts.header_row is not None
            and found.row == facts.header_row)
