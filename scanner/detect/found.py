"""A matched entity occurrence inside the detect package (raw value: never leaves it), and what
detector types evaluate."""

from __future__ import annotations

from dataclasses import dataclass, field

from scanner.detect.records import RecordMap
from scanner.detect.structure import TableFacts

STRUCTURE = "structure"  # recognizer name of values a table's or form's layout vouches for


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
    record: int | None = None  # index into the chunk's RecordMap
    vouched: bool = False  # its record vouches for it (a one-word name on the line of a person's e-mail)

    def __repr__(self) -> str:  # keep raw values out of logs and tracebacks
        return f"Found({self.entity}, {self.score:.2f}, chunk={self.chunk}, {self.start}-{self.end})"


@dataclass
class Evaluation:
    """What detector types see: the kept findings, which are person-linked, and the structure."""

    found: list[Found]
    linked: set[int]  # id() of person-linked findings
    tables: dict[int, TableFacts]
    records: dict[int, RecordMap] = field(default_factory=dict)
