from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from scanner.drive.extract import ExtractLimits, extract

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
