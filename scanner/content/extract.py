"""Bytes + MIME type (+ file name) → bounded text chunks with locations.

``extract(data, mime_type, name, limits)`` never raises for bad input: corrupt, encrypted,
unsupported, oversized or hostile documents come back as ``ExtractResult(ok=False,
reason="not analysed: <reason>", skip=SkipKind.<why>)``. Hitting a cap on chars/pages/cells keeps
what was read and sets ``truncated=True``.

Chunks keep structure: a spreadsheet sheet, CSV file, DOCX or PPTX table becomes a chunk with
``rows`` (list of cell strings) so detectors can use headers and columns; flat text is split on
paragraph boundaries at ``limits.chunk_chars``. Office text the libraries skip (DOCX text boxes,
footnotes, comments, first/even-page headers; PPTX group shapes; XLSX cell comments) comes in extra
chunks with their own locations, each piece once (scanner/detect/README.md lists them).

Memory stays bounded whatever a file declares (``ExtractLimits`` has the budgets): OOXML containers
(docx/xlsx/pptx) are inflated member by member as a stream and checked (``safezip``) BEFORE any
library opens them; XML parsed whole must fit the parse-tree budget (a bigger DOCX body is read
streaming); PDFs are read page by page under stream and page budgets (``pdf_text``).

This module is the entry point (format dispatch, limits, plain text, CSV, HTML, RTF). The other
readers live beside it: ``safezip`` (container check), ``ooxml`` (parse budget, package walker,
well-formedness memo), ``docx_text``, ``xlsx_text``, ``pptx_text``, ``pdf_text``; the shared small
types in ``extract_base``.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import PurePath

from scanner.content.docx_text import (
    _docx_library,
    _docx_library_equivalent,
    docx_body_streams,
    docx_extra_chunks,
    docx_streamed_chunks,
    read_docx_direct,
)
from scanner.content.extract_base import (
    Chunk,
    ExtractError,
    ExtractLimits,
    SkipKind,
    _Budget,
    _flat_chunks,
    table_chunk,
)
from scanner.content.pdf_text import pdf_chunks
from scanner.content.pptx_text import _pptx_library_slides, _slide_chunks, pptx_check, read_pptx_direct
from scanner.content.safezip import inspect_zip
from scanner.content.xlsx_text import _xlsx

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


@dataclass
class ExtractResult:
    ok: bool
    reason: str | None = None
    skip: SkipKind | None = None  # why not (typed) when ok is False
    chunks: list[Chunk] = field(default_factory=list)
    truncated: bool = False
    truncation: str | None = None
    bytes_read: int = 0
    mime_type: str = ""

    @property
    def chars(self) -> int:
        return sum(len(c.text) for c in self.chunks)


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
        result.skip = SkipKind.TOO_LARGE
        return result
    handler = _HANDLERS.get(mime)
    if handler is None:
        result.reason = f"not analysed: unsupported type {mime or 'unknown'}"
        result.skip = SkipKind.UNSUPPORTED
        return result
    budget = _Budget(limits)
    try:
        chunks = [c for c in handler(data, limits, budget) if c.text.strip()]
    except ExtractError as exc:
        result.reason = f"not analysed: {exc}"
        result.skip = exc.kind
        if exc.kind.hostile:
            log.warning("hostile document not analysed", extra={"mime": mime, "skip": exc.kind.value})
        return result
    except Exception as exc:  # corrupt input makes parsers raise anything; never leak it
        log.info("extract failed", extra={"mime": mime, "error": type(exc).__name__})
        result.reason = f"not analysed: corrupt or unreadable {_short(mime)} ({type(exc).__name__})"
        result.skip = SkipKind.CORRUPT
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


# --------------------------------------------------------------------------- handlers


def _text(data: bytes, limits: ExtractLimits, budget: _Budget) -> Iterator[Chunk]:
    text = decode_text(data)
    if _looks_binary(text):
        raise ExtractError(SkipKind.NOT_TEXT, "binary content, not text")
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
        raise ExtractError(SkipKind.NOT_TEXT, "binary content, not HTML")
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
        raise ExtractError(SkipKind.CORRUPT, "not an RTF document")
    yield from _flat_chunks(rtf_to_text(raw), "", limits, budget)


def _csv(
    data: bytes, limits: ExtractLimits, budget: _Budget, delimiter: str | None = None
) -> Iterator[Chunk]:
    text = decode_text(data)
    if _looks_binary(text):
        raise ExtractError(SkipKind.NOT_TEXT, "binary content, not CSV")
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


def _pdf(data: bytes, limits: ExtractLimits, budget: _Budget) -> Iterator[Chunk]:
    return pdf_chunks(data, limits, budget)


# The DOCX/PPTX handlers pick the direct reader or the library fallback; they look ``read_docx_direct``
# and ``read_pptx_direct`` up in this module (benchmarks/bench_detect.py switches them off here).


def _docx(data: bytes, limits: ExtractLimits, budget: _Budget) -> Iterator[Chunk]:
    inventory = inspect_zip(data, limits)
    if docx_body_streams(inventory, limits):
        yield from docx_streamed_chunks(data, inventory.main_part or "", limits, budget)
        return
    content = read_docx_direct(data)
    if content is None:
        if docx_body_streams(inventory, limits, library=True):  # python-docx holds every part's bytes
            yield from docx_streamed_chunks(data, inventory.main_part or "", limits, budget)
            return
        yield from _docx_library(data, limits, budget)
        return
    yield from _docx_library_equivalent(content, limits, budget)
    yield from docx_extra_chunks(data, limits, budget, content.parsed)


def _pptx(data: bytes, limits: ExtractLimits, budget: _Budget) -> Iterator[Chunk]:
    pptx_check(inspect_zip(data, limits), limits)
    slides = read_pptx_direct(data)
    yield from _slide_chunks(_pptx_library_slides(data) if slides is None else iter(slides), limits, budget)


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
