"""Text the Office libraries skip is still extracted - once, with a clear location.

python-docx / python-pptx / openpyxl (read-only) do not read DOCX text boxes, footnotes, endnotes,
comments, first-page / even-page headers and footers, content controls; PPTX group shapes; XLSX
cell comments. Each document below hides one unique marker in one such place (built with the
libraries, plus raw XML edits where they cannot); the marker must appear in exactly one chunk,
exactly once, at the expected location - on the direct readers and on the library fallbacks.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable

import pytest

from scanner.content import docx_text, extract_base, pptx_text
from scanner.content import extract as X

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_WML = "application/vnd.openxmlformats-officedocument.wordprocessingml."


def _save(document: object) -> bytes:
    buf = io.BytesIO()
    document.save(buf)  # type: ignore[attr-defined]
    return buf.getvalue()


def _rezip(data: bytes, edit: Callable[[dict[str, bytes]], None]) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    members = {name: src.read(name) for name in src.namelist()}
    edit(members)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for name, raw in members.items():
            out.writestr(name, raw)
    return buf.getvalue()


def _count(chunks: list[X.Chunk], marker: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in chunks:
        n = chunk.text.count(marker)
        if n:
            found[chunk.part] = found.get(chunk.part, 0) + n
    return found


# --------------------------------------------------------------------------- DOCX builders


def _docx_base() -> object:
    import docx

    d = docx.Document()
    d.add_paragraph("Body paragraph BODYMARK")
    return d


def _body_insert(xml: str) -> Callable[[dict[str, bytes]], None]:
    """Insert raw WordprocessingML before the body's final sectPr."""

    def edit(members: dict[str, bytes]) -> None:
        doc = members["word/document.xml"].decode()
        i = doc.rindex("<w:sectPr")
        members["word/document.xml"] = (doc[:i] + xml + doc[i:]).encode()

    return edit


def _textbox_run(marker: str, fallback_marker: str | None = None) -> str:
    """A Word 2010 text box: DrawingML in mc:Choice, the same text box as VML in mc:Fallback."""
    box = f'<w:txbxContent><w:p><w:r><w:t>{marker}</w:t></w:r></w:p></w:txbxContent>'
    fallback = box if fallback_marker is None else box.replace(marker, fallback_marker)
    return (
        '<w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wp:anchor>'
        '<a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
        '<a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">'
        f'<wps:wsp><wps:txbx>{box}</wps:txbx></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing>'
        f'</mc:Choice><mc:Fallback><w:pict><v:shape><v:textbox>{fallback}</v:textbox></v:shape></w:pict>'
        '</mc:Fallback></mc:AlternateContent></w:r>'
    )


def docx_textbox() -> bytes:
    return _rezip(_save(_docx_base()), _body_insert(f"<w:p><w:r><w:t>anchor </w:t></w:r>{_textbox_run('TXBXMARK')}</w:p>"))


def docx_textbox_table() -> bytes:
    table = (
        "<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Name</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Email</w:t></w:r></w:p>"
        "</w:tc></w:tr><w:tr><w:tc><w:p><w:r><w:t>Ana Costa</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r>"
        "<w:t>TBOXCELLMARK</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"
    )
    run = _textbox_run("x").replace("<w:p><w:r><w:t>x</w:t></w:r></w:p>", table + "<w:p/>")
    return _rezip(_save(_docx_base()), _body_insert(f"<w:p>{run}</w:p>"))


def docx_textbox_in_header() -> bytes:
    d: object = _docx_base()
    d.sections[0].header.paragraphs[0].text = "Default header DEFHEADERTEXT"  # type: ignore[attr-defined]
    data = _save(d)

    def edit(members: dict[str, bytes]) -> None:
        name = next(n for n in members if n.startswith("word/header"))
        xml = members[name].decode()
        members[name] = xml.replace("</w:hdr>", f"<w:p>{_textbox_run('HDRBOXMARK')}</w:p></w:hdr>").encode()

    return _rezip(data, edit)


def docx_content_control() -> bytes:
    return _rezip(_save(_docx_base()), _body_insert(
        "<w:sdt><w:sdtPr/><w:sdtContent><w:p><w:r><w:t>SDTMARK</w:t></w:r></w:p></w:sdtContent></w:sdt>"))


def _add_notes(kind: str, marker: str) -> Callable[[dict[str, bytes]], None]:
    """Add word/{kind}s.xml (separator + one note holding ``marker``) and reference it."""

    def edit(members: dict[str, bytes]) -> None:
        notes = (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:{kind}s xmlns:w="{_W}">'
            f'<w:{kind} w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:{kind}>'
            f'<w:{kind} w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/></w:r></w:p>'
            f'</w:{kind}><w:{kind} w:id="1"><w:p><w:r><w:t xml:space="preserve">{marker} </w:t></w:r></w:p>'
            f'<w:tbl><w:tr><w:tc><w:p><w:r><w:t>note cell</w:t></w:r></w:p></w:tc></w:tr></w:tbl></w:{kind}>'
            f'</w:{kind}s>'
        )
        members[f"word/{kind}s.xml"] = notes.encode()
        ct = members["[Content_Types].xml"].decode()
        members["[Content_Types].xml"] = ct.replace("</Types>", (
            f'<Override PartName="/word/{kind}s.xml" ContentType="{_WML}{kind}s+xml"/></Types>')).encode()
        rels = members["word/_rels/document.xml.rels"].decode()
        members["word/_rels/document.xml.rels"] = rels.replace("</Relationships>", (
            f'<Relationship Id="rIdNotes{kind}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            f'relationships/{kind}s" Target="{kind}s.xml"/></Relationships>')).encode()
        _body_insert(f'<w:p><w:r><w:t>see note</w:t></w:r><w:r><w:{kind}Reference w:id="1"/></w:r></w:p>')(members)

    return edit


def docx_footnote() -> bytes:
    return _rezip(_save(_docx_base()), _add_notes("footnote", "FOOTNOTEMARK"))


def docx_endnote() -> bytes:
    return _rezip(_save(_docx_base()), _add_notes("endnote", "ENDNOTEMARK"))


def docx_comment() -> bytes:
    d: object = _docx_base()
    paragraph = d.paragraphs[0]  # type: ignore[attr-defined]
    d.add_comment(paragraph.runs, text="Reviewer: COMMENTMARK", author="Reviewer")  # type: ignore[attr-defined]
    return _save(d)


def docx_first_page_header() -> bytes:
    d: object = _docx_base()
    section = d.sections[0]  # type: ignore[attr-defined]
    section.header.paragraphs[0].text = "Default header DEFHEADERTEXT"
    section.different_first_page_header_footer = True
    section.first_page_header.paragraphs[0].text = "FIRSTHDRMARK"
    return _save(d)


def docx_even_footer_second_section() -> bytes:
    from docx.enum.section import WD_SECTION

    d: object = _docx_base()
    s2 = d.add_section(WD_SECTION.NEW_PAGE)  # type: ignore[attr-defined]
    s2.even_page_footer.is_linked_to_previous = False
    s2.even_page_footer.paragraphs[0].text = "EVENFTRMARK"
    return _save(d)


def docx_first_page_footer_shared_by_sections() -> bytes:
    """Two sections referencing the same first-page footer part: read once."""
    from docx.enum.section import WD_SECTION

    d: object = _docx_base()
    s1 = d.sections[0]  # type: ignore[attr-defined]
    s1.different_first_page_header_footer = True
    s1.first_page_footer.paragraphs[0].text = "SHAREDFTRMARK"
    d.add_section(WD_SECTION.NEW_PAGE)  # type: ignore[attr-defined]
    data = _save(d)

    def edit(members: dict[str, bytes]) -> None:  # copy section 1's first-page reference into section 2
        doc = members["word/document.xml"].decode()
        ref = re.search(r'<w:footerReference w:type="first" r:id="[^"]+"/>', doc)
        assert ref is not None
        i = doc.rindex("<w:sectPr")
        j = doc.index(">", i) + 1
        members["word/document.xml"] = (doc[:j] + ref.group(0) + doc[j:]).encode()

    return _rezip(data, edit)


# (builder, marker, expected location)
DOCX_CASES = [
    (docx_textbox, "TXBXMARK", "text box"),
    (docx_textbox_table, "TBOXCELLMARK", "text box table 1"),
    (docx_textbox_in_header, "HDRBOXMARK", "header/footer text box"),
    (docx_textbox_in_header, "DEFHEADERTEXT", "header/footer"),
    (docx_content_control, "SDTMARK", "body (other)"),
    (docx_footnote, "FOOTNOTEMARK", "footnotes"),
    (docx_endnote, "ENDNOTEMARK", "endnotes"),
    (docx_comment, "COMMENTMARK", "comments"),
    (docx_first_page_header, "FIRSTHDRMARK", "header (first page)"),
    (docx_first_page_header, "DEFHEADERTEXT", "header/footer"),
    (docx_even_footer_second_section, "EVENFTRMARK", "footer (even page)"),
    (docx_first_page_footer_shared_by_sections, "SHAREDFTRMARK", "footer (first page)"),
]


def _docx_paths(data: bytes) -> dict[str, list[X.Chunk]]:
    """Chunks from the direct reader and from the python-docx fallback."""
    limits = X.ExtractLimits()
    out = {}
    for name, handler in (("direct", X._docx), ("python-docx", docx_text._docx_library)):
        out[name] = [c for c in handler(data, limits, extract_base._Budget(limits)) if c.text.strip()]
    return out


@pytest.mark.parametrize(("make", "marker", "part"), DOCX_CASES, ids=[c[1] for c in DOCX_CASES])
def test_docx_hidden_text_read_once(make: Callable[[], bytes], marker: str, part: str) -> None:
    data = make()
    assert docx_text.read_docx_direct(data) is not None  # the fast path takes these files
    result = X.extract(data, "", "x.docx")
    assert result.ok and not result.truncated
    assert _count(result.chunks, marker) == {part: 1}
    assert _count(result.chunks, "BODYMARK") == {"body": 1}
    paths = _docx_paths(data)
    assert paths["direct"] == result.chunks
    assert paths["python-docx"] == paths["direct"]  # the fallback reads the same extra text


def test_docx_text_box_fallback_branch_is_not_read_twice() -> None:
    """mc:Choice and mc:Fallback hold the same text box: the first text-bearing branch only."""
    data = _rezip(_save(_docx_base()), _body_insert(f"<w:p>{_textbox_run('CHOICEMARK', 'FALLBACKMARK')}</w:p>"))
    chunks = X.extract(data, "", "x.docx").chunks
    assert _count(chunks, "CHOICEMARK") == {"text box": 1}
    assert _count(chunks, "FALLBACKMARK") == {}


def test_docx_text_box_table_keeps_rows() -> None:
    chunks = X.extract(docx_textbox_table(), "", "x.docx").chunks
    table = next(c for c in chunks if c.part == "text box table 1")
    assert table.rows == (("Name", "Email"), ("Ana Costa", "TBOXCELLMARK"))
    assert table.cell_at(table.text.index("TBOXCELLMARK")) == "B2"


def test_docx_extra_parts_respect_the_text_cap() -> None:
    limits = X.ExtractLimits(max_chars=40)
    result = X.extract(docx_footnote(), "", "x.docx", limits)
    assert result.ok and result.truncated and result.chars <= 40


def test_docx_malformed_footnotes_part_is_skipped_not_fatal() -> None:
    """python-docx never parses footnotes.xml: a broken one must not lose the body."""

    def edit(members: dict[str, bytes]) -> None:
        members["word/footnotes.xml"] = members["word/footnotes.xml"][:-30]

    data = _rezip(docx_footnote(), edit)
    result = X.extract(data, "", "x.docx")
    assert result.ok and _count(result.chunks, "BODYMARK") == {"body": 1}
    assert _count(result.chunks, "FOOTNOTEMARK") == {}


# --------------------------------------------------------------------------- PPTX


def pptx_groups() -> bytes:
    import pptx
    from pptx.util import Inches

    prs = pptx.Presentation()
    s1 = prs.slides.add_slide(prs.slide_layouts[6])
    s1.shapes.add_textbox(Inches(1), Inches(1), Inches(2), Inches(1)).text_frame.text = "top level TOPMARK"
    group = s1.shapes.add_group_shape()
    group.shapes.add_textbox(Inches(1), Inches(2), Inches(2), Inches(1)).text_frame.text = "GROUPMARK"
    inner = group.shapes.add_group_shape()
    inner.shapes.add_textbox(Inches(1), Inches(3), Inches(2), Inches(1)).text_frame.text = "NESTEDMARK"
    s1.notes_slide.notes_text_frame.text = "notes NOTESMARK"
    s2 = prs.slides.add_slide(prs.slide_layouts[6])
    s2.shapes.add_textbox(Inches(1), Inches(1), Inches(2), Inches(1)).text_frame.text = "slide two"
    frame = s2.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(4), Inches(2))
    table = frame.table
    table.cell(0, 0).text = "Name"
    table.cell(0, 1).text = "Email"
    table.cell(1, 0).text = "Ana Costa"
    table.cell(1, 1).text = "GTABLEMARK"
    group2 = s2.shapes.add_group_shape()
    group2.shapes._spTree.append(frame._element)  # python-pptx cannot add a table to a group: move it
    return _save(prs)


PPTX_CASES = [
    ("TOPMARK", "slide 1"),
    ("NOTESMARK", "slide 1"),
    ("GROUPMARK", "slide 1 group"),
    ("NESTEDMARK", "slide 1 group"),
    ("GTABLEMARK", "slide 2 group table"),
]


@pytest.mark.parametrize(("marker", "part"), PPTX_CASES, ids=[c[0] for c in PPTX_CASES])
@pytest.mark.parametrize("path", ["direct", "python-pptx"])
def test_pptx_group_shapes_read_once(marker: str, part: str, path: str) -> None:
    data = pptx_groups()
    assert pptx_text.read_pptx_direct(data) is not None
    limits = X.ExtractLimits()
    handler = X._pptx if path == "direct" else pptx_text._pptx_library
    chunks = [c for c in handler(data, limits, extract_base._Budget(limits)) if c.text.strip()]
    assert _count(chunks, marker) == {part: 1}
    if part.endswith("table"):
        table = next(c for c in chunks if c.part == part)
        assert table.rows == (("Name", "Email"), ("Ana Costa", "GTABLEMARK"))


# --------------------------------------------------------------------------- XLSX


def xlsx_hidden_and_comments() -> bytes:
    import openpyxl
    from openpyxl.comments import Comment

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws["A1"] = "visible VISIBLEMARK"
    ws["B3"] = "commented cell"
    ws["B3"].comment = Comment("note COMMENTMARK", "Reviewer")
    hidden = wb.create_sheet("Hidden")
    hidden["A1"] = "SECRETSHEETMARK"
    hidden.sheet_state = "hidden"
    very = wb.create_sheet("Very")
    very["C2"] = "VERYHIDDENMARK"
    very["D4"].comment = Comment("VNOTEMARK", "Reviewer")
    very.sheet_state = "veryHidden"
    return _save(wb)


XLSX_CASES = [
    ("VISIBLEMARK", "sheet Data"),
    ("SECRETSHEETMARK", "sheet Hidden"),
    ("VERYHIDDENMARK", "sheet Very"),
    ("COMMENTMARK", "sheet Data B3 comment"),
    ("VNOTEMARK", "sheet Very D4 comment"),
]


@pytest.mark.parametrize(("marker", "part"), XLSX_CASES, ids=[c[0] for c in XLSX_CASES])
def test_xlsx_hidden_sheets_and_cell_comments_read_once(marker: str, part: str) -> None:
    result = X.extract(xlsx_hidden_and_comments(), "", "book.xlsx")
    assert result.ok and not result.truncated
    assert _count(result.chunks, marker) == {part: 1}


def test_xlsx_comment_order_follows_its_sheet() -> None:
    parts = [c.part for c in X.extract(xlsx_hidden_and_comments(), "", "book.xlsx").chunks]
    assert parts == ["sheet Data", "sheet Data B3 comment", "sheet Hidden", "sheet Very", "sheet Very D4 comment"]


def test_xlsx_comments_count_against_the_cell_cap() -> None:
    result = X.extract(xlsx_hidden_and_comments(), "", "book.xlsx", X.ExtractLimits(max_cells=2))
    assert result.ok and result.truncation == "max_cells 2"
    assert not any("comment" in c.part for c in result.chunks)
