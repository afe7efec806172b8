"""PPTX and RTF extraction: exact chunks, parts, rows and text."""

from __future__ import annotations

import io

import pytest

from scanner.content.extract import MIME_PPTX, ExtractLimits, extract, rtf_to_text


def _pptx() -> bytes:
    import pptx
    from pptx.util import Inches

    prs = pptx.Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[1])
    slide.shapes.title.text = "Vendor kickoff"
    slide.placeholders[1].text = "Goals\nTimeline"
    slide.notes_slide.notes_text_frame.text = "Speaker: mention KESTREL"
    slide2 = prs.slides.add_slide(prs.slide_layouts[5])
    slide2.shapes.title.text = "Team"
    table = slide2.shapes.add_table(3, 2, Inches(0.5), Inches(1.5), Inches(6), Inches(2)).table
    for r, row in enumerate([("Name", "Email"), ("Ana Costa", "ana@x.io"), ("Li Wei", "li@y.io")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()


def test_pptx_slides_notes_and_tables() -> None:
    result = extract(_pptx(), MIME_PPTX, "deck.pptx")
    assert result.ok and not result.truncated
    assert [(c.part, c.text, c.rows) for c in result.chunks] == [
        ("slide 1", "Vendor kickoff\nGoals\nTimeline\nSpeaker: mention KESTREL", None),
        ("slide 2", "Team", None),
        ("slide 2 table", "Name\tEmail\nAna Costa\tana@x.io\nLi Wei\tli@y.io\n",
         (("Name", "Email"), ("Ana Costa", "ana@x.io"), ("Li Wei", "li@y.io"))),
    ]
    table = result.chunks[2]
    assert table.cell_at(table.text.index("li@y.io")) == "B3"


def test_pptx_max_pages_truncates() -> None:
    result = extract(_pptx(), "", "deck.pptx", ExtractLimits(max_pages=1))
    assert result.ok and result.truncated and result.truncation == "max_pages 1"
    assert [c.part for c in result.chunks] == ["slide 1"]


@pytest.mark.parametrize("raw,expected", [
    (r"{\rtf1\ansi{\fonttbl{\f0 Times New Roman;}}\f0\fs24 Hello\par World}", "Hello\nWorld"),
    (r"{\rtf1 caf\'e9 na\u239?ve}", "café naïve"),
    (r"{\rtf1 braces \{ and \} and \\ slash}", "braces { and } and \\ slash"),
    (r"{\rtf1{\*\generator Riched20;}Body\line next\tab cell}", "Body\nnext\ncell"),
    (r"{\rtf1{\info{\title Secret title}{\author X}}Text}", "Text"),
    (r"{\rtf1{\colortbl;\red255\green0\blue0;}\cf1 Red text}", "Red text"),
])
def test_rtf_to_text(raw: str, expected: str) -> None:
    assert rtf_to_text(raw) == expected


def test_rtf_document_chunks() -> None:
    data = rb"{\rtf1\ansi\deff0{\fonttbl{\f0 Arial;}}\f0 Name: Ana Costa\par IBAN: GB29 NWBK 6016 1331 9268 19\par}"
    result = extract(data, "application/rtf", "a.rtf")
    assert result.ok
    assert [c.text for c in result.chunks] == ["Name: Ana Costa\nIBAN: GB29 NWBK 6016 1331 9268 19\n"]


def test_not_rtf_refused() -> None:
    result = extract(b"plain words", "text/rtf", "a.rtf")
    assert not result.ok and result.reason == "not analysed: not an RTF document"


def test_docx_extra_locations_in_order() -> None:
    """Library-equivalent chunks first, then the text python-docx skips, in a fixed order."""
    import docx

    from tests.detect.test_extract_coverage import _add_notes, _body_insert, _rezip, _save, _textbox_run

    d = docx.Document()
    d.add_paragraph("Body text")
    d.add_comment(d.paragraphs[0].runs, text="Check Ana's SSN", author="Reviewer")
    section = d.sections[0]
    section.header.paragraphs[0].text = "Acme Corp"
    section.different_first_page_header_footer = True
    section.first_page_header.paragraphs[0].text = "CONFIDENTIAL"

    def edit(members: dict[str, bytes]) -> None:
        _body_insert(f"<w:p><w:r><w:t>anchor</w:t></w:r>{_textbox_run('Contractor: Li Wei')}</w:p>")(members)
        _add_notes("footnote", "Source: payroll export")(members)

    result = extract(_rezip(_save(d), edit), "", "x.docx")
    assert result.ok and not result.truncated
    assert [(c.part, c.text) for c in result.chunks] == [
        ("header/footer", "Acme Corp"),
        ("body", "Body text\nanchor\nsee note"),
        ("text box", "Contractor: Li Wei"),
        ("header (first page)", "CONFIDENTIAL"),
        ("footnotes", "Source: payroll export "),  # the table inside it: once, as rows
        ("footnotes table 1", "note cell\n"),
        ("comments", "Check Ana's SSN"),
    ]
