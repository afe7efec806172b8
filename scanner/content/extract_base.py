"""Small shared pieces of text extraction: limits, chunks, the budget and the chunk builders.

``scanner.content.extract`` (the entry point) and the Office readers (``docx_text``, ``xlsx_text``,
``pptx_text``, ``ooxml``) all use these; they live here so that no format module imports the
entry point.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

MIB = 1024 * 1024


@dataclass(frozen=True)
class ExtractLimits:
    """Hard caps. Input over ``max_bytes`` or a hostile container is not analysed; others truncate.

    The memory a document can cost is bounded whatever its headers say: OOXML members are inflated
    as a stream against ``max_uncompressed`` (their declared sizes are checked, never trusted); XML
    parsed whole (by sharescan or the Office libraries) may hold at most ``max_xml_elements``
    elements in all (an lxml tree costs about 120 bytes an element), a bigger DOCX body is read
    streaming; python-docx and python-pptx, which hold every part's bytes, are not given a package
    inflating to more than ``max_library_bytes`` (a DOCX is read streaming, a PPTX refused); a
    spreadsheet row may hold at most ``max_row_cells`` cells and ``max_row_bytes`` bytes (openpyxl
    parses a row whole); a PDF stream may inflate to ``max_pdf_stream_bytes``, one
    page's streams to ``max_pdf_page_bytes`` together, and a document's to ``max_pdf_total_bytes``
    (then the remaining pages are not read).
    """

    max_bytes: int = 100 * MIB
    max_chars: int = 2_000_000
    max_pages: int = 500
    max_cells: int = 200_000
    max_zip_members: int = 10_000
    max_uncompressed: int = 300 * MIB
    max_compression_ratio: float = 120.0
    max_xml_elements: int = 1_000_000
    max_library_bytes: int = 128 * MIB  # python-docx/python-pptx hold every part's bytes at once
    max_row_cells: int = 16_384  # Excel's column count
    max_row_bytes: int = 16 * MIB
    max_pdf_stream_bytes: int = 16 * MIB
    max_pdf_page_bytes: int = 48 * MIB
    max_pdf_total_bytes: int = 256 * MIB
    max_pdf_page_tree_entries: int = 200_000
    chunk_chars: int = 100_000

    def size_refusal(self, size: int) -> str | None:
        """The skip reason for an input of ``size`` bytes over ``max_bytes``, else None."""
        return f"not analysed: too large ({size} bytes > {self.max_bytes})" if size > self.max_bytes else None



@dataclass(frozen=True)
class Chunk:
    """A piece of document text. ``rows`` is set for tables (rows of cell strings)."""

    text: str
    part: str = ""  # "page 3", "sheet Roster", "slide 2", "table 1", "" for flat text
    rows: tuple[tuple[str, ...], ...] | None = None
    cell_starts: tuple[tuple[int, int, int], ...] = ()  # (text offset, row index, col index)
    base_offset: int = 0  # offset of this chunk within its part (flat text split into chunks)

    def _cell(self, offset: int) -> tuple[int, int, int] | None:
        """(text offset, row, col) of the table cell holding ``offset``; None outside tables."""
        i = bisect.bisect_right(self.cell_starts, offset, key=lambda start: start[0]) - 1
        return self.cell_starts[i] if i >= 0 else None

    def cell_at(self, offset: int) -> str | None:
        """Spreadsheet-style cell reference ("B7") for a text offset, for table chunks."""
        cell = self._cell(offset)
        return None if cell is None else f"{column_letter(cell[2])}{cell[1] + 1}"

    def row_at(self, offset: int) -> int | None:
        """Row index (into ``rows``) of the cell holding a text offset, for table chunks."""
        cell = self._cell(offset)
        return None if cell is None else cell[1]



class SkipKind(StrEnum):
    """Why a document was not analysed, as a type (``ExtractResult.reason`` says it for people)."""

    TOO_LARGE = "too_large"  # input over max_bytes
    UNSUPPORTED = "unsupported"  # a type sharescan does not read
    CORRUPT = "corrupt"  # malformed, truncated, or refused by the format's library
    ENCRYPTED = "encrypted"
    NOT_TEXT = "not_text"  # binary content where text was expected
    # hostile documents: what they claim and what they are differ, or they cost more than the budget
    ZIP_BOMB = "zip_bomb"  # too many members, inflates past max_uncompressed, ratio, overlapping entries
    ZIP_SIZE_MISMATCH = "zip_size_mismatch"  # a member inflates to another size than its headers declare
    PART_TOO_LARGE = "part_too_large"  # XML that cannot be parsed within the memory budget
    XML_DTD = "xml_dtd"  # a document type declaration (entities) in an OOXML part, which OPC forbids
    PDF_LIMIT = "pdf_limit"  # a PDF stream, page or page tree over the limits

    @classmethod
    def parse(cls, value: str | None) -> SkipKind | None:
        """The kind a stored value names; None for nothing or a value this version does not know."""
        try:
            return cls(value) if value else None
        except ValueError:
            return None

    @property
    def hostile(self) -> bool:
        """The document was refused for what it would cost to read, not because it is unreadable."""
        return self in _HOSTILE


_HOSTILE = frozenset({SkipKind.ZIP_BOMB, SkipKind.ZIP_SIZE_MISMATCH, SkipKind.PART_TOO_LARGE, SkipKind.XML_DTD,
                      SkipKind.PDF_LIMIT})


class ExtractError(Exception):
    """Raised inside the extraction modules only; ``extract`` turns it into a not-analysed result."""

    def __init__(self, kind: SkipKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class _Budget:
    def __init__(self, limits: ExtractLimits) -> None:
        self.limits = limits
        self.chars = 0
        self.cells = 0
        self.truncated: str | None = None

    def take_text(self, text: str) -> str:
        room = self.limits.max_chars - self.chars
        if room <= 0:
            self.truncated = self.truncated or f"max_chars {self.limits.max_chars}"
            return ""
        if len(text) > room:
            self.truncated = self.truncated or f"max_chars {self.limits.max_chars}"
            text = text[:room]
        self.chars += len(text)
        return text

    def take_cell(self) -> bool:
        self.cells += 1
        if self.cells > self.limits.max_cells:
            self.truncated = self.truncated or f"max_cells {self.limits.max_cells}"
            return False
        return True

    @property
    def exhausted(self) -> bool:
        return self.chars >= self.limits.max_chars or self.cells > self.limits.max_cells


def column_letter(index: int) -> str:
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def split_text(text: str, size: int) -> Iterator[tuple[int, str]]:
    """Split on paragraph (then line, then space) boundaries into pieces of at most ``size``."""
    pos = 0
    n = len(text)
    while pos < n:
        end = min(pos + size, n)
        if end < n:
            for sep in ("\n\n", "\n", " "):
                cut = text.rfind(sep, pos + size // 2, end)
                if cut != -1:
                    end = cut + len(sep)
                    break
        yield pos, text[pos:end]
        pos = end


def _flat_chunks(text: str, part: str, limits: ExtractLimits, budget: _Budget) -> Iterator[Chunk]:
    text = budget.take_text(text)
    for offset, piece in split_text(text, limits.chunk_chars):
        yield Chunk(text=piece, part=part, base_offset=offset)


def table_chunk(rows: Iterable[Iterable[object]], part: str, budget: _Budget) -> Chunk | None:
    """Rows → a chunk whose text is cells joined by tabs and rows by newlines."""
    out_rows: list[tuple[str, ...]] = []
    starts: list[tuple[int, int, int]] = []
    pieces: list[str] = []
    text_len = 0
    for r_idx, row in enumerate(rows):
        cells: list[str] = []
        for value in row:
            if not budget.take_cell():
                break
            cells.append("" if value is None else str(value).replace("\t", " ").replace("\n", " ").strip())
        while cells and not cells[-1]:
            cells.pop()
        line = "\t".join(cells)
        if not budget.take_text(line + "\n"):
            break
        pos = text_len
        for c_idx, cell in enumerate(cells):
            if cell:
                starts.append((pos, r_idx, c_idx))
            pos += len(cell) + 1
        pieces.append(line)
        text_len += len(line) + 1
        out_rows.append(tuple(cells))
        if budget.exhausted:
            break
    if not out_rows:
        return None
    text = "\n".join(pieces) + "\n"
    return Chunk(text=text, part=part, rows=tuple(out_rows), cell_starts=tuple(starts))
