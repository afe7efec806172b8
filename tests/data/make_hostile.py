"""Generate hostile documents: zip bombs, oversized parts, XML and PDF tricks (never committed).

Each generator returns a :class:`Hostile`: the bytes, the MIME type, what the file does, and what
sharescan must answer (``expect``: ``"ok"``, ``"truncated"`` or the typed skip kind). The files are
built byte by byte (a small zip and PDF writer below), deterministic, in a few seconds in all; big
inflated contents are made by repeating one independently compressed deflate segment (a full
flush resets the compressor, so ``N`` copies of the segment inflate to ``N`` copies of its text)
instead of compressing gigabytes.

Used by ``tests/content/test_extract_memory.py`` (peak memory of extraction in a fresh process) and
``benchmarks/bench_hostile.py`` (the same, end to end through ``sharescan classify``).

Run: .venv/bin/python tests/data/make_hostile.py OUT_DIR [NAME...]
"""

from __future__ import annotations

import io
import random
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
PDF = "application/pdf"
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
S_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


@dataclass(frozen=True)
class Hostile:
    name: str
    data: bytes
    mime: str
    what: str
    #: what extraction must answer: "ok", "truncated", or a skip kind (scanner.content.extract_base.SkipKind)
    expect: str


# --------------------------------------------------------------------------- deflate pieces


@dataclass(frozen=True)
class Deflated:
    """A raw deflate stream and the true size and CRC-32 (and Adler-32) of what it inflates to."""

    raw: bytes
    size: int
    crc: int
    adler: int
    head: bytes  # the first bytes of the inflated content (for CRCs of a lying prefix)


def deflate_repeated(prefix: bytes, filler: bytes, repeat: int, suffix: bytes, level: int = 9) -> Deflated:
    """``prefix + filler * repeat + suffix`` as one raw deflate stream, compressing ``filler`` once."""

    def segment(data: bytes, mode: int) -> bytes:
        c = zlib.compressobj(level, zlib.DEFLATED, -15)
        return c.compress(data) + c.flush(mode)

    seg = segment(filler, zlib.Z_FULL_FLUSH)
    raw = segment(prefix, zlib.Z_FULL_FLUSH) + seg * repeat + segment(suffix, zlib.Z_FINISH)
    crc = zlib.crc32(prefix)
    adler = zlib.adler32(prefix)
    for _ in range(repeat):
        crc = zlib.crc32(filler, crc)
        adler = zlib.adler32(filler, adler)
    crc = zlib.crc32(suffix, crc)
    adler = zlib.adler32(suffix, adler)
    head = (prefix + filler * max(1, 4096 // max(len(filler), 1) + 1))[:4096]
    return Deflated(raw, len(prefix) + len(filler) * repeat + len(suffix), crc, adler, head)


def zlib_stream(d: Deflated) -> bytes:
    """The raw stream wrapped as zlib (header + Adler-32), as PDF FlateDecode wants it."""
    return b"\x78\xda" + d.raw + struct.pack(">I", d.adler)


# --------------------------------------------------------------------------- a small zip writer


@dataclass
class Member:
    name: str
    data: bytes | None = None  # stored deflated (compressed here)
    deflated: Deflated | None = None  # or an already deflated stream
    declared_size: int | None = None  # what the headers claim (default: the truth)
    declared_crc: int | None = None
    same_data_as: str | None = None  # overlap: point at another member's local entry


def write_zip(members: list[Member]) -> bytes:
    out = io.BytesIO()
    central = io.BytesIO()
    offsets: dict[str, tuple[int, int, int, int]] = {}  # name -> (offset, csize, size, crc)
    for m in members:
        name = m.name.encode()
        if m.same_data_as is not None:
            offset, csize, size, crc = offsets[m.same_data_as]
        else:
            if m.deflated is None:
                assert m.data is not None
                c = zlib.compressobj(6, zlib.DEFLATED, -15)
                raw = c.compress(m.data) + c.flush()
                size, crc = len(m.data), zlib.crc32(m.data)
            else:
                raw, size, crc = m.deflated.raw, m.deflated.size, m.deflated.crc
            size = m.declared_size if m.declared_size is not None else size
            crc = m.declared_crc if m.declared_crc is not None else crc
            offset, csize = out.tell(), len(raw)
            out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, csize, size, len(name), 0))
            out.write(name)
            out.write(raw)
        offsets[m.name] = (offset, csize, size, crc)
        central.write(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc, csize, size,
                                  len(name), 0, 0, 0, 0, 0, offset))
        central.write(name)
    cd_offset = out.tell()
    cd = central.getvalue()
    out.write(cd)
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(cd), cd_offset, 0))
    return out.getvalue()


def _template(kind: str) -> dict[str, bytes]:
    """The members of an empty document saved by python-docx / openpyxl / python-pptx."""
    buf = io.BytesIO()
    if kind == "docx":
        import docx

        d = docx.Document()
        d.add_paragraph("Quarterly notes TEMPLATEMARK")
        d.save(buf)
    elif kind == "xlsx":
        import openpyxl

        wb = openpyxl.Workbook()
        wb.active["A1"] = "TEMPLATEMARK"
        wb.save(buf)
    else:
        import pptx

        p = pptx.Presentation()
        slide = p.slides.add_slide(p.slide_layouts[5])
        slide.shapes.title.text = "TEMPLATEMARK"
        p.save(buf)
    with zipfile.ZipFile(buf) as z:
        return {n: z.read(n) for n in z.namelist()}


def _package(kind: str, replace: dict[str, Member], extra: list[Member] | None = None,
             edit: Callable[[dict[str, bytes]], None] | None = None) -> bytes:
    members = _template(kind)
    if edit is not None:
        edit(members)
    out = [replace.get(name) or Member(name, data) for name, data in members.items()]
    return write_zip(out + list(extra or []))


_DOC_HEAD = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="{W_NS}"><w:body>'
             ).encode()
_DOC_TAIL = b"<w:sectPr/></w:body></w:document>"


def _paragraph(text: str) -> bytes:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>".encode()


# --------------------------------------------------------------------------- OOXML generators


def lying_central_directory() -> Hostile:
    """The issue's 1.2 MB DOCX: document.xml declares 1,000 bytes (central directory and local header,
    with the CRC of those first 1,000 bytes) and inflates to 1.1 GB."""
    body = deflate_repeated(_DOC_HEAD + b"<w:p><w:r><w:t>", b"A" * MIB, 1100, b"</w:t></w:r></w:p>" + _DOC_TAIL)
    lie = Member("word/document.xml", deflated=body, declared_size=1000, declared_crc=zlib.crc32(body.head[:1000]))
    return Hostile("lying_central_directory.docx", _package("docx", {"word/document.xml": lie}), DOCX,
                   "document.xml declares 1,000 bytes, inflates to 1.1 GB", "zip_size_mismatch")


def _huge_document(mib: int) -> Deflated:
    rng = random.Random(7)
    words = ["the", "of", "and", "contract", "clause", "party", "notice", "term", "payment", "schedule", "annex"]
    block = b"".join(_paragraph(" ".join(rng.choice(words) for _ in range(rng.randint(6, 14))))
                     for _ in range(90))  # ~8 KB, repeated inside the deflate window
    filler = block * (MIB // len(block))
    return deflate_repeated(_DOC_HEAD, filler, mib, _DOC_TAIL, level=6)


def huge_part() -> Hostile:
    """The issue's 4.3 MB DOCX: an honest 290 MB document.xml (ratio under the limits)."""
    return Hostile("huge_part.docx", _package("docx", {"word/document.xml": Member(
        "word/document.xml", deflated=_huge_document(290))}), DOCX,
        "honest 290 MB document.xml (4 MB zip, ratio < 120)", "truncated")


def dense_elements() -> Hostile:
    """A document.xml of 3.6 million empty paragraphs (100 MB; an lxml tree of ~430 MB), ratio < 120."""
    rng = random.Random(5)
    block = b"".join(f'<w:p w:rsidR="{rng.getrandbits(32):08X}"/>'.encode() for _ in range(300))  # ~8 KB
    body = deflate_repeated(_DOC_HEAD, block * (MIB // len(block)), 100, _paragraph("DENSEMARK") + _DOC_TAIL,
                            level=6)
    return Hostile("dense_elements.docx", _package("docx", {"word/document.xml": Member(
        "word/document.xml", deflated=body)}), DOCX, "3.6 million empty paragraphs (100 MB)", "truncated")


def overlapping_entries() -> Hostile:
    """Fifield's non-recursive bomb: 400 central-directory entries share one 50 MB compressed kernel."""
    kernel = deflate_repeated(b"", b"\0" * MIB, 50, b"")
    extra = [Member(f"word/media/image{i}.bin", same_data_as="word/media/image0.bin") for i in range(1, 400)]
    first = Member("word/media/image0.bin", deflated=kernel)
    return Hostile("overlapping_entries.docx", _package("docx", {}, [first, *extra]), DOCX,
                   "400 entries overlap one 50 MB kernel (20 GB in all)", "zip_bomb")


def nested_zip() -> Hostile:
    """A DOCX carrying a zip of zips (a classic recursive bomb) as an embedded object: never opened."""
    inner = write_zip([Member(f"layer{i}.zip", deflated=deflate_repeated(b"", b"\0" * MIB, 16, b""))
                       for i in range(16)])
    outer = write_zip([Member(f"nested{i}.zip", data=inner) for i in range(8)])
    return Hostile("nested_zip.docx", _package("docx", {}, [Member("word/embeddings/oleObject1.bin", outer)]),
                   DOCX, "embedded zip of zips (2 GB if recursed)", "ok")


def billion_laughs_docx() -> Hostile:
    lol = "".join(f'<!ENTITY l{i} "&l{i - 1};&l{i - 1};&l{i - 1};&l{i - 1};&l{i - 1};&l{i - 1};&l{i - 1};'
                  f'&l{i - 1};&l{i - 1};&l{i - 1};">' for i in range(1, 10))
    xml = (f'<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY l0 "lol">{lol}]><w:document xmlns:w="{W_NS}">'
           f'<w:body><w:p><w:r><w:t>&l9; LAUGHMARK</w:t></w:r></w:p><w:sectPr/></w:body></w:document>')
    return Hostile("billion_laughs.docx", _package("docx", {"word/document.xml": Member(
        "word/document.xml", xml.encode())}), DOCX, "entity expansion in document.xml (3 GB if expanded)", "xml_dtd")


def billion_laughs_xlsx() -> Hostile:
    lol = "".join(f'<!ENTITY l{i} "&l{i - 1};&l{i - 1};&l{i - 1};&l{i - 1};&l{i - 1};&l{i - 1};&l{i - 1};'
                  f'&l{i - 1};&l{i - 1};&l{i - 1};">' for i in range(1, 10))

    def edit(members: dict[str, bytes]) -> None:
        sheet = members["xl/worksheets/sheet1.xml"].decode()
        members["xl/worksheets/sheet1.xml"] = (
            f'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY l0 "lol">{lol}]>'
            + sheet.replace("TEMPLATEMARK", "&l9;")).encode()

    return Hostile("billion_laughs.xlsx", _package("xlsx", {}, edit=edit), XLSX,
                   "entity expansion in a worksheet (3 GB if expanded)", "xml_dtd")


def xxe_docx() -> Hostile:
    xml = (f'<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           f'<w:document xmlns:w="{W_NS}"><w:body><w:p><w:r><w:t>&x; XXEMARK</w:t></w:r></w:p><w:sectPr/>'
           "</w:body></w:document>")
    return Hostile("external_entity.docx", _package("docx", {"word/document.xml": Member(
        "word/document.xml", xml.encode())}), DOCX, "external entity file:///etc/passwd (never read)", "xml_dtd")


def deep_nesting() -> Hostile:
    depth = 20_000  # 440 KB: under the 1 MB above which the compression ratio is checked
    body = _DOC_HEAD + b"<w:sdt><w:sdtContent>" * depth + _paragraph("DEEPMARK") + \
        b"</w:sdtContent></w:sdt>" * depth + _DOC_TAIL
    return Hostile("deep_nesting.docx", _package("docx", {"word/document.xml": Member("word/document.xml", body)}),
                   DOCX, "20,000 nested content controls", "corrupt")


def deep_nesting_xlsx() -> Hostile:
    depth = 100_000

    def edit(members: dict[str, bytes]) -> None:
        members["xl/sharedStrings.xml"] = (
            f'<?xml version="1.0"?><sst xmlns="{S_NS}" count="1" uniqueCount="1"><si>'.encode()
            + b"<r>" * depth + b"<t>x</t>" + b"</r>" * depth + b"</si></sst>")

    return Hostile("deep_nesting.xlsx", _package("xlsx", {}, edit=edit), XLSX,
                   "100,000 nested elements in the shared strings", "ok")


def huge_shared_strings() -> Hostile:
    """An honest 160 MB shared-strings table (8 million strings) behind one small sheet."""
    head = f'<?xml version="1.0"?><sst xmlns="{S_NS}">'.encode()
    block = b"".join(f"<si><t>Name {i:05d}</t></si>".encode() for i in range(800))
    filler = block * (MIB // len(block))
    strings = deflate_repeated(head, filler, 160, b"</sst>", level=6)

    def edit(members: dict[str, bytes]) -> None:
        members.pop("xl/sharedStrings.xml", None)

    data = _package("xlsx", {}, [Member("xl/sharedStrings.xml", deflated=strings)], edit=_with_shared_strings(edit))
    return Hostile("huge_shared_strings.xlsx", data, XLSX, "honest 160 MB sharedStrings.xml (8 million strings)",
                   "part_too_large")


def _with_shared_strings(edit: Callable[[dict[str, bytes]], None]) -> Callable[[dict[str, bytes]], None]:
    """Make sheet1 use shared string 0, and declare the part (type and relationship)."""

    def wrapped(members: dict[str, bytes]) -> None:
        edit(members)
        sheet = members["xl/worksheets/sheet1.xml"].decode()
        start = sheet.index('<c r="A1"')
        end = sheet.index("</c>", start) + 4
        members["xl/worksheets/sheet1.xml"] = (sheet[:start] + '<c r="A1" t="s"><v>0</v></c>' + sheet[end:]).encode()
        types = members["[Content_Types].xml"].decode()
        if "sharedStrings" not in types:
            types = types.replace("</Types>", '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                                  'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
        members["[Content_Types].xml"] = types.encode()
        rels = members["xl/_rels/workbook.xml.rels"].decode()
        if "sharedStrings" not in rels:
            rels = rels.replace("</Relationships>", '<Relationship Id="rIdSST" Type="http://schemas.openxmlformats.'
                                'org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
                                "</Relationships>")
        members["xl/_rels/workbook.xml.rels"] = rels.encode()

    return wrapped


def wide_row_xlsx() -> Hostile:
    """One row of 3.5 million cells (Excel allows 16,384 columns): openpyxl parses a row whole."""
    head = f'<?xml version="1.0"?><worksheet xmlns="{S_NS}"><sheetData><row r="1">'.encode()
    rng = random.Random(11)
    block = b"".join(f"<c><v>{rng.randint(0, 99999)}</v></c>".encode() for _ in range(400))  # ~7 KB
    filler = block * (MIB // len(block))
    sheet = deflate_repeated(head, filler, 60, b"</row></sheetData></worksheet>", level=6)
    return Hostile("wide_row.xlsx", _package("xlsx", {"xl/worksheets/sheet1.xml": Member(
        "xl/worksheets/sheet1.xml", deflated=sheet)}), XLSX, "a row of 3.5 million cells (60 MB, ratio < 120)", "part_too_large")


def many_sheets_xlsx() -> Hostile:
    """5,000 tiny sheets."""
    n = 5000

    def edit(members: dict[str, bytes]) -> None:
        sheet = members["xl/worksheets/sheet1.xml"]
        book = members["xl/workbook.xml"].decode()
        rels = members["xl/_rels/workbook.xml.rels"].decode()
        types = members["[Content_Types].xml"].decode()
        sheets, rel_xml, type_xml = [], [], []
        for i in range(2, n + 1):
            members[f"xl/worksheets/sheet{i}.xml"] = sheet
            sheets.append(f'<sheet xmlns:r="{R_NS}" name="S{i}" sheetId="{i}" r:id="rIdS{i}"/>')
            rel_xml.append(f'<Relationship Id="rIdS{i}" Type="http://schemas.openxmlformats.org/officeDocument/'
                           f'2006/relationships/worksheet" Target="worksheets/sheet{i}.xml"/>')
            type_xml.append(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/vnd.'
                            'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>')
        members["xl/workbook.xml"] = book.replace("</sheets>", "".join(sheets) + "</sheets>").encode()
        members["xl/_rels/workbook.xml.rels"] = rels.replace("</Relationships>",
                                                             "".join(rel_xml) + "</Relationships>").encode()
        members["[Content_Types].xml"] = types.replace("</Types>", "".join(type_xml) + "</Types>").encode()

    return Hostile("many_sheets.xlsx", _package("xlsx", {}, edit=edit), XLSX, "5,000 sheets", "ok")


def many_members() -> Hostile:
    """9,980 tiny unreferenced members (under the 10,000-member limit)."""
    extra = [Member(f"customXml/item{i}.xml", b"<a/>") for i in range(9980)]
    return Hostile("many_members.docx", _package("docx", {}, extra), DOCX, "9,980 tiny extra members", "ok")


def many_slides_pptx() -> Hostile:
    """3,000 slides, each a copy of the first (only max_pages of them are read)."""
    n = 3000

    def edit(members: dict[str, bytes]) -> None:
        slide = members["ppt/slides/slide1.xml"]
        slide_rels = members["ppt/slides/_rels/slide1.xml.rels"]
        pres = members["ppt/presentation.xml"].decode()
        rels = members["ppt/_rels/presentation.xml.rels"].decode()
        types = members["[Content_Types].xml"].decode()
        ids, rel_xml, type_xml = [], [], []
        for i in range(2, n + 1):
            members[f"ppt/slides/slide{i}.xml"] = slide
            members[f"ppt/slides/_rels/slide{i}.xml.rels"] = slide_rels
            ids.append(f'<p:sldId id="{255 + i}" r:id="rIdX{i}"/>')
            rel_xml.append(f'<Relationship Id="rIdX{i}" Type="http://schemas.openxmlformats.org/officeDocument/'
                           f'2006/relationships/slide" Target="slides/slide{i}.xml"/>')
            type_xml.append(f'<Override PartName="/ppt/slides/slide{i}.xml" ContentType="application/vnd.'
                            'openxmlformats-officedocument.presentationml.slide+xml"/>')
        members["ppt/presentation.xml"] = pres.replace("</p:sldIdLst>", "".join(ids) + "</p:sldIdLst>").encode()
        members["ppt/_rels/presentation.xml.rels"] = rels.replace(
            "</Relationships>", "".join(rel_xml) + "</Relationships>").encode()
        members["[Content_Types].xml"] = types.replace("</Types>", "".join(type_xml) + "</Types>").encode()

    return Hostile("many_slides.pptx", _package("pptx", {}, edit=edit), PPTX, "3,000 slides", "truncated")


# --------------------------------------------------------------------------- a small PDF writer


def write_pdf(objects: list[bytes], root: int = 1) -> bytes:
    """``objects[i]`` is the body of object ``i + 1``; a classic xref table and trailer."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root {root} 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def _stream(data: bytes, *, deflated: Deflated | None = None) -> bytes:
    if deflated is not None:
        raw = zlib_stream(deflated)
        return f"<< /Length {len(raw)} /Filter /FlateDecode >>\nstream\n".encode() + raw + b"\nendstream"
    raw = zlib.compress(data)
    return f"<< /Length {len(raw)} /Filter /FlateDecode >>\nstream\n".encode() + raw + b"\nendstream"


_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def pdf_stream_bomb() -> Hostile:
    """One page whose content stream inflates to 1 GB (1 MB of PDF)."""
    content = deflate_repeated(b"BT /F1 12 Tf 72 712 Td (STREAMMARK) Tj ET\n", b" " * MIB, 1024, b"")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>", _stream(b"", deflated=content), _FONT]
    return Hostile("stream_bomb.pdf", write_pdf(objects), PDF, "a content stream inflating to 1 GB", "pdf_limit")


def _pages_with_streams(n: int, mark: bytes, mib_per_page: int) -> bytes:
    """A PDF of ``n`` pages sharing one font, each with its own content stream: ``mark`` shown, then
    padding inflating to ``mib_per_page`` MiB."""
    content = zlib_stream(deflate_repeated(b"BT /F1 12 Tf 72 712 Td (" + mark + b") Tj ET\n",
                                           b"%" + b" " * (MIB - 2) + b"\n", mib_per_page, b""))
    stream = f"<< /Length {len(content)} /Filter /FlateDecode >>\nstream\n".encode() + content + b"\nendstream"
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode()]
    for i in range(n):
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
                       f"/Resources << /Font << /F1 {3 + 2 * n} 0 R >> >> >>".encode())
        objects.append(stream)
    objects.append(_FONT)
    return write_pdf(objects)


def pdf_many_big_streams() -> Hostile:
    """300 pages, each with its own content stream inflating to 60 MB (each under pypdf's 75 MB limit)."""
    return Hostile("many_big_streams.pdf", _pages_with_streams(300, b"BIGMARK", 60), PDF,
                   "300 pages x 60 MB content streams (18 GB in all)", "pdf_limit")


def pdf_many_streams() -> Hostile:
    """400 pages, each with its own content stream inflating to 12 MB (under every per-stream limit)."""
    return Hostile("many_streams.pdf", _pages_with_streams(400, b"PAGEMARK", 12), PDF,
                   "400 pages x 12 MB content streams (4.8 GB in all)", "truncated")


def pdf_page_tree_bomb() -> Hostile:
    """A page tree of 6 levels x 10 kids over one page: a million pages from 8 objects."""
    levels = 6
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    for level in range(levels):
        child = 3 + level if level < levels - 1 else 2 + levels
        kids = " ".join([f"{child} 0 R"] * 10)
        parent = "" if level == 0 else f"/Parent {1 + level} 0 R "
        objects.append(f"<< /Type /Pages {parent}/Kids [{kids}] /Count {10 ** (levels - level)} >>".encode())
    objects.append(f"<< /Type /Page /Parent {1 + levels} 0 R /MediaBox [0 0 612 792] /Contents {3 + levels} 0 R "
                   f"/Resources << /Font << /F1 {4 + levels} 0 R >> >> >>".encode())
    objects.append(_stream(b"BT /F1 12 Tf 72 712 Td (TREEMARK) Tj ET"))
    objects.append(_FONT)
    return Hostile("page_tree_bomb.pdf", write_pdf(objects), PDF, "one page referenced a million times", "pdf_limit")


def pdf_deep_objects() -> Hostile:
    """A 100,000-deep nested array in the page's resources."""
    depth = 100_000
    deep = b"[" * depth + b"1" + b"]" * depth
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Deep " + deep
               + b" /Resources << /Font << /F1 5 0 R >> >> >>", _stream(b"BT /F1 12 Tf 72 712 Td (DEEPMARK) Tj ET"),
               _FONT]
    return Hostile("deep_objects.pdf", write_pdf(objects), PDF, "100,000-deep nested arrays", "corrupt")


GENERATORS: dict[str, Callable[[], Hostile]] = {
    "lying_central_directory.docx": lying_central_directory,
    "huge_part.docx": huge_part,
    "dense_elements.docx": dense_elements,
    "overlapping_entries.docx": overlapping_entries,
    "nested_zip.docx": nested_zip,
    "billion_laughs.docx": billion_laughs_docx,
    "billion_laughs.xlsx": billion_laughs_xlsx,
    "external_entity.docx": xxe_docx,
    "deep_nesting.docx": deep_nesting,
    "deep_nesting.xlsx": deep_nesting_xlsx,
    "huge_shared_strings.xlsx": huge_shared_strings,
    "wide_row.xlsx": wide_row_xlsx,
    "many_sheets.xlsx": many_sheets_xlsx,
    "many_members.docx": many_members,
    "many_slides.pptx": many_slides_pptx,
    "stream_bomb.pdf": pdf_stream_bomb,
    "many_big_streams.pdf": pdf_many_big_streams,
    "many_streams.pdf": pdf_many_streams,
    "page_tree_bomb.pdf": pdf_page_tree_bomb,
    "deep_objects.pdf": pdf_deep_objects,
}


def build(name: str) -> Hostile:
    return GENERATORS[name]()


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for name in argv[1:] or list(GENERATORS):
        h = build(name)
        (out / h.name).write_bytes(h.data)
        print(f"{h.name:32} {len(h.data):>12,} bytes  {h.what}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
