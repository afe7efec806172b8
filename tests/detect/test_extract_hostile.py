from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from scanner.content.extract import ExtractLimits, extract
from scanner.content.extract_base import SkipKind

CORPUS = Path(__file__).parent.parent / "data" / "corpus"


def test_zip_bomb_docx_refused() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"\0" * (50 * 1024 * 1024))
    r = extract(buf.getvalue(), "", "bomb.docx")
    assert not r.ok and "zip" in (r.reason or "")


def test_truncated_pdf() -> None:
    data = (CORPUS / "invoice_bank.pdf").read_bytes()[:200]
    r = extract(data, "application/pdf", "x.pdf")
    assert r.ok is False or not r.chunks


def test_encrypted_pdf() -> None:
    from pypdf import PdfReader, PdfWriter

    w = PdfWriter()
    for page in PdfReader(CORPUS / "invoice_bank.pdf").pages:
        w.add_page(page)
    w.encrypt("s3cret", algorithm="RC4-128")
    buf = io.BytesIO()
    w.write(buf)
    r = extract(buf.getvalue(), "application/pdf", "x.pdf")
    assert not r.ok and r.reason == "not analysed: encrypted PDF"


def test_binary_garbage_txt() -> None:
    data = bytes(range(256)) * 200
    r = extract(data, "text/plain", "notes.txt")
    assert not r.ok and "binary" in (r.reason or "")


def test_big_text_truncated() -> None:
    data = b"lorem ipsum dolor sit amet\n" * (50 * 1024 * 1024 // 27)
    r = extract(data, "text/plain", "big.txt", ExtractLimits(max_chars=1_000_000))
    assert r.ok and r.truncated and r.chars == 1_000_000


def test_too_large_refused() -> None:
    r = extract(b"x" * 2000, "text/plain", "a.txt", ExtractLimits(max_bytes=1000))
    assert not r.ok and r.reason == "not analysed: too large (2000 bytes > 1000)"


@pytest.mark.parametrize("data,mime,name", [
    (b"PK\x03\x04garbage", "", "x.xlsx"), (b"%PDF-1.4 nonsense", "application/pdf", ""),
    (b"\x00\x01", "application/zip", "x.zip"),
])
def test_corrupt_or_unsupported_never_raises(data: bytes, mime: str, name: str) -> None:
    r = extract(data, mime, name)
    assert not r.ok and r.reason and r.reason.startswith("not analysed:")


def test_utf16_csv_rows_and_cells() -> None:
    r = extract("Name,Email\nAna Costa,ana@x.io\n".encode("utf-16"), "text/csv", "a.csv")
    chunk = r.chunks[0]
    assert chunk.rows == (("Name", "Email"), ("Ana Costa", "ana@x.io"))
    assert chunk.cell_at(chunk.text.index("ana@")) == "B2"


@pytest.mark.parametrize("needle,cell,row", [
    ("Name", "A1", 0),
    ("Email", "B1", 0),
    ("Ana", "A2", 1),
    ("Costa", "A2", 1),  # inside a cell
    ("\tana@", "A2", 1),  # the tab after a cell still belongs to it
    ("bo@", "C3", 2),  # B3 is empty: C3 starts after it
])
def test_cell_and_row_at(needle: str, cell: str, row: int) -> None:
    chunk = extract(b"Name,Email\nAna Costa,ana@x.io\nBo Li,,bo@x.io\n", "text/csv", "a.csv").chunks[0]
    offset = chunk.text.index(needle)
    assert (chunk.cell_at(offset), chunk.row_at(offset)) == (cell, row)


def test_flat_text_has_no_cells() -> None:
    chunk = extract(b"Name: Ana Costa", "text/plain", "a.txt").chunks[0]
    assert (chunk.cell_at(3), chunk.row_at(3)) == (None, None)


# --------------------------------------------------------------------------- parts the libraries skip
# The extra DOCX/XLSX parts (footnotes, comments, first-page headers, cell comments...) are read by
# sharescan itself, so they get the same hostile-input treatment as the library-read parts.


def _docx_with(xml_edit: object) -> bytes:
    from tests.detect.test_extract_coverage import _docx_base, _rezip, _save

    return _rezip(_save(_docx_base()), xml_edit)  # type: ignore[arg-type]


def test_entity_bomb_in_footnotes_not_expanded() -> None:
    from tests.detect.test_extract_coverage import _rezip, docx_footnote

    lol = "".join(f'<!ENTITY l{i} "&l{i - 1};&l{i - 1};&l{i - 1};&l{i - 1};&l{i - 1};">' for i in range(1, 12))
    bomb = (f'<?xml version="1.0"?><!DOCTYPE w:footnotes [<!ENTITY l0 "LOL">{lol}]>'
            '<w:footnotes xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            '<w:footnote w:id="1"><w:p><w:r><w:t>&l11; BOMBMARK</w:t></w:r></w:p></w:footnote></w:footnotes>')
    def edit(members: dict[str, bytes]) -> None:
        members["word/footnotes.xml"] = bomb.encode()  # replaces docx_footnote()'s part

    r = extract(_rezip(docx_footnote(), edit), "", "x.docx")
    # OPC forbids DTDs in package XML ([M1.18]: an error): the file is refused before any part is parsed
    assert (r.ok, r.skip, r.chunks) == (False, SkipKind.XML_DTD, [])
    assert r.reason == "not analysed: word/footnotes.xml declares a document type (DTD), which OOXML forbids"


def test_deeply_nested_content_controls_read_once() -> None:
    from tests.detect.test_extract_coverage import _body_insert

    depth = 120  # 240 levels: libxml2 refuses deeper documents (python-docx too)
    xml = "<w:sdt><w:sdtContent>" * depth + "<w:p><w:r><w:t>DEEPMARK</w:t></w:r></w:p>" + "</w:sdtContent></w:sdt>" * depth
    r = extract(_docx_with(_body_insert(xml)), "", "x.docx")
    assert r.ok
    assert [(c.part, c.text.count("DEEPMARK")) for c in r.chunks if "DEEPMARK" in c.text] == [("body (other)", 1)]


def test_doubling_alternate_content_read_once_and_fast() -> None:
    """Each mc:AlternateContent level holds the text in both branches: one branch is read per level."""
    import time

    from tests.detect.test_extract_coverage import _body_insert

    inner = "<w:p><w:r><w:t>EXPMARK</w:t></w:r></w:p>"
    for _ in range(14):
        inner = (f'<mc:AlternateContent><mc:Choice Requires="wps">{inner}</mc:Choice>'
                 f'<mc:Fallback>{inner}</mc:Fallback></mc:AlternateContent>')
    data = _docx_with(_body_insert(inner))
    start = time.perf_counter()
    r = extract(data, "", "x.docx")
    assert time.perf_counter() - start < 5
    assert r.ok and sum(c.text.count("EXPMARK") for c in r.chunks) == 1


def test_extra_docx_parts_capped_by_max_pages() -> None:
    import docx
    from docx.enum.section import WD_SECTION

    d = docx.Document()
    for i in range(3):
        section = d.sections[0] if i == 0 else d.add_section(WD_SECTION.NEW_PAGE)
        section.different_first_page_header_footer = True
        section.first_page_header.is_linked_to_previous = False
        section.first_page_header.paragraphs[0].text = f"FIRSTPAGE{i}"
    buf = io.BytesIO()
    d.save(buf)
    full = extract(buf.getvalue(), "", "x.docx")
    assert full.ok and not full.truncated
    assert [c.text for c in full.chunks if c.part == "header (first page)"] == ["FIRSTPAGE0\nFIRSTPAGE1\nFIRSTPAGE2"]
    capped = extract(buf.getvalue(), "", "x.docx", ExtractLimits(max_pages=2))
    assert capped.ok and capped.truncation == "max_pages 2"
    assert [c.text for c in capped.chunks if c.part == "header (first page)"] == ["FIRSTPAGE0\nFIRSTPAGE1"]


def test_malformed_xlsx_comments_part_keeps_the_cells() -> None:
    from tests.detect.test_extract_coverage import _rezip, xlsx_hidden_and_comments

    def edit(members: dict[str, bytes]) -> None:
        for name in [n for n in members if n.startswith("xl/comments")]:
            members[name] = members[name][:-20]

    r = extract(_rezip(xlsx_hidden_and_comments(), edit), "", "book.xlsx")
    assert r.ok and [c.part for c in r.chunks] == ["sheet Data", "sheet Hidden", "sheet Very"]
