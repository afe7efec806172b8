"""One abstract document -> bytes in each format, with the real writers.

A ``Doc`` is a list of blocks (``Para``, ``Table``) and, for spreadsheets, optional ``Sheet``s
(hidden columns, hidden sheets, several sheets). TXT/CSV: a document that is a single table is
written as CSV (its delimiter chosen by the generator), anything else as text with tables laid out
as the generator asked (tabs, pipes, aligned spaces, commas). DOCX/PPTX: tables become real
tables unless ``Table.as_text``; PDF (fpdf2, core fonts, Latin-1): tables are a grid or aligned text.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from tests.data.synth.people import latin1


@dataclass
class Para:
    text: str
    heading: bool = False


@dataclass
class Table:
    rows: list[list[str]]
    layout: str = "tab"  # in text: tab | pipe | spaces | comma | semicolon
    as_text: bool = False  # in DOCX/PPTX/PDF: lines of text instead of a table
    header: bool = True  # the first row is a header (repeated on each PPTX slide)


@dataclass
class Sheet:
    name: str
    rows: list[list[str]]
    hidden_cols: tuple[int, ...] = ()
    hidden: bool = False


@dataclass
class Doc:
    blocks: list[Para | Table]
    sheets: list[Sheet] | None = None  # XLSX only: written instead of the blocks
    pdf_width: float = 0.0  # PDF text width in mm (0 = page width); narrow columns wrap long lines


@dataclass
class Rendered:
    ext: str
    data: bytes = field(repr=False)


def table_lines(t: Table) -> list[str]:
    if t.layout == "pipe":
        return [" | ".join(r) for r in t.rows]
    if t.layout == "spaces":
        widths = [max(len(r[i]) if i < len(r) else 0 for r in t.rows) for i in range(max(map(len, t.rows)))]
        return ["  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in t.rows]
    if t.layout in ("comma", "semicolon"):
        buf = io.StringIO()
        csv.writer(buf, delimiter="," if t.layout == "comma" else ";", lineterminator="\n").writerows(t.rows)
        return buf.getvalue().rstrip("\n").split("\n")
    return ["\t".join(r) for r in t.rows]


def to_text(doc: Doc) -> Rendered:
    if len(doc.blocks) == 1 and isinstance(doc.blocks[0], Table) and doc.blocks[0].layout in ("comma", "semicolon",
                                                                                                "tab"):
        t = doc.blocks[0]
        buf = io.StringIO()
        delim = {"comma": ",", "semicolon": ";", "tab": "\t"}[t.layout]
        csv.writer(buf, delimiter=delim, lineterminator="\r\n").writerows(t.rows)
        return Rendered("tsv" if t.layout == "tab" else "csv", buf.getvalue().encode("utf-8"))
    parts = []
    for b in doc.blocks:
        parts.append(b.text if isinstance(b, Para) else "\n".join(table_lines(b)))
    return Rendered("txt", ("\n\n".join(parts) + "\n").encode("utf-8"))


def to_docx(doc: Doc) -> Rendered:
    import docx

    d = docx.Document()
    for b in doc.blocks:
        if isinstance(b, Para):
            if b.heading:
                d.add_heading(b.text, level=2)
            else:
                for line in b.text.split("\n\n"):
                    d.add_paragraph(line)
        elif b.as_text:
            for line in table_lines(b):
                d.add_paragraph(line)
        else:
            cols = max(len(r) for r in b.rows)
            t = d.add_table(rows=len(b.rows), cols=cols)
            for r, row in enumerate(b.rows):
                cells = t.rows[r].cells
                for c, value in enumerate(row):
                    cells[c].text = value
    buf = io.BytesIO()
    d.save(buf)
    return Rendered("docx", buf.getvalue())


def to_xlsx(doc: Doc) -> Rendered:
    import openpyxl
    from openpyxl.utils import get_column_letter

    wb = openpyxl.Workbook()
    sheets = doc.sheets
    if sheets is None:
        rows: list[list[str]] = []
        for b in doc.blocks:
            if isinstance(b, Para):
                rows.extend([line] for line in b.text.split("\n") if line.strip())
            else:
                rows.extend(b.rows)
            rows.append([])
        sheets = [Sheet("Sheet1", rows)]
    first = True
    for sheet in sheets:
        ws = wb.active if first else wb.create_sheet()
        assert ws is not None
        first = False
        ws.title = sheet.name[:31]
        for row in sheet.rows:
            ws.append([_cell(v) for v in row])
        for col in sheet.hidden_cols:
            ws.column_dimensions[get_column_letter(col + 1)].hidden = True
        if sheet.hidden:
            ws.sheet_state = "hidden"
    buf = io.BytesIO()
    wb.save(buf)
    return Rendered("xlsx", buf.getvalue())


def _cell(value: str) -> object:
    """Numbers as numbers (as a spreadsheet holds them), the rest as text."""
    try:
        if value and value.strip() == value and not value.startswith(("0", "+")) and value.replace(".", "", 1).isdigit():
            return float(value) if "." in value else int(value)
    except ValueError:
        pass
    return value


def to_pdf(doc: Doc) -> Rendered:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    width = doc.pdf_width or 0
    for b in doc.blocks:
        if isinstance(b, Para):
            pdf.set_font("Helvetica", style="B" if b.heading else "", size=12 if b.heading else 10)
            pdf.multi_cell(width, 5, latin1(b.text), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif b.as_text:
            pdf.set_font("Helvetica", size=9)
            for line in table_lines(b):
                pdf.multi_cell(width, 4.5, latin1(line), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        else:
            pdf.set_font("Helvetica", size=8)
            cols = max(len(r) for r in b.rows)
            with pdf.table(first_row_as_headings=False, line_height=4.5) as table:
                for row in b.rows:
                    cells = table.row()
                    for value in list(row) + [""] * (cols - len(row)):
                        cells.cell(latin1(value))
            pdf.ln(2)
    return Rendered("pdf", bytes(pdf.output()))


MAX_SLIDE_LINES = 14
MAX_SLIDE_ROWS = 12


def to_pptx(doc: Doc) -> Rendered:
    import pptx
    from pptx.util import Inches, Pt

    prs = pptx.Presentation()
    title_only = prs.slide_layouts[5]
    content = prs.slide_layouts[1]
    title = "Overview"
    for b in doc.blocks:
        if isinstance(b, Para) and b.heading:
            title = b.text
            continue
        if isinstance(b, Para) or b.as_text:
            lines = b.text.split("\n") if isinstance(b, Para) else table_lines(b)
            lines = [ln for ln in lines if ln.strip()]
            for i in range(0, len(lines), MAX_SLIDE_LINES):
                slide = prs.slides.add_slide(content)
                slide.shapes.title.text = title
                body = slide.placeholders[1].text_frame
                body.text = lines[i]
                for line in lines[i + 1:i + MAX_SLIDE_LINES]:
                    body.add_paragraph().text = line
        else:
            head, data = (b.rows[:1], b.rows[1:]) if b.header else ([], b.rows)
            cols = max(len(r) for r in b.rows)
            for i in range(0, max(len(data), 1), MAX_SLIDE_ROWS):
                part = [*head, *data[i:i + MAX_SLIDE_ROWS]]
                slide = prs.slides.add_slide(title_only)
                slide.shapes.title.text = title
                shape = slide.shapes.add_table(len(part), cols, Inches(0.3), Inches(1.4), Inches(9.4),
                                               Inches(0.3 * len(part)))
                for r, row in enumerate(part):
                    for c in range(cols):
                        cell = shape.table.cell(r, c)
                        cell.text = row[c] if c < len(row) else ""
                        for para in cell.text_frame.paragraphs:
                            for run in para.runs:
                                run.font.size = Pt(9)
    buf = io.BytesIO()
    prs.save(buf)
    return Rendered("pptx", buf.getvalue())


WRITERS = {"txt": to_text, "docx": to_docx, "xlsx": to_xlsx, "pdf": to_pdf, "pptx": to_pptx}
FORMATS = tuple(WRITERS)
