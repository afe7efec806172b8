"""Bytes + MIME type (+ file name) → bounded text chunks with locations.

``extract(data, mime_type, name, limits)`` never raises for bad input: corrupt, encrypted,
unsupported, oversized or zip-bomb documents come back as ``ExtractResult(ok=False,
reason="not analysed: <reason>")``. Hitting a cap on chars/pages/cells keeps what was read and
sets ``truncated=True``.

Chunks keep structure: a spreadsheet sheet, CSV file, DOCX or PPTX table becomes a chunk with
``rows`` (list of cell strings) so detectors can use headers and columns; flat text is split on
paragraph boundaries at ``limits.chunk_chars``. Office text the libraries skip (DOCX text boxes,
footnotes, comments, first/even-page headers; PPTX group shapes; XLSX cell comments) comes in extra
chunks with their own locations, each piece once (scanner/detect/README.md lists them). OOXML
containers (docx/xlsx/pptx) are checked through the zip central directory (member count, total
uncompressed size, compression ratio) BEFORE any library opens them.
"""

from __future__ import annotations

import bisect
import csv
import io
import logging
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import PurePath
from typing import Any

log = logging.getLogger(__name__)

MIME_PDF = "application/pdf"
MIME_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MIME_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MIME_PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
MIME_CSV = "text/csv"
MIME_TSV = "text/tab-separated-values"
MIME_TXT = "text/plain"
MIME_MD = "text/markdown"
MIME_HTML = "text/html"
MIME_RTF = "application/rtf"

_EXT_MIME = {
    ".pdf": MIME_PDF,
    ".docx": MIME_DOCX,
    ".xlsx": MIME_XLSX,
    ".xlsm": MIME_XLSX,
    ".pptx": MIME_PPTX,
    ".csv": MIME_CSV,
    ".tsv": MIME_TSV,
    ".txt": MIME_TXT,
    ".text": MIME_TXT,
    ".log": MIME_TXT,
    ".md": MIME_MD,
    ".markdown": MIME_MD,
    ".html": MIME_HTML,
    ".htm": MIME_HTML,
    ".rtf": MIME_RTF,
}
_MIME_ALIASES = {
    "text/rtf": MIME_RTF,
    "application/x-rtf": MIME_RTF,
    "application/xhtml+xml": MIME_HTML,
    "text/x-markdown": MIME_MD,
    "application/csv": MIME_CSV,
    # Google-native files arrive as their export formats; the natives themselves map to them.
    "application/vnd.google-apps.document": MIME_TXT,
    "application/vnd.google-apps.spreadsheet": MIME_CSV,
    "application/vnd.google-apps.presentation": MIME_TXT,
}
SUPPORTED_MIME_TYPES = frozenset(_EXT_MIME.values())


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


@dataclass
class ExtractResult:
    ok: bool
    reason: str | None = None
    chunks: list[Chunk] = field(default_factory=list)
    truncated: bool = False
    truncation: str | None = None
    bytes_read: int = 0
    mime_type: str = ""

    @property
    def chars(self) -> int:
        return sum(len(c.text) for c in self.chunks)


class ExtractError(Exception):
    """Raised inside this module only; ``extract`` turns it into a not-analysed result."""


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


def resolve_mime(mime_type: str, name: str = "") -> str:
    mime = (mime_type or "").split(";")[0].strip().lower()
    mime = _MIME_ALIASES.get(mime, mime)
    if mime in SUPPORTED_MIME_TYPES:
        return mime
    ext = PurePath(name).suffix.lower() if name else ""
    if ext in _EXT_MIME and mime in ("", "application/octet-stream", "binary/octet-stream", "text/plain"):
        return _EXT_MIME[ext]
    if not mime and ext in _EXT_MIME:
        return _EXT_MIME[ext]
    if mime.startswith("text/"):
        return MIME_TXT
    return mime


def extract(
    data: bytes, mime_type: str, name: str = "", limits: ExtractLimits | None = None
) -> ExtractResult:
    """Extract text chunks. Never raises for malformed input."""
    limits = limits or ExtractLimits()
    mime = resolve_mime(mime_type, name)
    result = ExtractResult(ok=False, bytes_read=len(data), mime_type=mime)
    result.reason = limits.size_refusal(len(data))
    if result.reason is not None:
        return result
    handler = _HANDLERS.get(mime)
    if handler is None:
        result.reason = f"not analysed: unsupported type {mime or 'unknown'}"
        return result
    budget = _Budget(limits)
    try:
        chunks = [c for c in handler(data, limits, budget) if c.text.strip()]
    except ExtractError as exc:
        result.reason = f"not analysed: {exc}"
        return result
    except Exception as exc:  # corrupt input makes parsers raise anything; never leak it
        log.info("extract failed", extra={"mime": mime, "error": type(exc).__name__})
        result.reason = f"not analysed: corrupt or unreadable {_short(mime)} ({type(exc).__name__})"
        return result
    result.ok = True
    result.chunks = chunks
    result.truncated = budget.truncated is not None
    result.truncation = budget.truncated
    return result


def _short(mime: str) -> str:
    for ext, m in _EXT_MIME.items():
        if m == mime:
            return ext.lstrip(".")
    return mime


# --------------------------------------------------------------------------- text helpers

_BINARY_CTRL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def decode_text(data: bytes) -> str:
    """utf-8-sig / utf-16 (BOM) / utf-8 / cp1252, then utf-8 with replacement."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    head = data[:4096]
    if head and head.count(b"\x00") > len(head) // 4:
        # UTF-16 without BOM (mostly-ASCII text has a zero in every other byte)
        even_zeros = head[0::2].count(0)
        odd_zeros = head[1::2].count(0)
        codec = "utf-16-le" if odd_zeros > even_zeros else "utf-16-be"
        text = data.decode(codec, errors="replace")
        if not _looks_binary(text):
            return text
    for codec in ("utf-8", "cp1252"):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def _looks_binary(text: str) -> bool:
    sample = text[:8192]
    if not sample:
        return False
    bad = len(_BINARY_CTRL.findall(sample)) + sample.count("\ufffd")
    return bad / len(sample) > 0.05


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


# --------------------------------------------------------------------------- handlers


def _text(data: bytes, limits: ExtractLimits, budget: _Budget) -> Iterator[Chunk]:
    text = decode_text(data)
    if _looks_binary(text):
        raise ExtractError("binary content, not text")
    yield from _flat_chunks(text, "", limits, budget)


class _HTMLText(HTMLParser):
    _SKIP = {"script", "style", "noscript", "template"}
    _BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "section"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append("\t")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skip:
            self._skip -= 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _html(data: bytes, limits: ExtractLimits, budget: _Budget) -> Iterator[Chunk]:
    text = decode_text(data)
    if _looks_binary(text):
        raise ExtractError("binary content, not HTML")
    parser = _HTMLText()
    parser.feed(text)
    parser.close()
    flat = re.sub(r"[ \t]*\n[ \t\n]*\n", "\n\n", "".join(parser.parts))
    yield from _flat_chunks(flat, "", limits, budget)


_RTF_DEST = re.compile(r"\{\\\*[^{}]*(?:\{[^{}]*\}[^{}]*)*\}")
_RTF_HEX = re.compile(r"\\'([0-9a-fA-F]{2})")
_RTF_UNI = re.compile(r"\\u(-?\d+)\??")
_RTF_PAR = re.compile(r"\\(?:par|line|row|cell|tab)\b ?")
_RTF_CTRL = re.compile(r"\\[a-zA-Z]+-?\d* ?|\\[^a-zA-Z]")
_RTF_FONTTBL = re.compile(r"\{\\(?:fonttbl|colortbl|stylesheet|info)(?:[^{}]|\{[^{}]*\})*\}")


def rtf_to_text(raw: str) -> str:
    text = _RTF_FONTTBL.sub("", raw)
    text = _RTF_DEST.sub("", text)
    text = _RTF_HEX.sub(lambda m: bytes([int(m.group(1), 16)]).decode("cp1252", errors="replace"), text)
    text = _RTF_UNI.sub(lambda m: chr(int(m.group(1)) % 65536), text)
    text = _RTF_PAR.sub("\n", text)
    text = text.replace("\\{", "\x01").replace("\\}", "\x02").replace("\\\\", "\x03")
    text = _RTF_CTRL.sub("", text)
    text = text.replace("{", "").replace("}", "")
    return text.replace("\x01", "{").replace("\x02", "}").replace("\x03", "\\")


def _rtf(data: bytes, limits: ExtractLimits, budget: _Budget) -> Iterator[Chunk]:
    raw = decode_text(data)
    if not raw.lstrip().startswith("{\\rtf"):
        raise ExtractError("not an RTF document")
    yield from _flat_chunks(rtf_to_text(raw), "", limits, budget)


def _csv(
    data: bytes, limits: ExtractLimits, budget: _Budget, delimiter: str | None = None
) -> Iterator[Chunk]:
    text = decode_text(data)
    if _looks_binary(text):
        raise ExtractError("binary content, not CSV")
    if delimiter is None:
        sample = text[:8192]
        try:
            delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    budget_text = text[: limits.max_chars]
    if len(text) > limits.max_chars:
        budget.truncated = f"max_chars {limits.max_chars}"
    reader = csv.reader(io.StringIO(budget_text), delimiter=delimiter)
    chunk = table_chunk(reader, "", budget)
    if chunk is not None:
        yield chunk


def _tsv(data: bytes, limits: ExtractLimits, budget: _Budget) -> Iterator[Chunk]:
    return _csv(data, limits, budget, delimiter="\t")


def check_zip(data: bytes, limits: ExtractLimits) -> None:
    """Inspect the central directory only; refuse zip bombs before any library opens them."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ExtractError("corrupt or truncated OOXML container (bad zip)") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_zip_members:
            raise ExtractError(f"zip has {len(infos)} members (> {limits.max_zip_members})")
        total = sum(i.file_size for i in infos)
        if total > limits.max_uncompressed:
            raise ExtractError(f"zip expands to {total} bytes (> {limits.max_uncompressed})")
        for info in infos:
            if info.file_size > 1_000_000 and info.file_size > limits.max_compression_ratio * max(
                info.compress_size, 1
            ):
                raise ExtractError(
                    f"zip member compression ratio over {limits.max_compression_ratio:g} (zip bomb?)"
                )
        compressed = sum(i.compress_size for i in infos)
        if total > 10_000_000 and total > limits.max_compression_ratio * max(compressed, 1):
            raise ExtractError(f"zip compression ratio over {limits.max_compression_ratio:g} (zip bomb?)")


def _pdf(data: bytes, limits: ExtractLimits, budget: _Budget) -> Iterator[Chunk]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.lstrip()[:1024].startswith(b"%PDF"):
        raise ExtractError("not a PDF (no %PDF header)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
    except PdfReadError as exc:
        raise ExtractError("corrupt or truncated PDF") from exc
    if reader.is_encrypted:
        try:
            ok = reader.decrypt("")
        except Exception as exc:
            raise ExtractError("encrypted PDF") from exc
        if not ok:
            raise ExtractError("encrypted PDF")
    pages: list[Chunk] = []
    for number, page in enumerate(reader.pages, start=1):
        if number > limits.max_pages:
            budget.truncated = budget.truncated or f"max_pages {limits.max_pages}"
            break
        text = page.extract_text() or ""
        pages.extend(_flat_chunks(text, f"page {number}", limits, budget))
        if budget.exhausted:
            break
    yield from pages


def _docx(data: bytes, limits: ExtractLimits, budget: _Budget) -> Iterator[Chunk]:
    check_zip(data, limits)
    content = read_docx_direct(data)
    if content is None:
        yield from _docx_library(data, limits, budget)
        return
    yield from _docx_library_equivalent(content, limits, budget)
    yield from docx_extra_chunks(data, limits, budget, content.parsed)


def _docx_library_equivalent(content: DocxContent, limits: ExtractLimits, budget: _Budget) -> Iterator[Chunk]:
    """The chunks ``_docx_library`` makes from what python-docx reads (before the extra chunks)."""
    if content.header_lines:
        yield from _flat_chunks("\n".join(dict.fromkeys(content.header_lines)), "header/footer", limits, budget)
    yield from _flat_chunks("\n".join(content.paragraphs), "body", limits, budget)
    yield from _table_chunks(content.tables, "table", budget)


def _docx_library(data: bytes, limits: ExtractLimits, budget: _Budget) -> Iterator[Chunk]:
    """python-docx: the reference reader, used whenever the direct reader is not sure."""
    import docx

    document = docx.Document(io.BytesIO(data))
    header_lines: list[str] = []
    for section in document.sections:
        for part in (section.header, section.footer):
            try:
                header_lines.extend(p.text for p in part.paragraphs if p.text.strip())
            except Exception:  # header parts can be missing in odd files
                log.debug("docx header/footer unreadable")
    if header_lines:
        yield from _flat_chunks("\n".join(dict.fromkeys(header_lines)), "header/footer", limits, budget)
    body = "\n".join(p.text for p in document.paragraphs)
    yield from _flat_chunks(body, "body", limits, budget)
    for t_idx, table in enumerate(document.tables, start=1):
        if budget.exhausted:
            break
        rows = ([cell.text for cell in row.cells] for row in table.rows)
        chunk = table_chunk(rows, f"table {t_idx}", budget)
        if chunk is not None:
            yield chunk
    yield from docx_extra_chunks(data, limits, budget)


# --------------------------------------------------------------------------- direct DOCX reader
# python-docx builds an object model of every part (styles, settings, numbering, ...) with custom
# lxml element classes: ~6 ms per small document, most of the per-document cost on tiny files.
# ``read_docx_direct`` reads the same text straight from the XML with the same parser settings,
# mirroring python-docx 1.2's rules (direct ``w:p``/``w:tbl`` children of the body, run text from
# w:t/w:tab/w:br/w:cr/w:ptab/w:noBreakHyphen, hyperlink runs, default header/footer inherited from
# the previous section, horizontally spanned cells repeated). It first replays python-docx's own
# package checks (every reachable part present, typed and readable; its XML parts well-formed;
# main part of the Word content type). Anything it is not sure about (vertically merged cells,
# missing relationships, odd packages) returns None and python-docx reads the file instead, so
# results - including the reasons for refusing a hostile file - stay python-docx's. The text
# python-docx skips (text boxes, footnotes, comments, other headers...) is added after, on both
# paths, by ``docx_extra_chunks`` below.

_NS_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_NS_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PR = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_NS_CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_RT_OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_CT_WML = "application/vnd.openxmlformats-officedocument.wordprocessingml."
_CT_DOCX_MAIN = _CT_WML + "document.main+xml"
_CT_HEADER = _CT_WML + "header+xml"
_CT_FOOTER = _CT_WML + "footer+xml"
# the parts python-docx parses as XML when it opens a package (docx/__init__.py PartFactory)
_DOCX_XML_PARTS = frozenset({
    "application/vnd.openxmlformats-package.core-properties+xml", _CT_WML + "comments+xml", _CT_DOCX_MAIN,
    _CT_FOOTER, _CT_HEADER, _CT_WML + "numbering+xml", _CT_WML + "settings+xml", _CT_WML + "styles+xml",
})
_W_P, _W_R, _W_T, _W_TBL, _W_TR, _W_TC = (_NS_W + t for t in ("p", "r", "t", "tbl", "tr", "tc"))
_W_HYPERLINK, _W_BODY, _W_PPR, _W_SECTPR, _W_TCPR = (_NS_W + t for t in ("hyperlink", "body", "pPr", "sectPr", "tcPr"))
_W_RUN_TEXT = {_NS_W + "tab": "\t", _NS_W + "ptab": "\t", _NS_W + "cr": "\n", _NS_W + "noBreakHyphen": "-"}
_W_BR = _NS_W + "br"
_W_TYPE = _NS_W + "type"


# a package's zip, parsed XML parts and relationships (``_Package``), reused by ``docx_extra_chunks``
_Parsed = tuple[zipfile.ZipFile, dict[str, Any], dict[str, dict[str, tuple[str, str | None]]]]


@dataclass
class DocxContent:
    header_lines: list[str]
    paragraphs: list[str]
    tables: list[list[list[str]]]
    parsed: _Parsed | None = field(default=None, repr=False, compare=False)


_DOCX_TEXT_PARTS = frozenset({_CT_DOCX_MAIN, _CT_HEADER, _CT_FOOTER})  # the parts whose text is read


class _Unsure(Exception):
    """The direct reader defers to python-docx."""


class _NoTree:
    """lxml parser target that builds nothing: the same libxml2 well-formedness check, half the time."""

    def close(self) -> None:
        return None


class _WellFormedMemo:
    """XML part contents already found well-formed, by exact content (bounded, thread-safe).

    Packages made from one template carry byte-identical style/theme/layout parts (a Word
    ``styles.xml`` is 350 kB: 2 ms to check, most of a small DOCX's read time). The key is the
    part's full content - a dict compares the bytes, not just a hash - so a part is skipped only
    when it is exactly one that was checked before. Malformed parts are never remembered.
    """

    def __init__(self, max_bytes: int = 16 * 1024 * 1024, min_size: int = 512) -> None:
        import threading

        self.max_bytes = max_bytes
        self.min_size = min_size  # smaller parts are cheaper to parse than to remember
        self._seen: dict[bytes, None] = {}
        self._size = 0
        self._lock = threading.Lock()

    def check(self, blob: bytes, parser: object) -> None:
        """Raise like ``etree.fromstring(blob, parser)`` would, unless ``blob`` passed before."""
        from lxml import etree

        remember = self.min_size <= len(blob) <= self.max_bytes // 4
        if remember and blob in self._seen:
            return
        etree.fromstring(blob, parser)  # type: ignore[arg-type]
        if not remember:
            return
        with self._lock:
            while self._seen and self._size + len(blob) > self.max_bytes:  # forget the oldest
                oldest = next(iter(self._seen))
                del self._seen[oldest]
                self._size -= len(oldest)
            if blob not in self._seen:
                self._seen[blob] = None
                self._size += len(blob)


_WELL_FORMED = _WellFormedMemo()
#: Parts that come from the template (styles, numbering, settings, layouts, masters), the only ones
#: the memo may hold: comments, core properties (authors), charts and slides are user content and are
#: checked every time, so no document text stays in memory between files.
_TEMPLATE_PARTS = frozenset({
    "application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.numbering+xml",
    "application/vnd.openxmlformats-officedocument.presentationml.slideLayout+xml",
    "application/vnd.openxmlformats-officedocument.presentationml.slideMaster+xml",
    "application/vnd.openxmlformats-officedocument.presentationml.notesMaster+xml",
})


def _xml_parser() -> object:
    from lxml import etree

    return etree.XMLParser(remove_blank_text=True, resolve_entities=False)  # python-docx's settings


def _run_text(r: object) -> str:
    out = []
    for e in r:  # type: ignore[attr-defined]
        tag = e.tag
        if tag == _W_T:
            out.append(e.text or "")
        elif tag == _W_BR:
            out.append("\n" if e.get(_W_TYPE, "textWrapping") == "textWrapping" else "")
        else:
            text = _W_RUN_TEXT.get(tag)
            if text is not None:
                out.append(text)
    return "".join(out)


def _p_text(p: object) -> str:
    out = []
    for e in p:  # type: ignore[attr-defined]
        if e.tag == _W_R:
            out.append(_run_text(e))
        elif e.tag == _W_HYPERLINK:
            out.extend(_run_text(r) for r in e if r.tag == _W_R)
    return "".join(out)


def _table_rows(tbl: object) -> list[list[str]]:
    rows = []
    for tr in tbl:  # type: ignore[attr-defined]
        if tr.tag != _W_TR:
            continue
        cells: list[str] = []
        for tc in tr:
            if tc.tag != _W_TC:
                continue
            span = 1
            for pr in tc:
                if pr.tag != _W_TCPR:
                    continue
                for prop in pr:
                    if prop.tag == _NS_W + "vMerge":
                        raise _Unsure("vertically merged cell")
                    if prop.tag == _NS_W + "gridSpan":
                        span = int(prop.get(_NS_W + "val"))
                        if span < 1:
                            raise _Unsure("odd gridSpan")
            text = "\n".join(_p_text(p) for p in tc if p.tag == _W_P)
            cells.extend([text] * span)
        rows.append(cells)
    return rows


class _Package:
    """python-docx's package walk (docx/opc/pkgreader.py), without building part objects."""

    def __init__(self, data: bytes, xml_types: frozenset[str], text_types: frozenset[str]) -> None:
        import posixpath

        from lxml import etree

        self._etree = etree
        self._parser = _xml_parser()
        self._checker = etree.XMLParser(remove_blank_text=True, resolve_entities=False, target=_NoTree())
        self._posix = posixpath
        self.zf = zipfile.ZipFile(io.BytesIO(data))
        self.names = frozenset(self.zf.NameToInfo)
        types = etree.fromstring(self.zf.read("[Content_Types].xml"), self._parser)
        self.defaults = {e.get("Extension", "").lower(): e.get("ContentType") for e in types
                         if e.tag == _NS_CT + "Default"}
        self.overrides = {e.get("PartName", "").lower(): e.get("ContentType") for e in types
                          if e.tag == _NS_CT + "Override"}
        self.xml_types = xml_types
        self.text_types = text_types
        self.content_types: dict[str, str] = {}
        self.trees: dict[str, object] = {}
        self.rels: dict[str, dict[str, tuple[str, str | None]]] = {}
        self._walk("/")

    def _rels_for(self, partname: str) -> dict[str, tuple[str, str | None]]:
        base, name = self._posix.split(partname)
        member = self._posix.join(base, "_rels", f"{name}.rels")[1:]
        out: dict[str, tuple[str, str | None]] = {}
        if member not in self.names:
            return out
        raw = self.zf.read(member)
        for rel in self._etree.fromstring(raw, self._parser):
            if rel.tag != _NS_PR + "Relationship":
                continue
            target: str | None = None
            if rel.get("TargetMode", "Internal") != "External":
                target = self._posix.normpath(self._posix.join(base, rel.get("Target")))
                if not target.startswith("/") or target.startswith("//"):
                    raise _Unsure("odd relationship target")
            out[rel.get("Id")] = (rel.get("Type"), target)
        return out

    def _walk(self, source: str) -> None:
        rels = self._rels_for(source)
        self.rels[source] = rels
        for _rtype, target in rels.values():
            if target is None or target in self.content_types:
                continue
            blob = self.zf.read(target[1:])  # KeyError / CRC error: python-docx decides
            ext = target.rsplit(".", 1)[-1].lower() if "." in target.rsplit("/", 1)[-1] else ""
            ctype = self.overrides.get(target.lower()) or self.defaults.get(ext)
            if ctype is None:
                raise _Unsure("part without content type")
            self.content_types[target] = ctype
            if ctype in self.text_types:
                self.trees[target] = self._etree.fromstring(blob, self._parser)
            elif ctype in self.xml_types:  # the library parses it: a malformed one fails the file
                if ctype in _TEMPLATE_PARTS:  # only template parts are remembered, never user content
                    _WELL_FORMED.check(blob, self._checker)
                else:
                    self._etree.fromstring(blob, self._checker)
            self._walk(target)

    def related(self, source: str, r_id: str | None, content_type: str) -> object:
        rel = self.rels.get(source, {}).get(r_id or "")
        if rel is None or rel[1] is None or self.content_types.get(rel[1]) != content_type:
            raise _Unsure("relationship not found")
        return self.trees[rel[1]]


def read_docx_direct(data: bytes) -> DocxContent | None:
    """Header/footer lines, body paragraphs and table rows as python-docx reads them, or None."""
    try:
        pkg = _Package(data, _DOCX_XML_PARTS, _DOCX_TEXT_PARTS)
        main = [t for rtype, t in pkg.rels["/"].values() if rtype == _RT_OFFICE_DOCUMENT and t is not None]
        if len(main) != 1 or pkg.content_types.get(main[0]) != _CT_DOCX_MAIN:
            raise _Unsure("main document part")
        root: Any = pkg.trees[main[0]]
        body = root.find(_W_BODY)
        if body is None:
            raise _Unsure("no body")
        # python-docx's Document.sections: paragraph-level sectPr in order, then the body's own
        sect_prs = root.xpath("./w:body/w:p/w:pPr/w:sectPr | ./w:body/w:sectPr", namespaces={"w": _NS_W[1:-1]})
        header_lines: list[str] = []
        for i, _sect in enumerate(sect_prs):
            for kind, ctype in (("header", _CT_HEADER), ("footer", _CT_FOOTER)):
                definition = None
                for sect in reversed(sect_prs[: i + 1]):  # no definition: the previous section's
                    refs = [e for e in sect if e.tag == _NS_W + f"{kind}Reference"
                            and e.get(_W_TYPE) == "default"]
                    if refs:
                        definition = pkg.related(main[0], refs[0].get(_NS_R + "id"), ctype)
                        break
                if definition is not None:
                    header_lines.extend(t for t in (_p_text(p) for p in definition  # type: ignore[attr-defined]
                                                        if p.tag == _W_P) if t.strip())
        paragraphs = [_p_text(p) for p in body if p.tag == _W_P]
        tables = [_table_rows(t) for t in body if t.tag == _W_TBL]
        return DocxContent(header_lines, paragraphs, tables, (pkg.zf, pkg.trees, pkg.rels))
    except Exception:  # not sure, or a broken file: python-docx reads it and decides
        return None


# --------------------------------------------------------------------------- DOCX text the libraries skip
# python-docx (and so ``read_docx_direct``, which mirrors it) reads only the body's direct
# paragraphs/tables and the default header/footer paragraphs, each paragraph from its direct runs.
# ``docx_extra_chunks`` reads everything else that holds text, each piece exactly once, into extra
# chunks after the library-equivalent ones, on both the direct and the python-docx path:
#   "text box" (+ "text box table N")      w:txbxContent anchored in body runs
#   "body (other)"                         content controls (w:sdt), tracked insertions (w:ins),
#                                          simple fields, smart tags, nested tables, ...
#   "header/footer text box", "header/footer (other)"   the same in the default headers/footers
#   "header (first page)", "header (even page)", "footer (first page)", "footer (even page)"
#   "footnotes", "endnotes", "comments"
# Text boxes are written twice by Word (DrawingML in mc:Choice, VML in mc:Fallback): only the first
# branch of an mc:AlternateContent holding text is read. Parts are read straight from the zip (or
# reused from ``read_docx_direct``'s parse) with the same parser settings (no entity resolution,
# libxml2's depth limit); the container passed ``check_zip`` first; at most ``max_pages`` extra
# parts are read; text and cells go through the budget. A missing or malformed extra part - which
# python-docx never parses - is skipped, never fatal.

_NS_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_MC_AC, _MC_BRANCHES = _NS_MC + "AlternateContent", frozenset({_NS_MC + "Choice", _NS_MC + "Fallback"})
_RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_W_TXT_NONE = frozenset(_NS_W + t for t in ("pPr", "rPr", "sectPr", "tblPr", "tblGrid", "trPr", "tcPr", "sdtPr",
                                             "sdtEndPr", "tblPrEx", "instrText", "delText", "delInstrText"))
_W_COVERED_RUN = frozenset({_W_T, _W_BR, _NS_W + "rPr", *_W_RUN_TEXT})  # what python-docx's Run.text reads
_W_HEADER_REFS = {_NS_W + "headerReference": "header", _NS_W + "footerReference": "footer"}
_DOCX_NOTE_SKIP = frozenset({"separator", "continuationSeparator", "continuationNotice"})
_DOCX_EXTRA_ORDER = (
    "text box", "body (other)", "header/footer text box", "header/footer (other)",
    "header (first page)", "header (even page)", "header (other)",
    "footer (first page)", "footer (even page)", "footer (other)", "footnotes", "endnotes", "comments",
)


@dataclass
class _Story:
    lines: list[str] = field(default_factory=list)
    tables: list[list[list[str]]] = field(default_factory=list)


def _ac_branch(ac: Any) -> Any:
    """The mc:AlternateContent branch a reader shows: the first one holding text (else the first)."""
    branches = [b for b in ac if b.tag in _MC_BRANCHES]
    for branch in branches:
        if next(branch.iter(_W_T), None) is not None:
            return branch
    return branches[0] if branches else None


def _children(el: Any) -> Iterator[Any]:
    """Element children, with every mc:AlternateContent replaced by its chosen branch's children."""
    if el.tag == _MC_AC:
        el = _ac_branch(el)
        if el is None:
            return
    for child in el:
        if not isinstance(child.tag, str):
            continue
        if child.tag == _MC_AC:
            yield from _children(child)
        else:
            yield child


def _inline(node: Any, buf: list[str], nested: list[Any]) -> None:
    """Run-level text of ``node`` into ``buf``; paragraphs/tables below it (text boxes) into ``nested``."""
    tag = node.tag
    if tag == _W_T:
        buf.append(node.text or "")
    elif tag == _W_BR:
        buf.append("\n" if node.get(_W_TYPE, "textWrapping") == "textWrapping" else "")
    elif tag in _W_RUN_TEXT:
        buf.append(_W_RUN_TEXT[tag])
    elif tag in (_W_P, _W_TBL):
        nested.append(node)
    elif tag not in _W_TXT_NONE:
        for child in _children(node):
            _inline(child, buf, nested)


def _story_add(node: Any, story: _Story, boxes: _Story) -> None:
    """All text of ``node``: paragraphs as lines, tables as rows; text boxes inside go to ``boxes``."""
    if node.tag == _W_P:
        buf: list[str] = []
        nested: list[Any] = []
        for child in _children(node):
            _inline(child, buf, nested)
        story.lines.append("".join(buf))
        for inner in nested:
            _story_add(inner, boxes, boxes)
    elif node.tag == _W_TBL:
        story.tables.append(_story_rows(node, boxes))
    elif node.tag not in _W_TXT_NONE:
        for child in _children(node):
            _story_add(child, story, boxes)


def _descendants(node: Any, tag: str) -> Iterator[Any]:
    """``tag`` elements below ``node`` (through content controls, custom XML...), not inside them."""
    for child in _children(node):
        if child.tag == tag:
            yield child
        elif child.tag not in (_W_P, _W_TBL) and child.tag not in _W_TXT_NONE:
            yield from _descendants(child, tag)


def _story_rows(tbl: Any, boxes: _Story) -> list[list[str]]:
    """Rows of cell texts; a spanned cell's text once (then empty cells), nested tables flattened."""
    rows = []
    for tr in _descendants(tbl, _W_TR):
        cells: list[str] = []
        for tc in _descendants(tr, _W_TC):
            cell = _Story()
            _story_add(tc, cell, boxes)
            lines = cell.lines + [" ".join(row) for rows_ in cell.tables for row in rows_]
            cells.append("\n".join(line for line in lines if line))
            span = tc.find(f"{_W_TCPR}/{_NS_W}gridSpan")
            try:
                extra = min(int(span.get(_NS_W + "val")), 64) - 1 if span is not None else 0
            except (TypeError, ValueError):
                extra = 0
            cells.extend([""] * max(extra, 0))
        rows.append(cells)
    return rows


def _residual_run(r: Any, boxes: _Story, other: _Story) -> None:
    """What python-docx's ``Run.text`` skips: text boxes in drawings/VML, anything else with text."""
    buf: list[str] = []
    nested: list[Any] = []
    for child in _children(r):
        if child.tag not in _W_COVERED_RUN:
            _inline(child, buf, nested)
    if "".join(buf).strip():
        other.lines.append("".join(buf))
    for inner in nested:
        _story_add(inner, boxes, boxes)


def _residual_p(p: Any, boxes: _Story, other: _Story) -> None:
    """What python-docx's ``Paragraph.text`` (direct runs and hyperlink runs) skips."""
    buf: list[str] = []
    nested: list[Any] = []
    for child in p:
        tag = child.tag
        if tag == _W_R:
            _residual_run(child, boxes, other)
        elif tag == _W_HYPERLINK:
            for r in child:
                if r.tag == _W_R:
                    _residual_run(r, boxes, other)
                elif isinstance(r.tag, str):
                    _inline(r, buf, nested)
        elif isinstance(tag, str) and tag != _W_PPR:
            _inline(child, buf, nested)  # w:ins, w:sdt, w:fldSimple, w:smartTag, mc:AlternateContent...
    if "".join(buf).strip():
        other.lines.append("".join(buf))
    for inner in nested:
        _story_add(inner, boxes, boxes)


def _vmerge_continue(tc: Any) -> bool:
    merge = tc.find(f"{_W_TCPR}/{_NS_W}vMerge")
    return merge is not None and merge.get(_NS_W + "val", "continue") == "continue"


def _residual(container: Any, tables_read: bool, boxes: _Story, other: _Story) -> None:
    """What python-docx skips in a body (direct paragraphs and tables) or header (direct paragraphs)."""
    for child in container:
        tag = child.tag
        if tag == _W_P:
            _residual_p(child, boxes, other)
        elif tag == _W_TBL and tables_read:
            for tr in child:
                if tr.tag != _W_TR:
                    if isinstance(tr.tag, str):
                        _story_add(tr, other, boxes)  # row-level content controls
                    continue
                for tc in tr:
                    if tc.tag != _W_TC or _vmerge_continue(tc):  # python-docx repeats the cell above
                        if isinstance(tc.tag, str):
                            _story_add(tc, other, boxes)
                        continue
                    for x in tc:
                        if x.tag == _W_P:
                            _residual_p(x, boxes, other)
                        elif isinstance(x.tag, str):
                            _story_add(x, other, boxes)  # nested tables, content controls
        elif isinstance(tag, str):
            _story_add(child, other, boxes)


class _ZipParts:
    """Lenient lazy reader of package parts (relationships and XML trees) from the zip."""

    def __init__(self, data: bytes, parsed: _Parsed | None) -> None:
        import posixpath

        from lxml import etree

        self._etree = etree
        self._posix = posixpath
        self._parser = _xml_parser()
        self.zf = parsed[0] if parsed else zipfile.ZipFile(io.BytesIO(data))
        self.trees: dict[str, Any] = dict(parsed[1]) if parsed else {}
        self.rels: dict[str, dict[str, tuple[str, str | None]]] = dict(parsed[2]) if parsed else {}

    def rels_of(self, partname: str) -> dict[str, tuple[str, str | None]]:
        if partname not in self.rels:
            base, name = self._posix.split(partname)
            out: dict[str, tuple[str, str | None]] = {}
            try:
                raw = self.zf.read(self._posix.join(base, "_rels", f"{name}.rels")[1:])
            except KeyError:
                raw = b""
            for rel in self._etree.fromstring(raw, self._parser) if raw else ():
                if rel.tag != _NS_PR + "Relationship" or rel.get("TargetMode", "Internal") == "External":
                    continue
                target = self._posix.normpath(self._posix.join(base, rel.get("Target") or ""))
                if target.startswith("/") and not target.startswith("//"):
                    out[rel.get("Id") or ""] = (rel.get("Type") or "", target)
            self.rels[partname] = out
        return self.rels[partname]

    def tree(self, partname: str) -> Any:
        if partname not in self.trees:
            self.trees[partname] = self._etree.fromstring(self.zf.read(partname[1:]), self._parser)
        return self.trees[partname]


def docx_extra_stories(data: bytes, limits: ExtractLimits, budget: _Budget,
                       parsed: _Parsed | None = None) -> dict[str, _Story]:
    """Location -> the text python-docx does not read (see the comment above), each piece once."""
    stories = {location: _Story() for location in _DOCX_EXTRA_ORDER}
    parts = _ZipParts(data, parsed)
    main = [t for rtype, t in parts.rels_of("/").values() if rtype == _RT_OFFICE_DOCUMENT]
    if len(main) != 1 or main[0] is None:
        return stories
    root = parts.tree(main[0])
    body = root.find(_W_BODY)
    if body is not None:
        _residual(body, True, stories["text box"], stories["body (other)"])
    main_rels = parts.rels_of(main[0])
    # python-docx reads each section's default header/footer (sections: the same sectPr list)
    sect_prs = root.xpath("./w:body/w:p/w:pPr/w:sectPr | ./w:body/w:sectPr", namespaces={"w": _NS_W[1:-1]})
    covered = {main_rels.get(ref.get(_NS_R + "id") or "", ("", None))[1]
               for sect in sect_prs for ref in sect
               if ref.tag in _W_HEADER_REFS and ref.get(_W_TYPE) == "default"}
    todo: list[tuple[str, str | None]] = []
    seen: set[str | None] = set()
    for ref in root.iter(*_W_HEADER_REFS):  # every section's references, each part once
        target = main_rels.get(ref.get(_NS_R + "id") or "", ("", None))[1]
        kind = {"first": "first page", "even": "even page"}.get(ref.get(_W_TYPE) or "", "other")
        location = "header/footer" if target in covered else f"{_W_HEADER_REFS[ref.tag]} ({kind})"
        if target not in seen:
            seen.add(target)
            todo.append((location, target))
    for rtype, location in (("footnotes", "footnotes"), ("endnotes", "endnotes"), ("comments", "comments")):
        todo.extend((location, t) for rt, t in main_rels.values() if rt == _RT + rtype)
    for n_read, (location, target) in enumerate(todo):
        if n_read >= limits.max_pages:
            budget.truncated = budget.truncated or f"max_pages {limits.max_pages}"
            break
        if target is None:
            continue
        try:
            part = parts.tree(target)
            if location == "header/footer":  # python-docx read its direct paragraphs
                _residual(part, False, stories["header/footer text box"], stories["header/footer (other)"])
            elif location in ("footnotes", "endnotes", "comments"):
                for note in part:
                    if isinstance(note.tag, str) and note.get(_W_TYPE) not in _DOCX_NOTE_SKIP:
                        _story_add(note, stories[location], stories[location])
            else:
                _story_add(part, stories[location], stories[location])
        except Exception as exc:  # a part python-docx never parses may be broken: skip it
            log.info("docx part unreadable", extra={"part": location, "error": type(exc).__name__})
    return stories


def docx_extra_chunks(data: bytes, limits: ExtractLimits, budget: _Budget,
                      parsed: _Parsed | None = None) -> Iterator[Chunk]:
    """Chunks of the DOCX text python-docx does not read; nothing if the package cannot be walked."""
    if budget.exhausted:
        return
    try:
        stories = docx_extra_stories(data, limits, budget, parsed)
    except Exception as exc:
        log.info("docx extra parts unreadable", extra={"error": type(exc).__name__})
        return
    for location, story in stories.items():
        yield from _flat_chunks("\n".join(line for line in story.lines if line.strip()), location, limits, budget)
        yield from _table_chunks(story.tables, f"{location} table", budget)
        if budget.exhausted:
            return


def _table_chunks(tables: Iterable[Iterable[Iterable[object]]], name: str, budget: _Budget) -> Iterator[Chunk]:
    """One chunk per table, named ``{name} 1``, ``{name} 2``..., until the budget runs out."""
    for t_idx, rows in enumerate(tables, start=1):
        if budget.exhausted:
            return
        chunk = table_chunk(rows, f"{name} {t_idx}", budget)
        if chunk is not None:
            yield chunk


def _xlsx(data: bytes, limits: ExtractLimits, budget: _Budget) -> Iterator[Chunk]:
    check_zip(data, limits)
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    comments = xlsx_comments(data)  # read-only openpyxl never loads cell comments (notes)
    try:
        for sheet in workbook.worksheets:  # hidden and very hidden sheets included
            if budget.exhausted:
                break
            rows = sheet.iter_rows(values_only=True)
            chunk = table_chunk(rows, f"sheet {sheet.title}", budget)
            if chunk is not None:
                yield chunk
            for ref, text in comments.get(sheet.title, ()):
                if budget.exhausted or not budget.take_cell():
                    break
                yield from _flat_chunks(text, f"sheet {sheet.title} {ref} comment", limits, budget)
    finally:
        workbook.close()


_NS_SML = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RT_WORKSHEET = _RT + "worksheet"
_RT_COMMENTS = _RT + "comments"


def xlsx_comments(data: bytes) -> dict[str, list[tuple[str, str]]]:
    """Sheet name -> [(cell reference, text)] of its cell comments (notes), from the zip with lxml.

    Modern threaded comments are also written by Excel as such a legacy comment (with the thread's
    text), so only these are read: a thread is not counted twice. A missing or malformed part
    (openpyxl read-only never parses them) gives no comments for that sheet, never a failure.
    """
    out: dict[str, list[tuple[str, str]]] = {}
    try:
        parts = _ZipParts(data, None)
        if sum(name.endswith(".rels") for name in parts.zf.NameToInfo) <= 2:
            return out  # package + workbook relationships only: no sheet has any, so no comments
        books = [t for rt, t in parts.rels_of("/").values() if rt == _RT_OFFICE_DOCUMENT and t]
        if len(books) != 1:
            return out
        book_rels = parts.rels_of(books[0])
        sheets = parts.tree(books[0]).find(_NS_SML + "sheets")
    except Exception as exc:
        log.info("xlsx comments unreadable", extra={"error": type(exc).__name__})
        return out
    for sheet in () if sheets is None else sheets:
        rel = book_rels.get(sheet.get(_NS_R + "id") or "")
        if rel is None or rel[0] != _RT_WORKSHEET or rel[1] is None:
            continue
        try:
            for rtype, target in parts.rels_of(rel[1]).values():
                if rtype != _RT_COMMENTS or target is None:
                    continue
                comment_list = parts.tree(target).find(_NS_SML + "commentList")
                for comment in () if comment_list is None else comment_list:
                    text_el = comment.find(_NS_SML + "text")
                    if comment.tag != _NS_SML + "comment" or text_el is None:
                        continue
                    text = "".join(t.text or "" for t in text_el.iter(_NS_SML + "t")
                                   if t.getparent().tag != _NS_SML + "rPh")  # not phonetic guides
                    if text.strip():
                        out.setdefault(sheet.get("name") or "", []).append((comment.get("ref") or "", text))
        except Exception as exc:
            log.info("xlsx comments unreadable", extra={"error": type(exc).__name__})
    return out


def _pptx(data: bytes, limits: ExtractLimits, budget: _Budget) -> Iterator[Chunk]:
    check_zip(data, limits)
    slides = read_pptx_direct(data)
    yield from _slide_chunks(_pptx_library_slides(data) if slides is None else iter(slides), limits, budget)


def _pptx_library(data: bytes, limits: ExtractLimits, budget: _Budget) -> Iterator[Chunk]:
    """python-pptx: the reference reader, used whenever the direct reader is not sure."""
    check_zip(data, limits)
    yield from _slide_chunks(_pptx_library_slides(data), limits, budget)


def _slide_chunks(slides: Iterator[PptxSlide], limits: ExtractLimits, budget: _Budget) -> Iterator[Chunk]:
    for number, slide in enumerate(slides, start=1):
        if number > limits.max_pages:
            budget.truncated = budget.truncated or f"max_pages {limits.max_pages}"
            break
        tables: list[Chunk] = []
        for rows in slide.tables:
            chunk = table_chunk(rows, f"slide {number} table", budget)
            if chunk is not None:
                tables.append(chunk)
        yield from _flat_chunks("\n".join(slide.texts), f"slide {number}", limits, budget)
        yield from tables
        # python-pptx's top-level shapes only skip group shapes: their text comes after, read once
        yield from _flat_chunks("\n".join(slide.group_texts), f"slide {number} group", limits, budget)
        for rows in slide.group_tables:
            chunk = table_chunk(rows, f"slide {number} group table", budget)
            if chunk is not None:
                yield chunk
        if budget.exhausted:
            break


@dataclass
class PptxSlide:
    texts: list[str]  # text frames in shape order, then the notes text
    tables: list[list[list[str]]]
    group_texts: list[str] = field(default_factory=list)  # text frames inside group shapes (recursively)
    group_tables: list[list[list[str]]] = field(default_factory=list)  # tables inside group shapes


def _pptx_library_slides(data: bytes) -> Iterator[PptxSlide]:
    import pptx
    from pptx.shapes.group import GroupShape

    def read(shapes: Any, texts: list[str], tables: list[list[list[str]]]) -> None:
        for shape in shapes:
            if getattr(shape, "has_table", False) and shape.has_table:
                tables.append([[cell.text for cell in row.cells] for row in shape.table.rows])
            elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
                texts.append(shape.text_frame.text)
            elif isinstance(shape, GroupShape):
                read(shape.shapes, out.group_texts, out.group_tables)

    presentation = pptx.Presentation(io.BytesIO(data))
    for slide in presentation.slides:
        out = PptxSlide([], [])
        read(slide.shapes, out.texts, out.tables)
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            out.texts.append(slide.notes_slide.notes_text_frame.text)
        yield out


# --------------------------------------------------------------------------- direct PPTX reader
# python-pptx loads every part of the package into objects (11 layouts, master, theme, ...):
# ~5 ms per small deck. ``read_pptx_direct`` replays its package checks with ``_Package`` (every
# reachable part present, typed and readable, its XML parts well-formed, main part of a
# presentation content type) and reads the text with python-pptx 1.0's rules: slides in
# ``p:sldIdLst`` order; top-level ``p:spTree`` shapes (python-pptx's ``slide.shapes``);
# ``p:sp`` with a ``p:txBody`` gives its text frame (paragraphs joined by "\n"; runs, fields, and
# "\v" for ``a:br``); a ``p:graphicFrame`` holding a DrawingML table gives rows of cell texts; the
# notes slide's first "body" placeholder gives the notes text. Group shapes (``p:grpSp``, which
# python-pptx's top-level reading skips) are entered recursively with the same rules - python-pptx's
# ``GroupShape.shapes`` on the fallback - into ``PptxSlide.group_*``: the "slide N group" chunks.
# Anything else it is unsure about (several notes slides, a run without text, a non-shape notes
# placeholder) returns None and python-pptx reads the file instead.

_NS_P = "{http://schemas.openxmlformats.org/presentationml/2006/main}"
_NS_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_CT_PML = "application/vnd.openxmlformats-officedocument.presentationml."
_CT_PPTX_MAIN = (_CT_PML + "presentation.main+xml", "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml")
_CT_SLIDE = _CT_PML + "slide+xml"
_CT_NOTES_SLIDE = _CT_PML + "notesSlide+xml"
# the parts python-pptx parses as XML when it opens a package (pptx/__init__.py part classes)
_PPTX_XML_PARTS = frozenset({
    *_CT_PPTX_MAIN, _CT_PML + "template.main+xml", _CT_PML + "slideshow.main+xml",
    "application/vnd.openxmlformats-package.core-properties+xml", _CT_PML + "notesMaster+xml", _CT_NOTES_SLIDE,
    _CT_SLIDE, _CT_PML + "slideLayout+xml", _CT_PML + "slideMaster+xml",
    "application/vnd.openxmlformats-officedocument.drawingml.chart+xml",
})
_PPTX_TEXT_PARTS = frozenset({*_CT_PPTX_MAIN, _CT_SLIDE, _CT_NOTES_SLIDE})
_RT_NOTES_SLIDE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/notesSlide"
_P_SHAPES = frozenset(_NS_P + t for t in ("sp", "grpSp", "graphicFrame", "cxnSp", "pic", "contentPart"))
_A_TABLE_URI = "http://schemas.openxmlformats.org/drawingml/2006/table"


def _a_text_frame(tx_body: Any) -> str:
    """python-pptx ``TextFrame.text``: ``a:p`` children joined by newlines."""
    paragraphs = []
    for p in tx_body:
        if p.tag != _NS_A + "p":
            continue
        parts = []
        for e in p:
            if e.tag == _NS_A + "r":
                t = e.find(_NS_A + "t")
                if t is None:
                    raise _Unsure("run without a:t")
                parts.append(t.text or "")
            elif e.tag == _NS_A + "br":
                parts.append("\v")
            elif e.tag == _NS_A + "fld":
                t = e.find(_NS_A + "t")
                parts.append("" if t is None else t.text or "")
        paragraphs.append("".join(parts))
    return "\n".join(paragraphs)


def _sp_tree(part: Any) -> Any:
    tree = part.find(f"{_NS_P}cSld/{_NS_P}spTree")
    if tree is None:
        raise _Unsure("no shape tree")
    return tree


_PP_PLACEHOLDER_TYPES = frozenset({  # python-pptx's PP_PLACEHOLDER values (another one makes it raise)
    "body", "chart", "clipArt", "ctrTitle", "dgm", "dt", "ftr", "hdr", "media", "obj", "pic", "sldImg", "sldNum",
    "subTitle", "tbl", "title",
})


def _placeholder_type(shape: Any) -> str | None:
    """python-pptx's ``./*[1]/p:nvPr/p:ph`` type ("obj" by default), None for a non-placeholder."""
    first = next((c for c in shape if isinstance(c.tag, str)), None)
    ph = None if first is None else first.find(f"{_NS_P}nvPr/{_NS_P}ph")
    if ph is None:
        return None
    kind = str(ph.get("type", "obj"))
    if kind not in _PP_PLACEHOLDER_TYPES:
        raise _Unsure("unknown placeholder type")
    return kind


def _read_shapes(shapes: Any, texts: list[str], tables: list[list[list[str]]], out: PptxSlide) -> None:
    """Text frames and tables of ``shapes``; group shapes' (recursively) into ``out.group_*``."""
    for shape in shapes:
        if shape.tag == _NS_P + "graphicFrame":
            data_el = shape.find(f"{_NS_A}graphic/{_NS_A}graphicData")
            if data_el is None:
                raise _Unsure("graphic frame without graphic data")
            if data_el.get("uri") == _A_TABLE_URI:
                tbl = data_el.find(_NS_A + "tbl")
                if tbl is None:
                    raise _Unsure("table without a:tbl")
                tables.append([
                    [_a_text_frame(tc.find(_NS_A + "txBody")) if tc.find(_NS_A + "txBody") is not None
                     else "" for tc in tr if tc.tag == _NS_A + "tc"]
                    for tr in tbl if tr.tag == _NS_A + "tr"
                ])
        elif shape.tag == _NS_P + "sp":
            body = shape.find(_NS_P + "txBody")
            if body is not None:
                texts.append(_a_text_frame(body))
        elif shape.tag == _NS_P + "grpSp":  # python-pptx's GroupShapes: the group's shape children
            _read_shapes(shape, out.group_texts, out.group_tables, out)


def read_pptx_direct(data: bytes) -> list[PptxSlide] | None:
    """Per slide: text frames (then notes) and table rows, as python-pptx reads them, or None."""
    try:
        pkg = _Package(data, _PPTX_XML_PARTS, _PPTX_TEXT_PARTS)
        main = [t for rtype, t in pkg.rels["/"].values() if rtype == _RT_OFFICE_DOCUMENT]
        if len(main) != 1 or main[0] is None or pkg.content_types.get(main[0]) not in _CT_PPTX_MAIN:
            raise _Unsure("main presentation part")
        presentation: Any = pkg.trees[main[0]]
        slides: list[PptxSlide] = []
        id_list = presentation.find(_NS_P + "sldIdLst")
        for sld_id in () if id_list is None else id_list:
            if sld_id.tag != _NS_P + "sldId":
                continue
            name = pkg.rels[main[0]].get(sld_id.get(_NS_R + "id") or "", ("", None))[1]
            slide_tree = pkg.related(main[0], sld_id.get(_NS_R + "id"), _CT_SLIDE)
            out = PptxSlide([], [])
            _read_shapes(_sp_tree(slide_tree), out.texts, out.tables, out)
            notes = [t for rtype, t in pkg.rels.get(name or "", {}).values() if rtype == _RT_NOTES_SLIDE]
            if len(notes) > 1 or (notes and notes[0] is None):
                raise _Unsure("notes slide relationship")
            if notes:
                if pkg.content_types.get(notes[0] or "") != _CT_NOTES_SLIDE:
                    raise _Unsure("notes slide type")
                for shape in _sp_tree(pkg.trees[notes[0] or ""]):
                    if shape.tag not in _P_SHAPES or _placeholder_type(shape) != "body":
                        continue
                    if shape.tag != _NS_P + "sp":
                        raise _Unsure("notes body placeholder is not a text shape")
                    body = shape.find(_NS_P + "txBody")
                    out.texts.append("" if body is None else _a_text_frame(body))
                    break
            slides.append(out)
        return slides
    except Exception:  # not sure, or a broken file: python-pptx reads it and decides
        return None


_HANDLERS = {
    MIME_TXT: _text,
    MIME_MD: _text,
    MIME_HTML: _html,
    MIME_RTF: _rtf,
    MIME_CSV: _csv,
    MIME_TSV: _tsv,
    MIME_PDF: _pdf,
    MIME_DOCX: _docx,
    MIME_XLSX: _xlsx,
    MIME_PPTX: _pptx,
}
