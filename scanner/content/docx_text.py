"""DOCX text: the direct reader (python-docx's text, straight from the XML), the python-docx
reference path, and the text python-docx skips (text boxes, notes, comments, other headers...).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from scanner.content.extract_base import (
    Chunk,
    ExtractError,
    ExtractLimits,
    SkipKind,
    _Budget,
    _flat_chunks,
    split_text,
    table_chunk,
)
from scanner.content.ooxml import (
    _NS_R,
    _RT,
    _RT_OFFICE_DOCUMENT,
    _Package,
    _Parsed,
    _Unsure,
    _ZipParts,
    check_elements,
)
from scanner.content.safezip import ZipInventory

log = logging.getLogger(__name__)


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


@dataclass
class DocxContent:
    header_lines: list[str]
    paragraphs: list[str]
    tables: list[list[list[str]]]
    parsed: _Parsed | None = field(default=None, repr=False, compare=False)


_DOCX_TEXT_PARTS = frozenset({_CT_DOCX_MAIN, _CT_HEADER, _CT_FOOTER})  # the parts whose text is read


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
# libxml2's depth limit); the container passed ``safezip.inspect_zip`` first; at most ``max_pages`` extra
# parts are read; text and cells go through the budget. A missing or malformed extra part - which
# python-docx never parses - is skipped, never fatal.

_NS_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_MC_AC, _MC_BRANCHES = _NS_MC + "AlternateContent", frozenset({_NS_MC + "Choice", _NS_MC + "Fallback"})
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
        _residual_child(child, tables_read, boxes, other)


def _residual_child(child: Any, tables_read: bool, boxes: _Story, other: _Story) -> None:
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
    todo.extend(_note_parts(main_rels))
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
            elif location in _NOTE_LOCATIONS:
                _add_notes(part, stories[location])
            else:
                _story_add(part, stories[location], stories[location])
        except Exception as exc:  # a part python-docx never parses may be broken: skip it
            log.info("docx part unreadable", extra={"part": location, "error": type(exc).__name__})
    return stories


_NOTE_LOCATIONS = ("footnotes", "endnotes", "comments")


def _note_parts(main_rels: dict[str, tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    """(location, part) of the main part's footnotes, endnotes and comments."""
    return [(location, t) for location in _NOTE_LOCATIONS for rt, t in main_rels.values() if rt == _RT + location]


def _add_notes(part: Any, story: _Story) -> None:
    for note in part:
        if isinstance(note.tag, str) and note.get(_W_TYPE) not in _DOCX_NOTE_SKIP:
            _story_add(note, story, story)


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


# --------------------------------------------------------------------------- streaming DOCX reader
# A body too big to parse whole (its XML would hold more than ``max_xml_elements`` elements with the
# rest of the package, or the package is too big for python-docx, which holds every part's bytes)
# is read with lxml's iterparse: each direct child of w:body is read when it ends, then cleared and
# removed, so memory holds one paragraph or table at a time, whatever the part's size. The text is
# python-docx's where the direct reader's rules apply (paragraph runs and hyperlinks; table rows with
# spanned cells repeated); a table with vertically merged cells is read like the extra stories' tables
# (a merged cell's text once). Headers and footers: every one the main part relates to, in one
# "header/footer" chunk. Text boxes and the text python-docx skips go to the same extra locations as
# on the other paths, then footnotes, endnotes and comments. Reading stops when the budget is spent.


def docx_body_streams(inventory: ZipInventory, limits: ExtractLimits, *, library: bool = False) -> bool:
    """Whether the main part must be read streaming: its XML does not fit the parse-tree budget with the
    rest of the package, or (``library``: python-docx would read it) the package is too big for
    python-docx. Raises when even streaming would be over the budget."""
    if inventory.elements() <= limits.max_xml_elements and not (library and inventory.total > limits.max_library_bytes):
        return False
    facts = inventory.members.get(inventory.main_part or "")
    if facts is None or facts.content_type != _CT_DOCX_MAIN:
        raise ExtractError(SkipKind.CORRUPT, "no main document part of the Word document type")
    check_elements(inventory, limits, excluding=(facts.name,))
    return True


def docx_streamed_chunks(data: bytes, main: str, limits: ExtractLimits, budget: _Budget) -> Iterator[Chunk]:
    """Chunks of a DOCX whose body is read streaming (see the comment above)."""
    from lxml import etree

    parts = _ZipParts(data, None)
    main_name = "/" + main.lstrip("/")
    rels = parts.rels_of(main_name)
    header = _Story()
    for rtype, target in rels.values():
        if target is not None and rtype in (_RT + "header", _RT + "footer"):
            try:
                _story_add(parts.tree(target), header, header)
            except Exception as exc:  # noqa: BLE001 - a broken header is skipped, as python-docx would not
                log.info("docx header/footer unreadable", extra={"error": type(exc).__name__})
    yield from _flat_chunks("\n".join(dict.fromkeys(t for t in header.lines if t.strip())), "header/footer",
                            limits, budget)
    yield from _table_chunks(header.tables, "header/footer table", budget)

    boxes, other = _Story(), _Story()
    meter = _StoryMeter((boxes, other))
    tables: list[Chunk] = []  # after the body, as on the other paths (bounded by the cell budget)
    pending: list[str] = []  # paragraphs not yet in a chunk
    pending_len = offset = n_tables = 0

    def flush(final: bool) -> Iterator[Chunk]:
        """Body chunks cut where ``split_text`` cuts the whole body: a piece's end depends only on the
        ``chunk_chars`` after its start, so every piece but the last is final; the last waits for
        more paragraphs (joined to them by a newline, as in the whole body) unless ``final``."""
        nonlocal pending, pending_len, offset
        text = "\n".join(pending)
        pieces = list(split_text(text, limits.chunk_chars))
        keep = "" if final or not pieces else pieces.pop()[1]
        for piece_offset, piece in pieces:
            yield Chunk(text=budget.take_text(piece), part="body", base_offset=offset + piece_offset)
        offset += len(text) - len(keep)
        pending, pending_len = ([keep], len(keep)) if keep else ([], 0)

    with parts.zf.open(main_name[1:]) as fh:
        events = etree.iterparse(fh, events=("end",), remove_blank_text=True, resolve_entities=False,
                                 no_network=True, huge_tree=False)
        try:
            for _event, el in events:
                parent = el.getparent()
                if parent is None or parent.tag != _W_BODY:  # w:body's children, each once it is complete
                    continue
                if el.tag == _W_P:
                    pending.append(_p_text(el))
                    pending_len += len(pending[-1]) + 1
                residual = True
                if el.tag == _W_TBL:
                    try:
                        rows = _table_rows(el)
                    except _Unsure:  # vertically merged cells: every cell's text once, text boxes included
                        rows, residual = _story_rows(el, boxes), False
                    n_tables += 1
                    chunk = table_chunk(rows, f"table {n_tables}", budget)
                    if chunk is not None:
                        tables.append(chunk)
                if residual:
                    _residual_child(el, True, boxes, other)
                el.clear()
                parent.remove(el)
                if pending_len >= 2 * limits.chunk_chars:
                    yield from flush(final=False)
                if budget.exhausted or meter.grown() > limits.max_chars:
                    budget.truncated = budget.truncated or f"max_chars {limits.max_chars}"
                    break
        except etree.XMLSyntaxError as exc:
            raise ExtractError(SkipKind.CORRUPT, "corrupt or unreadable docx (XMLSyntaxError)") from exc
    yield from flush(final=True)
    yield from tables
    for location, story in (("text box", boxes), ("body (other)", other)):
        yield from _flat_chunks("\n".join(line for line in story.lines if line.strip()), location, limits, budget)
        yield from _table_chunks(story.tables, f"{location} table", budget)
    for location, target in _note_parts(rels):
        if budget.exhausted or target is None:
            break
        notes = _Story()
        try:
            _add_notes(parts.tree(target), notes)
        except Exception as exc:  # noqa: BLE001 - a part python-docx never parses may be broken: skip it
            log.info("docx part unreadable", extra={"part": location, "error": type(exc).__name__})
            continue
        yield from _flat_chunks("\n".join(line for line in notes.lines if line.strip()), location, limits, budget)
        yield from _table_chunks(notes.tables, f"{location} table", budget)


class _StoryMeter:
    """Characters held by some stories, counted as they grow (each line and table once)."""

    def __init__(self, stories: tuple[_Story, ...]) -> None:
        self.stories = stories
        self.seen = [(0, 0)] * len(stories)
        self.chars = 0

    def grown(self) -> int:
        for i, story in enumerate(self.stories):
            lines, tables = self.seen[i]
            self.chars += sum(len(line) for line in story.lines[lines:])
            self.chars += sum(len(c) for rows in story.tables[tables:] for row in rows for c in row)
            self.seen[i] = (len(story.lines), len(story.tables))
        return self.chars
