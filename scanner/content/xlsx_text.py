"""XLSX text: every sheet's cells as a table chunk (openpyxl, read-only) and the cell comments
(notes) read-only openpyxl skips, straight from the zip.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

from scanner.content.extract_base import Chunk, ExtractLimits, _Budget, _flat_chunks, table_chunk
from scanner.content.ooxml import _NS_R, _RT, _RT_OFFICE_DOCUMENT, _ZipParts, check_elements
from scanner.content.safezip import WORKSHEET_TYPE, inspect_zip

log = logging.getLogger(__name__)


def _xlsx(data: bytes, limits: ExtractLimits, budget: _Budget) -> Iterator[Chunk]:
    # openpyxl (read-only) streams worksheets (their rows were checked) and parses everything else whole
    check_elements(inspect_zip(data, limits, rows=True), limits, excluding_types=(WORKSHEET_TYPE,))
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
