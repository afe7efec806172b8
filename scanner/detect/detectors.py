"""Entity occurrences → filtered, de-overlapped detections → named detector hits.

Raw values live only inside ``Found`` objects in this module's callers' stack frames; what
leaves is ``Detection``/``DetectorHit`` with masked previews and keyed hashes.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from dataclasses import dataclass

from scanner.detect.evidence import mask, normalise, value_hash
from scanner.detect.models import Detection, DetectorHit, EvidenceSummary, Location
from scanner.detect.recognizers import DetectorSettings
from scanner.detect.structure import TableFacts
from scanner.detect.validators import luhn_ok, secret_value_ok
from scanner.drive.extract import Chunk

PERSON_WINDOW = 400  # chars: PII this close to a PERSON is person-linked in flat text
SAMPLE_WINDOW = 300
STRUCTURE = "structure"
CONTACT_PII = frozenset({"EMAIL_ADDRESS", "PHONE_NUMBER", "STREET_ADDRESS", "DATE_OF_BIRTH"})


@dataclass
class Found:
    entity: str
    score: float
    chunk: int
    start: int
    end: int
    value: str  # raw: never leaves the detect package
    recognizer: str = ""
    row: int | None = None

    def __repr__(self) -> str:  # keep raw values out of logs and tracebacks
        return f"Found({self.entity}, {self.score:.2f}, chunk={self.chunk}, {self.start}-{self.end})"


class Aggregator:
    def __init__(self, settings: DetectorSettings, hmac_key: bytes) -> None:
        self.settings = settings
        self.key = hmac_key

    # ------------------------------------------------------------------ filtering
    def _placeholder(self, f: Found, text: str) -> bool:
        ph = self.settings.placeholders
        value = f.value
        if f.entity == "EMAIL_ADDRESS":
            local, _, domain = value.lower().rpartition("@")
            if local in ph.role_mailboxes:
                return True
            if domain in ph.email_domains or any(domain.endswith("." + d) for d in ph.email_domains):
                return True
            if domain.endswith((".example", ".test", ".invalid", ".localhost")):
                return True
        elif f.entity == "PERSON":
            if normalise("PERSON", value) in ph.persons:
                return True
        elif f.entity == "PHONE_NUMBER":
            digits = re.sub(r"\D", "", value)
            if any(p.search(value) or p.search(digits) for p in ph.phone_patterns):
                return True
        elif f.entity == "US_SSN":
            if re.sub(r"\D", "", value) in ph.ssns:
                return True
        elif f.entity == "CREDIT_CARD":
            if re.sub(r"\D", "", value) in ph.cards:
                return True
        elif f.entity == "IBAN_CODE" and re.sub(r"\s", "", value).upper() in ph.ibans:
            return True
        if f.entity in {"CREDIT_CARD", "US_SSN", "PHONE_NUMBER", "IBAN_CODE", "US_BANK_NUMBER",
                        "EMAIL_ADDRESS", "PERSON", "UK_NINO"}:
            window = text[max(0, f.start - SAMPLE_WINDOW): f.end + SAMPLE_WINDOW].lower()
            if any(w in window for w in ph.sample_words):
                return True
        return False

    def _valid(self, f: Found) -> bool:
        if f.score < self.settings.min_score(f.entity):
            return False
        if f.entity == "CREDIT_CARD":
            return luhn_ok(f.value)
        if f.entity == "GENERIC_SECRET":
            return secret_value_ok(f.value)
        if f.entity == "PERSON" and f.recognizer != STRUCTURE:
            words = [w for w in f.value.split() if any(c.isalpha() for c in w)]
            if len(words) < 2 or any(c.isdigit() for c in f.value) or "@" in f.value:
                return False
            if not all(w[:1].isupper() for w in words):
                return False
        return True

    def filter(self, found: list[Found], chunks: list[Chunk]) -> list[Found]:
        kept = [f for f in found if self._valid(f) and not self._placeholder(f, chunks[f.chunk].text)]
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
    def _person_linked(self, found: list[Found], chunks: list[Chunk], tables: dict[int, TableFacts]) -> set[int]:
        """ids of findings that sit next to a person (same table row / name-column table / window)."""
        linked: set[int] = set()
        person_rows: dict[int, set[int]] = defaultdict(set)
        person_starts: dict[int, list[int]] = defaultdict(list)  # every PERSON
        rowless_starts: dict[int, list[int]] = defaultdict(list)  # PERSON outside table cells
        contacts: dict[int, list[Found]] = defaultdict(list)
        for f in found:
            if f.entity == "PERSON":
                person_starts[f.chunk].append(f.start)
                if f.row is not None:
                    person_rows[f.chunk].add(f.row)
                else:
                    rowless_starts[f.chunk].append(f.start)
            elif f.entity in CONTACT_PII:
                contacts[f.chunk].append(f)
        for items in contacts.values():
            items.sort(key=lambda o: o.start)
        contact_starts = {idx: [o.start for o in items] for idx, items in contacts.items()}
        for group in (person_starts, rowless_starts):
            for starts in group.values():
                starts.sort()
        for f in found:
            if f.entity in CONTACT_PII and f.row is None:
                # a contact record (e.g. email + home address) is person-linked even without a name
                items = contacts[f.chunk]
                lo = bisect.bisect_left(contact_starts[f.chunk], f.start - PERSON_WINDOW)
                hi = bisect.bisect_right(contact_starts[f.chunk], f.start + PERSON_WINDOW)
                if any(items[k].entity != f.entity for k in range(lo, hi)):
                    linked.add(id(f))
                    continue
            facts = tables.get(f.chunk)
            if facts is not None and facts.has_name_column:
                linked.add(id(f))
                continue
            if f.row is not None and f.row in person_rows[f.chunk]:
                linked.add(id(f))
                continue
            # same row as a PERSON cell, else a PERSON within the window (rows compare only with rows)
            near = (person_starts if f.row is None else rowless_starts).get(f.chunk)
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

    def hits(self, found: list[Found], chunks: list[Chunk], tables: dict[int, TableFacts]) -> list[DetectorHit]:
        linked = self._person_linked(found, chunks, tables)
        hits: list[DetectorHit] = []
        for spec in self.settings.detectors.values():
            if spec.name == "contractor_roster":
                items = self._roster(spec.params, found, tables)
            else:
                items = [
                    f for f in found
                    if f.entity in spec.entities and (not spec.requires_person or id(f) in linked)
                ]
                if len(items) < spec.min_count:
                    items = []
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

    def _roster(self, params: dict[str, int], found: list[Found], tables: dict[int, TableFacts]) -> list[Found]:
        min_rows = params.get("min_rows", 3)
        min_persons = params.get("min_persons", 3)
        min_contacts = params.get("min_contacts", 3)
        by_chunk: dict[int, list[Found]] = defaultdict(list)
        for f in found:
            by_chunk[f.chunk].append(f)
        out: list[Found] = []
        for idx, items in by_chunk.items():
            facts = tables.get(idx)
            persons = {normalise("PERSON", f.value) for f in items if f.entity == "PERSON"}
            contacts = [f for f in items if f.entity in ("EMAIL_ADDRESS", "PHONE_NUMBER")]
            distinct_contacts = {normalise(f.entity, f.value) for f in contacts}
            table_roster = (
                facts is not None
                and facts.is_roster_shaped
                and facts.filled_rows >= min_rows
                and len(distinct_contacts) >= min_rows
            )
            if table_roster or (len(persons) >= min_persons and len(distinct_contacts) >= min_contacts):
                out.extend(f for f in items if f.entity in ("PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER"))
        return out
