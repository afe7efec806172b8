"""A DOCX body too big to parse whole is read streaming, with the same text as the whole-tree path."""

from __future__ import annotations

import io

import pytest

from scanner.content import extract as X
from scanner.content.extract_base import ExtractLimits, SkipKind
from scanner.content.safezip import inspect_zip
from tests.data.make_hostile import DOCX


def _streaming(data: bytes, **limits: int) -> ExtractLimits:
    """Limits under which ``data``'s body is read streaming: the rest of the package just fits the budget."""
    inventory = inspect_zip(data, ExtractLimits())
    rest = inventory.elements(excluding=(inventory.main_part or "",))
    assert inventory.elements() > rest
    return ExtractLimits(max_xml_elements=rest, **limits)


def _docx(build: object) -> bytes:
    import docx

    d = docx.Document()
    build(d)  # type: ignore[operator]
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _roster(d: object) -> None:
    d.sections[0].header.paragraphs[0].text = "Confidential HEADMARK"  # type: ignore[attr-defined]
    d.add_paragraph("Contractor roster for the Lark project")  # type: ignore[attr-defined]
    table = d.add_table(rows=3, cols=2)  # type: ignore[attr-defined]
    for r, row in enumerate([("Name", "Email"), ("Ana Costa", "ana@example.org"), ("Bo Li", "bo@example.org")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    d.add_paragraph("Second paragraph")  # type: ignore[attr-defined]
    d.add_paragraph("Third paragraph")  # type: ignore[attr-defined]


def _parts(r: X.ExtractResult) -> list[tuple[str, str]]:
    return [(c.part, c.text) for c in r.chunks]


def test_streaming_reads_what_the_tree_path_reads() -> None:
    data = _docx(_roster)
    tree, streamed = X.extract(data, DOCX, "r.docx"), X.extract(data, DOCX, "r.docx", _streaming(data))
    assert _parts(streamed) == _parts(tree) == [
        ("header/footer", "Confidential HEADMARK"),
        ("body", "Contractor roster for the Lark project\nSecond paragraph\nThird paragraph"),
        ("table 1", "Name\tEmail\nAna Costa\tana@example.org\nBo Li\tbo@example.org\n"),
    ]
    assert [c.rows for c in streamed.chunks] == [c.rows for c in tree.chunks]
    assert (streamed.ok, streamed.truncated) == (True, False)


def _long(d: object) -> None:
    for i in range(3000):
        d.add_paragraph(f"Paragraph {i:04d} of a long contract" + " with more words" * (i % 7))  # type: ignore[attr-defined]


def test_streamed_body_is_cut_into_the_same_chunks() -> None:
    data = _docx(_long)
    tree = X.extract(data, DOCX, "l.docx", ExtractLimits(chunk_chars=4_000))
    streamed = X.extract(data, DOCX, "l.docx", _streaming(data, chunk_chars=4_000))
    assert len(tree.chunks) > 20
    assert [(c.part, c.base_offset, c.text) for c in streamed.chunks] == \
        [(c.part, c.base_offset, c.text) for c in tree.chunks]


def test_streaming_stops_at_the_text_budget() -> None:
    data = _docx(_long)
    r = X.extract(data, DOCX, "l.docx", _streaming(data, max_chars=10_000, chunk_chars=4_000))
    assert (r.ok, r.truncated, r.truncation, r.chars) == (True, True, "max_chars 10000", 10_000)
    assert r.chunks[0].text.startswith("Paragraph 0000 of a long contract\nParagraph 0001")


def test_vertically_merged_table_is_read_once_per_cell() -> None:
    def merged(d: object) -> None:
        table = d.add_table(rows=3, cols=2)  # type: ignore[attr-defined]
        table.cell(0, 0).merge(table.cell(1, 0)).text = "Merged MERGEMARK"
        table.cell(0, 1).text = "Top"
        table.cell(1, 1).text = "Middle"
        table.cell(2, 0).text = "Bottom"

    data = _docx(merged)
    r = X.extract(data, DOCX, "m.docx", _streaming(data))
    tables = [c for c in r.chunks if c.part == "table 1"]
    assert [c.rows for c in tables] == [(("Merged MERGEMARK", "Top"), ("", "Middle"), ("Bottom",))]
    assert sum(c.text.count("MERGEMARK") for c in r.chunks) == 1


def test_rest_of_the_package_over_the_budget_is_refused() -> None:
    data = _docx(_roster)
    r = X.extract(data, DOCX, "r.docx", ExtractLimits(max_xml_elements=_streaming(data).max_xml_elements - 1))
    assert (r.ok, r.skip) == (False, SkipKind.PART_TOO_LARGE)


@pytest.mark.parametrize("depth,ok", [(100, True), (300, False)])
def test_streaming_keeps_libxml2_depth_limit(depth: int, ok: bool) -> None:
    from tests.detect.test_extract_coverage import _body_insert, _rezip

    xml = "<w:sdt><w:sdtContent>" * depth + "<w:p><w:r><w:t>DEEPMARK</w:t></w:r></w:p>" + \
        "</w:sdtContent></w:sdt>" * depth
    data = _rezip(_docx(_roster), _body_insert(xml))
    r = X.extract(data, DOCX, "d.docx", _streaming(data))
    assert (r.ok, r.skip) == ((True, None) if ok else (False, SkipKind.CORRUPT))
    if ok:
        assert [(c.part, c.text.count("DEEPMARK")) for c in r.chunks if "DEEPMARK" in c.text] == [("body (other)", 1)]


def test_a_package_too_big_for_python_docx_is_read_streaming_when_the_direct_reader_is_unsure() -> None:
    """A vertically merged table makes the direct reader defer to python-docx, which would hold every
    part's bytes: over ``max_library_bytes`` the streaming reader reads it instead."""
    def merged(d: object) -> None:
        d.add_paragraph("Roster MERGEDOCMARK")  # type: ignore[attr-defined]
        table = d.add_table(rows=2, cols=2)  # type: ignore[attr-defined]
        table.cell(0, 0).merge(table.cell(1, 0)).text = "Merged"
        table.cell(0, 1).text = "Top"

    data = _docx(merged)
    size = inspect_zip(data, ExtractLimits()).total
    small = X.extract(data, DOCX, "m.docx", ExtractLimits(max_library_bytes=size))  # python-docx
    big = X.extract(data, DOCX, "m.docx", ExtractLimits(max_library_bytes=size - 1))  # streaming
    assert [(c.part, c.rows) for c in small.chunks if c.part == "table 1"] == [
        ("table 1", (("Merged", "Top"), ("Merged",)))]  # python-docx repeats a merged cell
    assert [(c.part, c.rows) for c in big.chunks if c.part == "table 1"] == [("table 1", (("Merged", "Top"), ()))]
    assert [c.text for c in big.chunks if c.part == "body"] == ["Roster MERGEDOCMARK"]


def test_a_presentation_too_big_for_the_readers_is_refused() -> None:
    from tests.data.make_hostile import PPTX, _package

    data = _package("pptx", {})
    size = inspect_zip(data, ExtractLimits()).total
    assert X.extract(data, PPTX, "p.pptx", ExtractLimits(max_library_bytes=size)).ok
    r = X.extract(data, PPTX, "p.pptx", ExtractLimits(max_library_bytes=size - 1))
    assert (r.ok, r.skip) == (False, SkipKind.PART_TOO_LARGE)
