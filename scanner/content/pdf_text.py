"""PDF text (pypdf), page by page, within a memory budget whatever the file declares.

- pypdf's own limits, tightened for one run of extraction: every stream filter's output and the
  declared stream length at most ``max_pdf_stream_bytes``; the flattened page tree at most
  ``max_pdf_page_tree_entries`` entries (a million pages can be one page referenced through ten
  levels of ten kids); no external decoder is ever started (``jbig2dec``).
- Before a page's text is read, the streams it will need are decoded one by one (the page's
  contents, the form XObjects it draws, recursively, and its fonts' ToUnicode maps; pypdf keeps
  the decoded data, so nothing is decoded twice): more than ``max_pdf_page_bytes`` in all refuses
  the document; the pages' decoded bytes together stop reading at ``max_pdf_total_bytes``
  (``truncated``, the text read so far is kept).
- After each page, pypdf's object cache is emptied: decoded streams of the pages already read are
  freed instead of accumulating (a page is re-read from the file only if asked for again).

Any of pypdf's limits reached (``LimitReachedError``) refuses the document as ``pdf_limit``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from scanner.content.extract_base import MIB, Chunk, ExtractError, ExtractLimits, SkipKind, _Budget, _flat_chunks

#: Streams walked for one page (contents, forms, ToUnicode maps) before the page is refused.
MAX_PAGE_STREAMS = 5_000


def pypdf_limits(limits: ExtractLimits) -> dict[str, Any]:
    """``pypdf.apply_configuration`` overrides for ``limits``."""
    cap = limits.max_pdf_stream_bytes
    return {
        "maximum_declared_stream_length": cap,
        "array_based_stream_maximum_output_length": cap,
        "jbig2_maximum_output_length": cap,
        "lzw_maximum_output_length": cap,
        "run_length_maximum_output_length": cap,
        "zlib_maximum_output_length": cap,
        "brotli_maximum_output_length": cap,
        "image_maximum_buffer_size": cap,
        "stream_decoding_work_maximum_length": 2 * cap,
        "page_tree_maximum_page_entries": limits.max_pdf_page_tree_entries,
        "jbig2dec_binary": None,
    }


def pdf_chunks(data: bytes, limits: ExtractLimits, budget: _Budget) -> Iterator[Chunk]:
    import pypdf
    from pypdf.errors import LimitReachedError, PdfReadError

    if not data.lstrip()[:1024].startswith(b"%PDF"):
        raise ExtractError(SkipKind.CORRUPT, "not a PDF (no %PDF header)")
    pages: list[Chunk] = []
    try:
        with pypdf.apply_configuration(**pypdf_limits(limits)):
            try:
                reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
            except PdfReadError as exc:
                raise ExtractError(SkipKind.CORRUPT, "corrupt or truncated PDF") from exc
            if reader.is_encrypted:
                try:
                    ok = reader.decrypt("")
                except Exception as exc:
                    raise ExtractError(SkipKind.ENCRYPTED, "encrypted PDF") from exc
                if not ok:
                    raise ExtractError(SkipKind.ENCRYPTED, "encrypted PDF")
            spent = 0
            for number, page in enumerate(reader.pages, start=1):
                if number > limits.max_pages:
                    budget.truncated = budget.truncated or f"max_pages {limits.max_pages}"
                    break
                cost = _page_stream_bytes(page, number, limits)
                spent += cost
                if spent > limits.max_pdf_total_bytes:
                    budget.truncated = budget.truncated or f"max_pdf_total_bytes {limits.max_pdf_total_bytes}"
                    break
                text = page.extract_text() or ""
                pages.extend(_flat_chunks(text, f"page {number}", limits, budget))
                reader.resolved_objects.clear()  # free this page's decoded streams
                if budget.exhausted:
                    break
    except LimitReachedError as exc:
        raise ExtractError(SkipKind.PDF_LIMIT, f"PDF over a safety limit ({_limit_name(exc)})") from exc
    yield from pages


def _limit_name(exc: Exception) -> str:
    """pypdf's message names the limit and numbers, never document text."""
    return str(exc).split(":", 1)[0][:120] or type(exc).__name__


def _resolve(obj: Any) -> Any:
    return obj.get_object() if hasattr(obj, "get_object") else obj


def _page_stream_bytes(page: Any, number: int, limits: ExtractLimits) -> int:
    """Decode (once: pypdf keeps it) every stream the page's text needs; their total size."""
    from pypdf.generic import ArrayObject, DictionaryObject, StreamObject

    total = 0
    seen: set[int] = set()
    todo: list[Any] = [page]  # page, then form XObjects: things with /Contents or a stream, and /Resources
    streams = 0

    def count(stream: Any) -> None:
        nonlocal total, streams
        stream = _resolve(stream)
        if not isinstance(stream, StreamObject) or id(stream) in seen:
            return
        seen.add(id(stream))
        streams += 1
        total += len(stream.get_data())
        if total > limits.max_pdf_page_bytes or streams > MAX_PAGE_STREAMS:
            raise ExtractError(SkipKind.PDF_LIMIT, f"page {number}: its content streams inflate past "
                               f"{limits.max_pdf_page_bytes // MIB} MiB or number over {MAX_PAGE_STREAMS:,}")

    while todo:
        node = _resolve(todo.pop())
        if not isinstance(node, DictionaryObject) or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, StreamObject):  # a form XObject
            count(node)
        contents = _resolve(node.get("/Contents"))
        for part in contents if isinstance(contents, ArrayObject) else [contents]:
            count(part)
        resources = _resolve(node.get("/Resources"))
        if not isinstance(resources, DictionaryObject):
            continue
        xobjects = _resolve(resources.get("/XObject"))
        if isinstance(xobjects, DictionaryObject):
            for ref in xobjects.values():
                xobject = _resolve(ref)
                if isinstance(xobject, StreamObject) and xobject.get("/Subtype") == "/Form":
                    todo.append(xobject)
        fonts = _resolve(resources.get("/Font"))
        if isinstance(fonts, DictionaryObject):
            for ref in fonts.values():
                font = _resolve(ref)
                if isinstance(font, DictionaryObject):
                    count(font.get("/ToUnicode"))
                    if font.get("/Subtype") == "/Type3":
                        todo.append(font)  # its glyph procedures draw with its own resources
                        procs = _resolve(font.get("/CharProcs"))
                        if isinstance(procs, DictionaryObject):
                            for proc in procs.values():
                                count(proc)
    return total
