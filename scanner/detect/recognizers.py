"""Recognizers and settings built from rules/ data (no patterns live in code).

* ``DetectorSettings.load(rules/detectors/detectors.yaml)``: named detectors, per-entity minimum
  scores, overlap priority, placeholder/sample-data allow lists.
* ``DictionaryMatcher``: client names and project codenames from ``rules/dictionaries/*.txt``,
  Aho-Corasick, whole words only, ALL-CAPS terms case-sensitive, others case-insensitive
  (entity ``CLIENT_CODENAME``).
* Presidio pattern recognizers come from ``rules/presidio/recognizers.yaml`` (see analyzer.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ahocorasick
import yaml

from scanner.detect.entities import Placeholders

__all__ = ["DetectorSettings", "DetectorSpec", "DictionaryMatcher", "Placeholders",
           "read_terms"]

@dataclass(frozen=True)
class DetectorSpec:
    name: str
    categories: tuple[str, ...]
    entities: tuple[str, ...] = ()
    min_count: int = 1
    requires_person: bool = False
    params: dict[str, int] = field(default_factory=dict)
    type: str = "entities"  # how it is evaluated: scanner.detect.detector_types.DETECTOR_TYPES


@dataclass(frozen=True)
class DetectorSettings:
    detectors: dict[str, DetectorSpec]
    min_scores: dict[str, float]
    priority: dict[str, int]
    placeholders: Placeholders
    sensitive_detectors: tuple[str, ...]

    def min_score(self, entity: str) -> float:
        return self.min_scores.get(entity, self.min_scores.get("default", 0.5))

    @classmethod
    def load(cls, path: Path) -> DetectorSettings:
        with path.open(encoding="utf-8") as f:  # a stream: YAML errors name the file
            raw: dict[str, Any] = yaml.safe_load(f) or {}
        specs: dict[str, DetectorSpec] = {}
        for name, body in (raw.get("detectors") or {}).items():
            body = dict(body or {})
            dtype = str(body.pop("type", "entities"))
            specs[name] = DetectorSpec(
                name=name,
                categories=tuple(body.pop("categories", ())),
                entities=tuple(body.pop("entities", ())),
                min_count=int(body.pop("min_count", 1)),
                requires_person=bool(body.pop("requires_person", False)),
                params={k: int(v) for k, v in body.items()},
                type=dtype,
            )
        ph = raw.get("placeholders") or {}
        placeholders = Placeholders(
            email_domains=frozenset(d.lower() for d in ph.get("email_domains", ())),
            role_mailboxes=frozenset(d.lower() for d in ph.get("role_mailboxes", ())),
            persons=frozenset(p.lower() for p in ph.get("persons", ())),
            phone_patterns=tuple(re.compile(p) for p in ph.get("phone_patterns", ())),
            ssns=frozenset(re.sub(r"\D", "", s) for s in ph.get("ssns", ())),
            cards=frozenset(re.sub(r"\D", "", s) for s in ph.get("cards", ())),
            ibans=frozenset(re.sub(r"\s", "", s).upper() for s in ph.get("ibans", ())),
            sample_words=tuple(w.lower() for w in ph.get("sample_words", ())),
            business_words=tuple(w.lower() for w in ph.get("business_words", ())),
        )
        priority_list = list(raw.get("priority") or [])
        return cls(
            detectors=specs,
            min_scores={k: float(v) for k, v in (raw.get("min_scores") or {}).items()},
            priority={e: len(priority_list) - i for i, e in enumerate(priority_list)},
            placeholders=placeholders,
            sensitive_detectors=tuple(raw.get("sensitive_detectors") or specs.keys()),
        )


def read_terms(paths: Iterable[Path]) -> list[str]:
    terms: list[str] = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                terms.append(line)
    return terms


def _is_all_caps(term: str) -> bool:
    return any(c.isalpha() for c in term) and term == term.upper()


class DictionaryMatcher:
    """Whole-word multi-term search (Aho-Corasick: hundreds of MB/s, any number of terms).

    A term written in ALL CAPS in the dictionary (``KESTREL``) is a codename and matches only
    in capitals, so "a kestrel hovered" does not fire; any other term (``Halcyon Motors``)
    matches case-insensitively.
    """

    def __init__(self, terms: Iterable[str], entity: str = "CLIENT_CODENAME") -> None:
        self.entity = entity
        self._folded = ahocorasick.Automaton()  # lower-cased terms, searched in lower-cased text
        self._exact = ahocorasick.Automaton()  # ALL-CAPS terms, searched in the text as is
        folded = exact = 0
        for term in terms:
            words = " ".join(term.split())
            if not words:
                continue
            if _is_all_caps(words):
                self._exact.add_word(words, len(words))
                exact += 1
            else:
                key = words.lower()
                self._folded.add_word(key, len(key))
                folded += 1
        self.size = folded + exact
        if folded:
            self._folded.make_automaton()
        if exact:
            self._exact.make_automaton()
        self._has = (folded > 0, exact > 0)

    def find(self, text: str) -> Iterator[tuple[int, int]]:
        """(start, end) of each whole-word match, in text order."""
        if not self.size:
            return
        hits: list[tuple[int, int]] = []
        if self._has[0]:
            lowered = text.lower()
            if len(lowered) != len(text):  # exotic casing changed lengths; fold ASCII-safely
                lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
            hits.extend(self._whole_words(self._folded, lowered))
        if self._has[1]:
            hits.extend(self._whole_words(self._exact, text))
        yield from sorted(hits)

    @staticmethod
    def _whole_words(automaton: ahocorasick.Automaton, text: str) -> Iterator[tuple[int, int]]:
        n = len(text)
        for end_idx, length in automaton.iter(text):
            start = end_idx - length + 1
            end = end_idx + 1
            if (start == 0 or not text[start - 1].isalnum()) and (end == n or not text[end].isalnum()):
                yield start, end
