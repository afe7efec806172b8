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

from scanner.detect.analyzer import disable_unused_tok2vec
from scanner.detect.pipeline import ContentPipeline
from scanner.drive import extract as X

CORPUS = Path(__file__).parent.parent / "data" / "corpus"
CORPUS_DOCX = sorted(p.name for p in CORPUS.glob("*.docx"))


def _chunks(handler: Callable[..., object], data: bytes) -> tuple[list[X.Chunk], str | None]:
    limits = X.ExtractLimits()
    budget = X._Budget(limits)
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
    assert X.read_docx_direct(data) is not None  # the fast path is taken
    assert _chunks(X._docx, data) == _chunks(X._docx_library, data)


def test_direct_docx_reader_matches_python_docx_on_sections_spans_breaks() -> None:
    data = _sections_gridspan_breaks()
    assert X.read_docx_direct(data) is not None
    chunks, _ = _chunks(X._docx, data)
    assert chunks == _chunks(X._docx_library, data)[0]
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
    assert X.read_docx_direct(data) is None
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
