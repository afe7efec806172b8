"""Cheap candidate finding: which text blocks go to Presidio, and with which recognizers.

Each entity's anchors come from the entity registry (``scanner.detect.entities``): whole words
and fragments (one Aho-Corasick automaton), regex patterns, digit-run shapes, and markers a block
must also hold (a date shape for a date of birth, a house number for a street). They run once
over a chunk's text; each hit is assigned to its block (paragraph) and turned into the set of
Presidio entity types worth looking for there. A block with an empty set never reaches Presidio;
a block without digits never runs the phone recognizer; a block without "@" never runs the
e-mail recognizer. Entity types without an anchor (custom recognizers) are looked for everywhere.

The anchors are a superset of what the recognizers can match: they may send a block that
yields nothing, never skip one that would have matched (see ``tests/detect/test_prefilter.py``).
NER is decided later, from the pattern results (see pipeline.py).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import ahocorasick

from scanner.detect.entities import REGISTRY, EntityKind, Marker

_DIGIT_RUN = re.compile(r"[+(]?\d(?:[\d \-.()/\u2010-\u2015]*\d)?")
_DIGIT = re.compile(r"\d")
_DATE_SHAPE = re.compile(
    r"\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}|\b\d{1,2}\s+[A-Za-z]{3}|[A-Za-z]{3}[a-z]*\.?\s+\d{1,2},?\s+\d{4}"
)
_HOUSE_NUMBER = re.compile(r"\b\d{1,5}[a-z]?\s+[A-Za-z]")
CONTEXT_BEFORE = 200  # chars: a superset of Presidio's context window (6 tokens before, 2 after)
CONTEXT_AFTER = 60


def context_near(lowered: str, start: int, end: int, words: tuple[str, ...]) -> bool:
    """A context word (as a substring) within ``CONTEXT_BEFORE``/``CONTEXT_AFTER`` chars of a span."""
    near = lowered[max(0, start - CONTEXT_BEFORE): end + CONTEXT_AFTER]
    return any(w in near for w in words)


@dataclass(frozen=True)
class BlockPlan:
    """A block of a chunk's text and the entity types worth running recognizers for there."""

    start: int
    end: int
    entities: frozenset[str]


class Prefilter:
    """``context``: per entity type whose anchor needs one (a phone number: Presidio's phone score
    0.4 is below its minimum 0.5 without a context word), the recognizer's context words; a digit
    run is then a candidate only with one of them nearby (``context_near``: a superset of
    Presidio's window). ``phone_context`` is the same for PHONE_NUMBER alone.
    ``always``: entity types looked for in every block. ``kinds``: default, every registered one."""

    def __init__(self, phone_context: tuple[str, ...] | None = None, always: frozenset[str] = frozenset(),
                 context: Mapping[str, tuple[str, ...]] | None = None,
                 kinds: Iterable[EntityKind] | None = None) -> None:
        self._context = dict(context or {})
        if phone_context is not None:
            self._context["PHONE_NUMBER"] = phone_context
        #: entity types with no anchor here (custom recognizers): looked for in every block
        self._always = always
        kinds = list(REGISTRY.values() if kinds is None else kinds)
        self._digit_rules = [(k.name, k.anchor.digits, k.anchor.context, k.anchor.free) for k in kinds
                             if k.anchor is not None and k.anchor.digits is not None]
        self._patterns = [(k.name, re.compile(k.anchor.pattern)) for k in kinds
                          if k.anchor is not None and k.anchor.pattern]
        self._needs = {k.name: k.anchor.needs for k in kinds if k.anchor is not None and k.anchor.needs}
        words: dict[str, tuple[tuple[str, ...], bool]] = {}
        for k in kinds:
            if k.anchor is None:
                continue
            for w, whole in [(w, True) for w in k.anchor.words] + [(w, False) for w in k.anchor.fragments]:
                prev = words.get(w)
                words[w] = ((prev[0] if prev else ()) + (k.name,), whole and (prev[1] if prev else True))
        self._ac = ahocorasick.Automaton()
        for word, (entities, whole) in words.items():
            self._ac.add_word(word, (len(word), entities, whole))
        self._has_words = bool(words)
        if words:
            self._ac.make_automaton()

    def _word_hits(self, lowered: str) -> list[tuple[int, tuple[str, ...]]]:
        out: list[tuple[int, tuple[str, ...]]] = []
        if not self._has_words:
            return out
        n = len(lowered)
        for end_idx, (length, entities, whole) in self._ac.iter(lowered):
            start = end_idx - length + 1
            if whole and ((start > 0 and lowered[start - 1].isalnum())
                          or (end_idx + 1 < n and lowered[end_idx + 1].isalnum())):
                continue
            out.append((start, entities))
        return out

    def plan(self, text: str, spans: list[tuple[int, int]], context_free: frozenset[str] = frozenset()
             ) -> list[BlockPlan]:
        """For each (start, end) block of ``text``: the entity types its anchors call for.
        ``context_free``: entity types whose context holds for the whole text (a list of phones)."""
        starts = [s for s, _ in spans]
        sets: list[set[str]] = [set() for _ in spans]
        markers: list[set[Marker]] = [set() for _ in spans]

        def block_of(pos: int) -> int:
            return bisect.bisect_right(starts, pos) - 1

        def note(start: int, end: int, entities: Iterable[str]) -> None:
            i = block_of(start)
            sets[i].update(entities)
            j = block_of(end - 1)  # a match can straddle a block boundary: the block where it ends needs it too
            if j != i:
                sets[j].update(entities)

        lowered = text.lower()
        for m in _DIGIT_RUN.finditer(text):
            run = m.group()
            n = len(_DIGIT.findall(run))
            i = block_of(m.start())
            markers[i].add(Marker.DIGIT)
            hit = [name for name, rule, needs_context, free in self._digit_rules if rule(run, n) and (
                not needs_context or name not in self._context or name in context_free
                or (free is not None and free(run))
                or context_near(lowered, m.start(), m.end(), self._context[name]))]
            if hit:
                note(m.start(), m.end(), hit)
            if n >= 4 and _DATE_SHAPE.search(text, max(0, m.start() - 12), m.end() + 12):
                markers[i].add(Marker.DATE)
            if n <= 5 and _HOUSE_NUMBER.match(text, m.start()):
                markers[i].add(Marker.HOUSE)
        for name, pattern in self._patterns:
            for m in pattern.finditer(text):
                note(m.start(), max(m.end(), m.start() + 1), (name,))
        for start, entities in self._word_hits(lowered):
            sets[block_of(start)].update(entities)
        out = []
        for (s, e), found, marks in zip(spans, sets, markers, strict=True):
            found |= self._always
            for name, marker in self._needs.items():
                if name in found and marker not in marks and name not in self._always:
                    found.discard(name)
            out.append(BlockPlan(s, e, frozenset(found)))
        return out


def anchored_entities() -> frozenset[str]:
    """Entity types the registry has anchors for (others must be looked for everywhere)."""
    return frozenset(name for name, k in REGISTRY.items() if k.anchor is not None)


def blocks(text: str, max_block: int = 1500) -> list[tuple[int, int]]:
    """(start, end) spans of paragraphs; long paragraphs are cut on line/space boundaries."""
    spans: list[tuple[int, int]] = []
    pos = 0
    n = len(text)
    while pos < n:
        cut = text.find("\n\n", pos)
        end = n if cut == -1 else cut + 2
        while end - pos > max_block:
            split = text.rfind("\n", pos + max_block // 2, pos + max_block)
            if split == -1:
                split = text.rfind(" ", pos + max_block // 2, pos + max_block)
            split = pos + max_block if split == -1 else split + 1
            spans.append((pos, split))
            pos = split
        if end > pos:
            spans.append((pos, end))
        pos = end
    return spans
