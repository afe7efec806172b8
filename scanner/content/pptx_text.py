"""PPTX text: slides as chunks, from the direct reader (python-pptx's text, straight from the XML)
or the python-pptx reference path, group shapes' text included.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from scanner.content.extract_base import (
    Chunk,
    ExtractError,
    ExtractLimits,
    SkipKind,
    _Budget,
    _flat_chunks,
    table_chunk,
)
from scanner.content.ooxml import _NS_R, _RT_OFFICE_DOCUMENT, _Package, _Unsure, check_elements
from scanner.content.safezip import ZipInventory, inspect_zip


def pptx_check(inventory: ZipInventory, limits: ExtractLimits) -> None:
    """Refuse a deck whose parts could not be parsed within the memory budget (python-pptx parses every
    part whole and holds every part's bytes; the direct reader holds every slide's tree)."""
    check_elements(inventory, limits)
    if inventory.total > limits.max_library_bytes:
        raise ExtractError(SkipKind.PART_TOO_LARGE, f"its parts inflate to {inventory.total:,} bytes (> "
                           f"{limits.max_library_bytes:,} the presentation reader may hold)")


def _pptx_library(data: bytes, limits: ExtractLimits, budget: _Budget) -> Iterator[Chunk]:
    """python-pptx: the reference reader, used whenever the direct reader is not sure."""
    pptx_check(inspect_zip(data, limits), limits)
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
