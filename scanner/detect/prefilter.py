"""Cheap candidate finding: which text blocks go to Presidio, and with which recognizers.

One compiled regex (digits, ``@``, IBAN/NINO shapes, currency amounts) and one Aho-Corasick
automaton (context and marking words, token prefixes) run once over a chunk's text. Each hit is
assigned to its block (paragraph) and turned into the set of Presidio entity types worth
looking for there. A block with an empty set never reaches Presidio; a block without digits
never runs the phone recognizer; a block without "@" never runs the email recognizer.

The anchors are a superset of what the recognizers can match: they may send a block that
yields nothing, never skip one that would have matched (see ``tests/detect/test_prefilter.py``).
NER is decided later, from the pattern results (see pipeline.py).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

import ahocorasick

_ANCHOR = re.compile(
    r"(?P<email>@\w)"
    r"|(?P<digits>[+(]?\d(?:[\d \-.()/\u2010-\u2015]*\d)?)"
    r"|(?P<iban>(?i:(?<![A-Z0-9])[A-Z]{2}\d{2}[ -]?[A-Z0-9]{4}))"
    r"|(?P<nino>\b[A-Za-z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-Da-d]\b)"
    r"|(?P<passport>(?i:\b[A-Z]\d{8}\b))"
    r"|(?P<money>(?:[$£€]|\b(?:usd|gbp|eur|USD|GBP|EUR))\s?\d)"
)
_DIGIT = re.compile(r"\d")
# superset of Presidio's SSN / ITIN / 9-digit passport shapes
_NINE = re.compile(r"(?<!\d)(?:\d{3}[- .]?\d{2}[- .]?\d{4}|\d{5}-\d{4}|\d{3}-\d{6})(?!\d)")
_EIGHT_PLUS = re.compile(r"\d{8}")  # US bank account numbers: 8-17 digits in a row
_CLIENT_LINE = re.compile(r"^[ \t]*(?:client|customer|account)\s*(?:name)?\s*:", re.IGNORECASE | re.MULTILINE)
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

# word -> (entity types, whole word?)
_WORDS: dict[str, tuple[tuple[str, ...], bool]] = {}


def _add(entities: tuple[str, ...], words: tuple[str, ...], whole: bool = True) -> None:
    for w in words:
        prev = _WORDS.get(w)
        _WORDS[w] = ((prev[0] if prev else ()) + entities, whole)


_add(("DATE_OF_BIRTH",), ("dob", "d.o.b", "birth", "born", "birthday", "date of birth", "birthdate"))
_add(("STREET_ADDRESS",), ("street", "st", "avenue", "ave", "road", "rd", "lane", "ln", "drive", "dr",
                           "boulevard", "blvd", "court", "ct", "way", "place", "pl", "terrace", "close",
                           "crescent", "square"))
_add(("CONFIDENTIAL_MARKING",), ("confidential", "internal use", "do not distribute", "do not forward",
                                 "do not share", "privilege", "privileged"))
_add(("NDA_LANGUAGE",), ("nda", "non-disclosure", "nondisclosure", "confidentiality agreement"))
_add(("LABELLED_PERSON",), ("name", "contractor", "employee", "candidate", "holder", "cardholder", "dear"))
_add(("AWS_ACCESS_KEY",), ("akia", "asia", "abia", "acca"), whole=False)
_add(("GITHUB_TOKEN",), ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"), whole=False)
_add(("SLACK_TOKEN",), ("xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-", "hooks.slack.com"), whole=False)
_add(("GOOGLE_API_KEY",), ("aiza",), whole=False)
_add(("PRIVATE_KEY",), ("private key",))
_add(("GENERIC_SECRET",), ("api_key", "api-key", "apikey", "api_secret", "api-secret", "apisecret",
                           "secret_key", "secret-key", "secretkey", "access_token", "access-token",
                           "accesstoken", "auth_token", "auth-token", "authtoken", "client_secret",
                           "client-secret", "clientsecret", "password", "passwd"), whole=False)
_add(("PAY_RATE",), ("usd", "gbp", "eur"))


@dataclass(frozen=True)
class BlockPlan:
    """A block of a chunk's text and the entity types worth running recognizers for there."""

    start: int
    end: int
    entities: frozenset[str]


class Prefilter:
    """``phone_context``: when phone numbers need a context word to reach their minimum score
    (Presidio's phone score 0.4 < min 0.5), a digit run is a phone candidate only with one of
    these words nearby (``context_near``: a superset of Presidio's window)."""

    def __init__(self, phone_context: tuple[str, ...] | None = None, always: frozenset[str] = frozenset()) -> None:
        self._phone_context = phone_context
        #: entity types with no anchor here (custom recognizers): looked for in every block
        self._always = always
        self._ac = ahocorasick.Automaton()
        for word, (entities, whole) in _WORDS.items():
            self._ac.add_word(word, (len(word), entities, whole))
        self._ac.make_automaton()

    def _word_hits(self, lowered: str) -> list[tuple[int, tuple[str, ...]]]:
        out = []
        n = len(lowered)
        for end_idx, (length, entities, whole) in self._ac.iter(lowered):
            start = end_idx - length + 1
            if whole and ((start > 0 and lowered[start - 1].isalnum())
                          or (end_idx + 1 < n and lowered[end_idx + 1].isalnum())):
                continue
            out.append((start, entities))
        return out

    def plan(self, text: str, spans: list[tuple[int, int]]) -> list[BlockPlan]:
        """For each (start, end) block of ``text``: the entity types its anchors call for."""
        starts = [s for s, _ in spans]
        sets: list[set[str]] = [set() for _ in spans]

        def block_of(pos: int) -> int:
            return bisect.bisect_right(starts, pos) - 1

        lowered = text.lower()
        for m in _ANCHOR.finditer(text):
            kind = m.lastgroup
            i = block_of(m.start())
            target = sets[i]
            if kind == "email":
                target.add("EMAIL_ADDRESS")
            elif kind == "digits":
                run = m.group()
                n = len(_DIGIT.findall(run))
                if n >= 7:
                    if self._phone_context is None or context_near(
                        lowered, m.start(), m.end(), self._phone_context
                    ):
                        target.add("PHONE_NUMBER")
                    if _NINE.search(run):
                        target.update(("US_SSN", "US_ITIN", "US_PASSPORT"))
                    if _EIGHT_PLUS.search(run):
                        target.add("US_BANK_NUMBER")
                    if n >= 13:
                        target.add("CREDIT_CARD")
                if n >= 4 and _DATE_SHAPE.search(text, max(0, m.start() - 12), m.end() + 12):
                    target.add("_DATE")
                if n <= 5 and _HOUSE_NUMBER.match(text, m.start()):
                    target.add("_HOUSE")
            elif kind == "iban":
                target.add("IBAN_CODE")
            elif kind == "nino":
                target.add("UK_NINO")
            elif kind == "passport":
                target.add("US_PASSPORT")
            elif kind == "money":
                target.add("PAY_RATE")
            # a match can straddle a block boundary: the block where it ends needs it too
            j = block_of(m.end() - 1)
            if j != i:
                sets[j].update(target)
        for start, entities in self._word_hits(lowered):
            sets[block_of(start)].update(entities)
        for m in _CLIENT_LINE.finditer(text):
            sets[block_of(m.start())].add("CLIENT_REFERENCE")
        out = []
        for (s, e), found in zip(spans, sets, strict=True):
            found |= self._always
            # dates and street names only matter next to their numbers
            if "DATE_OF_BIRTH" in found and "_DATE" not in found:
                found.discard("DATE_OF_BIRTH")
            if "STREET_ADDRESS" in found and "_HOUSE" not in found:
                found.discard("STREET_ADDRESS")
            if "PAY_RATE" in found and not _DIGIT.search(text, s, e):
                found.discard("PAY_RATE")
            found.discard("_DATE")
            found.discard("_HOUSE")
            out.append(BlockPlan(s, e, frozenset(found)))
        return out


def anchored_entities() -> frozenset[str]:
    """Entity types this prefilter has anchors for (others must be looked for everywhere)."""
    found = {e for entities, _ in _WORDS.values() for e in entities}
    found.update(("EMAIL_ADDRESS", "PHONE_NUMBER", "US_SSN", "US_ITIN", "US_PASSPORT", "US_BANK_NUMBER",
                  "CREDIT_CARD", "IBAN_CODE", "UK_NINO", "PAY_RATE", "CLIENT_REFERENCE"))
    return frozenset(e for e in found if not e.startswith("_"))


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
