"""Entity occurrences → filtered, de-overlapped detections → named detector hits.

Raw values live only inside ``Found`` objects in this module's callers' stack frames; what
leaves is ``Detection``/``DetectorHit`` with masked previews and keyed hashes. What an entity is
(validation, placeholders, whether it is a person's data) comes from the entity registry
(``scanner.detect.entities``); how a detector is evaluated from its ``type`` in detectors.yaml
(``scanner.detect.detector_types``).
"""

from __future__ import annotations

import bisect
from collections import defaultdict

from scanner.content.extract import Chunk
from scanner.detect.detector_types import DETECTOR_TYPES
from scanner.detect.entities import contact_record_types, kind
from scanner.detect.evidence import mask, normalise, value_hash
from scanner.detect.found import STRUCTURE, Evaluation, Found
from scanner.detect.models import Detection, DetectorHit, EvidenceSummary, Location
from scanner.detect.recognizers import DetectorSettings
from scanner.detect.records import RecordKind, RecordMap
from scanner.detect.structure import TableFacts

PERSON_WINDOW = 400  # chars: PII this close to a PERSON is person-linked in flat text
SAMPLE_WINDOW = 300

__all__ = ["STRUCTURE", "Aggregator", "DetectorConfigError", "Evaluation", "Found"]


class DetectorConfigError(ValueError):
    """detectors.yaml names a detector type that does not exist."""


class Aggregator:
    def __init__(self, settings: DetectorSettings, hmac_key: bytes) -> None:
        self.settings = settings
        self.key = hmac_key
        self.types = DETECTOR_TYPES
        for spec in settings.detectors.values():
            if spec.type not in DETECTOR_TYPES:
                raise DetectorConfigError(f"detector {spec.name!r}: unknown type {spec.type!r} "
                                          f"(one of {', '.join(sorted(DETECTOR_TYPES))})")

    # ------------------------------------------------------------------ filtering
    def placeholder(self, f: Found, text: str) -> bool:
        """A sample value (John Doe, 555-01xx, example.com, a role mailbox) or one near sample words."""
        ph = self.settings.placeholders
        entity = kind(f.entity)
        if entity.placeholder is not None and entity.placeholder(f.value, ph):
            return True
        if entity.sample_sensitive:
            window = text[max(0, f.start - SAMPLE_WINDOW): f.end + SAMPLE_WINDOW].lower()
            if any(w in window for w in ph.sample_words):
                return True
        if entity.business_sensitive and ph.business_words:
            line = text[text.rfind("\n", 0, f.start) + 1: (text.find("\n", f.end) + 1 or len(text) + 1) - 1].lower()
            if any(w in line for w in ph.business_words):
                return True
        return False

    def _valid(self, f: Found) -> bool:
        if f.score < self.settings.min_score(f.entity):
            return False
        check = kind(f.entity).validate
        return check is None or check(f.value, f.recognizer == STRUCTURE or f.vouched)

    def filter(self, found: list[Found], chunks: list[Chunk]) -> list[Found]:
        kept = [f for f in found if self._valid(f) and not self.placeholder(f, chunks[f.chunk].text)]
        # overlap priority: higher priority, then score, then longer span wins
        prio = self.settings.priority
        kept.sort(key=lambda f: (-prio.get(f.entity, 0), -f.score, -(f.end - f.start)))
        # taken spans per chunk never overlap: sorted starts + ends, one bisect per candidate
        taken_starts: dict[int, list[int]] = defaultdict(list)
        taken_ends: dict[int, list[int]] = defaultdict(list)
        out: list[Found] = []
        for f in kept:
            starts, ends = taken_starts[f.chunk], taken_ends[f.chunk]
            k = bisect.bisect_left(starts, f.end)  # spans at k.. start at/after f.end
            if k and ends[k - 1] > f.start:  # the last span starting before f.end reaches into f
                continue
            starts.insert(k, f.start)
            ends.insert(k, f.end)
            out.append(f)
        out.sort(key=lambda f: (f.chunk, f.start))
        return out

    # ------------------------------------------------------------------ aggregation
    def person_linked(self, found: list[Found], tables: dict[int, TableFacts],
                      records: dict[int, RecordMap] | None = None) -> set[int]:
        """ids of findings that are a person's data: in the record (table row, list line, form) of a
        PERSON, in a name-column table row with a name, two contact kinds side by side, or a PERSON
        within the window in flat text."""
        records = records or {}
        contact_kinds = contact_record_types()
        linked: set[int] = set()
        person_records: dict[int, set[int]] = defaultdict(set)
        person_starts: dict[int, list[int]] = defaultdict(list)  # every PERSON
        free_starts: dict[int, list[int]] = defaultdict(list)  # PERSON outside table rows
        contacts: dict[int, list[Found]] = defaultdict(list)
        record_kinds: dict[tuple[int, int], set[str]] = defaultdict(set)
        for f in found:
            if f.entity == "PERSON":
                person_starts[f.chunk].append(f.start)
                if f.record is not None:
                    person_records[f.chunk].add(f.record)
                if f.row is None:
                    free_starts[f.chunk].append(f.start)
            elif f.entity in contact_kinds:
                contacts[f.chunk].append(f)
                if f.record is not None:
                    record_kinds[(f.chunk, f.record)].add(f.entity)
        for items in contacts.values():
            items.sort(key=lambda o: o.start)
        contact_starts = {idx: [o.start for o in items] for idx, items in contacts.items()}
        for group in (person_starts, free_starts):
            for starts in group.values():
                starts.sort()
        for f in found:
            entity = kind(f.entity)
            if not entity.person_data:
                continue
            if f.record is not None and f.record in person_records[f.chunk]:
                linked.add(id(f))
                continue
            rmap = records.get(f.chunk)
            is_form = rmap is not None and f.record is not None and rmap.records[f.record].kind is RecordKind.FORM
            # a record (form, row) with two different contact kinds is a person's, named or not
            if (f.entity in contact_kinds and (is_form or f.row is not None) and f.record is not None
                    and len(record_kinds[(f.chunk, f.record)]) >= 2):
                linked.add(id(f))
                continue
            if f.entity in contact_kinds and f.row is None:
                # a contact record (e.g. email + home address) is person-linked even without a name
                items = contacts[f.chunk]
                lo = bisect.bisect_left(contact_starts[f.chunk], f.start - PERSON_WINDOW)
                hi = bisect.bisect_right(contact_starts[f.chunk], f.start + PERSON_WINDOW)
                if any(items[k].entity != f.entity for k in range(lo, hi)):
                    linked.add(id(f))
                    continue
            facts = tables.get(f.chunk)
            if f.row is not None and facts is not None and facts.header_row is not None:
                continue  # rows of a table with a header link through their own record only
            near = person_starts.get(f.chunk) if not is_form and entity.window_link else None
            if near:
                k = bisect.bisect_left(near, f.start - PERSON_WINDOW)
                if k < len(near) and near[k] <= f.start + PERSON_WINDOW:
                    linked.add(id(f))
        return linked

    def _location(self, f: Found, chunks: list[Chunk]) -> Location:
        chunk = chunks[f.chunk]
        return Location(
            part=chunk.part,
            cell=chunk.cell_at(f.start),
            start=chunk.base_offset + f.start,
            end=chunk.base_offset + f.end,
        )

    def to_detection(self, f: Found, chunks: list[Chunk]) -> Detection:
        return Detection(
            entity_type=f.entity,
            score=round(f.score, 3),
            location=self._location(f, chunks),
            masked_preview=mask(f.entity, f.value),
            value_hash=value_hash(self.key, f.entity, f.value),
            recognizer=f.recognizer,
        )

    def _summaries(self, found: list[Found], chunks: list[Chunk]) -> tuple[EvidenceSummary, ...]:
        by_type: dict[str, list[Found]] = defaultdict(list)
        for f in found:
            by_type[f.entity].append(f)
        out = []
        for entity, items in sorted(by_type.items()):
            best = max(items, key=lambda f: f.score)
            out.append(
                EvidenceSummary(
                    entity_type=entity,
                    count=len(items),
                    best_score=round(best.score, 3),
                    first_location=str(self._location(items[0], chunks)),
                    masked_preview=mask(entity, best.value),
                    value_hash=value_hash(self.key, entity, best.value),
                    distinct_values=len({normalise(entity, f.value) for f in items}),
                )
            )
        return tuple(out)

    def hits(self, found: list[Found], chunks: list[Chunk], tables: dict[int, TableFacts],
             records: dict[int, RecordMap] | None = None) -> list[DetectorHit]:
        ev = Evaluation(found, self.person_linked(found, tables, records), tables, records or {})
        hits: list[DetectorHit] = []
        for spec in self.settings.detectors.values():
            items = self.types[spec.type].evaluate(spec, ev)
            if items:
                hits.append(
                    DetectorHit(
                        detector=spec.name,
                        count=len(items),
                        best_score=round(max(f.score for f in items), 3),
                        evidence=self._summaries(items, chunks),
                        categories=spec.categories,
                    )
                )
        return hits
