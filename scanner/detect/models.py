"""Typed results of content analysis. They carry no raw matched values.

A ``Detection`` is one matched entity occurrence, already reduced to what may be stored:
type, score, location, a masked preview and a keyed hash. ``DetectorHit`` is a named
detector (as rules reference them: ``contractor_roster``, ``client_codename``...) that fired
for a document, with the aggregated evidence. ``ContentResult`` is what the pipeline returns
for one document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from scanner.content.extract_base import SkipKind


@dataclass(frozen=True)
class Location:
    """Where in a document: page/sheet/slide, cell, character offset within that part."""

    part: str = ""  # e.g. "page 3", "sheet Roster", "slide 2", "" for flat text
    cell: str | None = None  # e.g. "B7"
    start: int | None = None
    end: int | None = None

    def __str__(self) -> str:
        bits = [b for b in (self.part, self.cell) if b]
        if self.start is not None:
            bits.append(f"@{self.start}")
        return " ".join(bits) or "-"


@dataclass(frozen=True)
class Detection:
    entity_type: str
    score: float
    location: Location
    masked_preview: str
    value_hash: str  # HMAC-SHA256 of the normalised value under the installation key
    recognizer: str = ""


@dataclass(frozen=True)
class EvidenceSummary:
    """Per entity type: what the database stores."""

    entity_type: str
    count: int
    best_score: float
    first_location: str
    masked_preview: str
    value_hash: str
    distinct_values: int = 0


@dataclass(frozen=True)
class DetectorHit:
    detector: str  # name rules use
    count: int
    best_score: float
    evidence: tuple[EvidenceSummary, ...] = ()
    categories: tuple[str, ...] = ()  # data categories, e.g. ("contractor_pii",)


class InputError(StrEnum):
    """Why a local input could not be read at all (``analyze_path``)."""

    NOT_FOUND = "not_found"  # the path does not exist
    UNREADABLE = "unreadable"  # it exists but reading it failed (permissions, a directory, I/O)


class PartialKind(StrEnum):
    """Why an analysed document was only partly analysed."""

    REGEX_TIMEOUT = "regex_timeout"  # a recognizer pattern ran past the time bound and was stopped


@dataclass(frozen=True)
class PartialReason:
    """One part of the analysis that did not complete. ``source`` names the recognizer and
    pattern (configuration names, never document text)."""

    kind: PartialKind
    source: str
    seconds: float = 0.0

    def __str__(self) -> str:
        if self.kind is PartialKind.REGEX_TIMEOUT:
            return f"regex time limit: pattern {self.source} stopped after {self.seconds:g}s"
        return f"{self.kind.value}: {self.source}"


@dataclass
class ContentResult:
    """Outcome of analysing one document revision."""

    analysed: bool
    skip_reason: str | None = None  # "not analysed: <reason>" when analysed is False
    skip_kind: SkipKind | None = None  # the same, typed, when extraction refused the document
    bytes_read: int = 0
    chars_analysed: int = 0
    truncated: bool = False
    detections: list[Detection] = field(default_factory=list)
    hits: list[DetectorHit] = field(default_factory=list)
    nlp_mode: str = ""  # "spacy:<model>" or "pattern-only"
    input_error: InputError | None = None  # set with analysed=False when the input could not be read
    #: what did not complete (the detections found are kept: a verdict stands on its evidence)
    partial: tuple[PartialReason, ...] = ()

    @property
    def is_partial(self) -> bool:
        return bool(self.partial)

    def hit(self, detector: str) -> DetectorHit | None:
        return next((h for h in self.hits if h.detector == detector), None)
