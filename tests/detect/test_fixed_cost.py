"""Per-document fixed-cost shortcuts give exactly the results of the slow reference paths.

* DOCX: ``read_docx_direct`` (lxml on the XML) vs python-docx (``_docx_library``): same chunks,
  parts, rows and cell locations, and the same refusal reason when it defers on a broken file.
* spaCy: the listener-less shared ``tok2vec`` is disabled; NER entities are unchanged.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from scanner.content import docx_text, extract_base, ooxml, pptx_text
from scanner.content import extract as X
from scanner.detect.analyzer import disable_unused_tok2vec
from scanner.detect.pipeline import ContentPipeline

CORPUS = Path(__file__).parent.parent / "data" / "corpus"
CORPUS_DOCX = sorted(p.name for p in CORPUS.glob("*.docx"))


def _chunks(handler: Callable[..., object], data: bytes) -> tuple[list[X.Chunk], str | None]:
    limits = X.ExtractLimits()
    budget = extract_base._Budget(limits)
    chunks = [c for c in handler(data, limits, budget) if c.text.strip()]  # type: ignore[attr-defined]
    return chunks, budget.truncated


def _save(document: object) -> bytes:
    buf = io.BytesIO()
    document.save(buf)  # type: ignore[attr-defined]
    return buf.getvalue()


def _sections_gridspan_breaks() -> bytes:
    import docx
    from docx.enum.section import WD_SECTION
    from docx.enum.text import WD_BREAK

    d = docx.Document()
    d.sections[0].header.paragraphs[0].text = "CONFIDENTIAL header"
    d.sections[0].footer.paragraphs[0].text = "Footer line"
    p = d.add_paragraph("Hello ")
    p.add_run("world\tx").add_break()
    p.add_run("after a line break")
    p.add_run("page").add_break(WD_BREAK.PAGE)
    t = d.add_table(rows=3, cols=3)
    t.cell(0, 0).merge(t.cell(0, 1))  # horizontal span: python-docx repeats the cell
    t.cell(0, 0).text = "Name"
    t.cell(1, 0).text = "two\nparagraphs"
    t.cell(2, 2).text = "z"
    d.add_section(WD_SECTION.NEW_PAGE)  # inherits the first section's header/footer
    d.add_paragraph("section two")
    s3 = d.add_section(WD_SECTION.NEW_PAGE)
    s3.header.is_linked_to_previous = False
    s3.header.paragraphs[0].text = "Section three header"
    d.add_paragraph("   ")
    return _save(d)


def _vertical_merge() -> bytes:
    import docx

    d = docx.Document()
    t = d.add_table(rows=3, cols=2)
    t.cell(0, 0).merge(t.cell(1, 0))
    t.cell(0, 0).text = "merged"
    return _save(d)


def _with_broken_member(data: bytes, member: str) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            raw = src.read(info.filename)
            out.writestr(info.filename, raw[:-40] if info.filename == member else raw)
    return buf.getvalue()


@pytest.mark.parametrize("name", CORPUS_DOCX)
def test_direct_docx_reader_matches_python_docx_on_corpus(name: str) -> None:
    data = (CORPUS / name).read_bytes()
    assert docx_text.read_docx_direct(data) is not None  # the fast path is taken
    assert _chunks(X._docx, data) == _chunks(docx_text._docx_library, data)


def test_direct_docx_reader_matches_python_docx_on_sections_spans_breaks() -> None:
    data = _sections_gridspan_breaks()
    assert docx_text.read_docx_direct(data) is not None
    chunks, _ = _chunks(X._docx, data)
    assert chunks == _chunks(docx_text._docx_library, data)[0]
    assert [c.part for c in chunks] == ["header/footer", "body", "table 1"]
    assert chunks[0].text == "CONFIDENTIAL header\nFooter line\nSection three header"
    assert chunks[2].rows == (("Name", "Name"), ("two paragraphs",), ("", "", "z"))


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_vertical_merge, None),  # unsure: python-docx reads it
        (lambda: _with_broken_member((CORPUS / "one_author.docx").read_bytes(), "word/styles.xml"),
         "not analysed: corrupt or unreadable docx (XMLSyntaxError)"),
        (lambda: _with_broken_member((CORPUS / "one_author.docx").read_bytes(), "word/document.xml"),
         "not analysed: corrupt or unreadable docx (XMLSyntaxError)"),
        (lambda: (CORPUS / "hr_form_uk.docx").read_bytes()[:20_000],
         "not analysed: corrupt or truncated OOXML container (bad zip)"),
    ],
)
def test_direct_docx_reader_defers_to_python_docx(make: Callable[[], bytes], reason: str | None) -> None:
    data = make()
    assert docx_text.read_docx_direct(data) is None
    result = X.extract(data, "", "x.docx")
    assert result.reason == reason
    assert result.ok is (reason is None)


def test_unused_tok2vec_disabled_and_entities_unchanged(spacy_pipeline: ContentPipeline) -> None:
    import spacy

    nlp = spacy_pipeline.analyzer.nlp_engine.nlp["en"]
    assert nlp.pipe_names == ["ner"] and "tok2vec" in nlp.disabled
    model = spacy_pipeline.analyzer.model_name
    assert model is not None
    full = spacy.load(model, exclude=list(spacy_pipeline.analyzer.nlp_engine.exclude))
    assert full.pipe_names == ["tok2vec", "ner"]
    texts: list[str] = []
    for path in sorted(CORPUS.iterdir()):
        result = X.extract(path.read_bytes(), "", path.name)
        texts.extend(c.text for c in result.chunks if result.ok)
    expected = [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in full.pipe(texts)]
    assert sum(map(len, expected)) > 50
    assert [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in nlp.pipe(texts)] == expected
    assert disable_unused_tok2vec(full) == ["tok2vec"]


# --------------------------------------------------------------------------- PPTX

CORPUS_PPTX = sorted(p.name for p in CORPUS.glob("*.pptx"))


@pytest.mark.parametrize("name", CORPUS_PPTX)
def test_direct_pptx_reader_matches_python_pptx_on_corpus(name: str) -> None:
    data = (CORPUS / name).read_bytes()
    assert pptx_text.read_pptx_direct(data) is not None  # the fast path is taken
    assert _chunks(X._pptx, data) == _chunks(pptx_text._pptx_library, data)


def _deck_groups_notes_breaks() -> bytes:
    import pptx
    from pptx.util import Inches

    prs = pptx.Presentation()
    s1 = prs.slides.add_slide(prs.slide_layouts[1])  # title + body placeholders
    s1.shapes.title.text = "Quarterly review"
    body = s1.placeholders[1].text_frame
    body.text = "first paragraph"
    p = body.add_paragraph()
    p.add_run().text = "line one"
    p.add_line_break()
    p.add_run().text = "line two"
    group = s1.shapes.add_group_shape()
    group.shapes.add_textbox(Inches(1), Inches(1), Inches(2), Inches(1)).text_frame.text = "inside a group"
    s1.shapes.add_textbox(Inches(1), Inches(3), Inches(2), Inches(1)).text_frame.text = "Contact ana@example.org"
    s1.notes_slide.notes_text_frame.text = "speaker notes: call +44 20 7946 0958"
    s2 = prs.slides.add_slide(prs.slide_layouts[6])  # blank
    table = s2.shapes.add_table(3, 2, Inches(1), Inches(1), Inches(4), Inches(2)).table
    table.cell(0, 0).text = "Name"
    table.cell(0, 1).text = "Email"
    table.cell(1, 0).text = "Ana Costa"
    table.cell(2, 1).text = "bo@example.org"
    prs.slides.add_slide(prs.slide_layouts[6])  # empty slide
    return _save(prs)


def test_direct_pptx_reader_matches_python_pptx_on_groups_notes_tables() -> None:
    data = _deck_groups_notes_breaks()
    assert pptx_text.read_pptx_direct(data) is not None
    chunks, _ = _chunks(X._pptx, data)
    assert chunks == _chunks(pptx_text._pptx_library, data)[0]
    # group-shape text (which python-pptx's top-level shapes skip) comes once, in its own chunk
    assert [c.part for c in chunks] == ["slide 1", "slide 1 group", "slide 2 table"]
    assert "line one\vline two" in chunks[0].text and "inside a group" not in chunks[0].text
    assert chunks[1].text == "inside a group"
    chunks = chunks[:1] + chunks[2:]
    assert chunks[0].text.endswith("speaker notes: call +44 20 7946 0958")
    assert chunks[1].rows == (("Name", "Email"), ("Ana Costa",), ("", "bo@example.org"))


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        ("ppt/slides/slide1.xml", "not analysed: corrupt or unreadable pptx (XMLSyntaxError)"),
        ("ppt/slideLayouts/slideLayout3.xml", "not analysed: corrupt or unreadable pptx (XMLSyntaxError)"),
        ("ppt/presentation.xml", "not analysed: corrupt or unreadable pptx (XMLSyntaxError)"),
    ],
)
def test_direct_pptx_reader_defers_to_python_pptx(member: str, reason: str) -> None:
    good = (CORPUS / "conference_talk.pptx").read_bytes()
    assert X.extract(good, "", "x.pptx").ok  # well-formed parts of this template are now remembered
    data = _with_broken_member(good, member)
    assert pptx_text.read_pptx_direct(data) is None
    result = X.extract(data, "", "x.pptx")
    assert (result.ok, result.reason) == (False, reason)


def test_truncated_pptx_refused() -> None:
    data = (CORPUS / "roster_slide.pptx").read_bytes()[:20_000]
    assert pptx_text.read_pptx_direct(data) is None
    result = X.extract(data, "", "x.pptx")
    assert result.reason == "not analysed: corrupt or truncated OOXML container (bad zip)"


# --------------------------------------------------------------------------- well-formedness memo


def test_well_formed_memo_remembers_exact_content_only() -> None:
    from lxml import etree

    memo = ooxml._WellFormedMemo(max_bytes=8 * 1024, min_size=16)
    parser = etree.XMLParser(resolve_entities=False)
    good = b"<a>" + b"<b/>" * 200 + b"</a>"
    memo.check(good, parser)
    memo.check(good, parser)  # remembered
    with pytest.raises(etree.XMLSyntaxError):  # same length, one byte different: parsed again
        memo.check(good[:-1] + b"!", parser)
    for i in range(20):  # bounded: old entries are forgotten
        memo.check(b"<a>" + b"<c/>" * 200 + f"<n{i}/>".encode() + b"</a>", parser)
    assert memo._size <= 8 * 1024


def test_broken_docx_styles_refused_after_the_good_template_was_seen() -> None:
    good = (CORPUS / "one_author.docx").read_bytes()
    assert X.extract(good, "", "x.docx").ok
    result = X.extract(_with_broken_member(good, "word/styles.xml"), "", "x.docx")
    assert result.reason == "not analysed: corrupt or unreadable docx (XMLSyntaxError)"


def test_the_memo_holds_template_parts_only_never_user_content() -> None:
    import docx

    secret = "Quentin Marchetti-Vasquez"
    doc = docx.Document()
    doc.core_properties.author = secret
    doc.core_properties.comments = secret * 9  # core properties well above the memo's minimum size
    doc.add_paragraph(f"Contractor {secret}")
    buf = io.BytesIO()
    doc.save(buf)
    assert docx_text.read_docx_direct(buf.getvalue()) is not None
    remembered = list(ooxml._WELL_FORMED._seen)
    assert remembered, "the template's styles.xml should have been remembered"
    assert not any(secret.encode() in blob for blob in remembered)
