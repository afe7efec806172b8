"""Deterministic DOCX / XLSX / PPTX bytes (python-docx, openpyxl, python-pptx) for seeds and exports."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from typing import Any

_FIXED_ZIP_TIME = (2024, 1, 1, 0, 0, 0)


def _normalize_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed timestamps so the same content always gives the same bytes (and md5)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=_FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            content = src.read(item.filename)
            if item.filename == "docProps/core.xml":
                content = _strip_dates(content)
            dst.writestr(info, content)
    return out.getvalue()


def _strip_dates(xml: bytes) -> bytes:
    import re

    return re.sub(rb">\d{4}-\d\d-\d\dT[\d:.]+Z<", b">2024-01-01T00:00:00Z<", xml)


def docx_bytes(paragraphs: Sequence[str], title: str = "") -> bytes:
    import docx

    document = docx.Document()
    document.core_properties.title = title
    for para in paragraphs:
        document.add_paragraph(para)
    buf = io.BytesIO()
    document.save(buf)
    return _normalize_zip(buf.getvalue())


def xlsx_bytes(sheets: Sequence[tuple[str, Sequence[Sequence[Any]]]]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    first = True
    for title, rows in sheets:
        sheet = book.active if first else book.create_sheet()
        first = False
        assert sheet is not None
        sheet.title = title[:31]
        for row in rows:
            sheet.append(list(row))
    buf = io.BytesIO()
    book.save(buf)
    return _normalize_zip(buf.getvalue())


def pptx_bytes(slides: Sequence[str]) -> bytes:
    import pptx
    from pptx.util import Inches

    deck = pptx.Presentation()
    layout = deck.slide_layouts[6]
    for text in slides:
        slide = deck.slides.add_slide(layout)
        box = slide.shapes.add_textbox(Inches(0.5), Inches(0.5), Inches(9), Inches(6))
        box.text_frame.text = text
    buf = io.BytesIO()
    deck.save(buf)
    return _normalize_zip(buf.getvalue())
