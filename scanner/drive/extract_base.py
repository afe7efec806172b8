"""Small shared pieces of text extraction: limits, chunks, the budget and the chunk builders.

``scanner.drive.extract`` (the entry point) and the Office readers (``docx_text``, ``xlsx_text``,
``pptx_text``, ``ooxml``) all use these; they live here so that no format module imports the
entry point.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class ExtractLimits:
    """Hard caps. Input over ``max_bytes`` or a suspicious zip is not analysed; others truncate."""

    max_bytes: int = 100 * 1024 * 1024
    max_chars: int = 2_000_000
    max_pages: int = 500
    max_cells: int = 200_000
    max_zip_members: int = 10_000
    max_uncompressed: int = 300 * 1024 * 1024
    max_compression_ratio: float = 120.0
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



class ExtractError(Exception):
    """Raised inside the extraction modules only; ``extract`` turns it into a not-analysed result."""


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
