"""The OOXML container check: every member inflated as a stream, declared sizes checked, never trusted."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pytest
from lxml import etree

from scanner.content.extract import extract
from scanner.content.extract_base import ExtractError, ExtractLimits, SkipKind
from scanner.content.safezip import inspect_zip
from tests.data.make_hostile import DOCX, XLSX, Member, _package, deflate_repeated, write_zip

TYPES = (b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
         b'<Default Extension="xml" ContentType="application/xml"/>'
         b'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
         b'officedocument.spreadsheetml.worksheet+xml"/></Types>')


def _zip(*members: Member) -> bytes:
    return write_zip([Member("[Content_Types].xml", TYPES), *members])


def _kind(data: bytes, limits: ExtractLimits | None = None, rows: bool = False) -> SkipKind | None:
    try:
        inspect_zip(data, limits or ExtractLimits(), rows=rows)
    except ExtractError as exc:
        return exc.kind
    return None


def _stored(name: str, data: bytes, declared: int) -> bytes:
    """A zip whose last member is stored and declares ``declared`` bytes (local and central headers)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("[Content_Types].xml", TYPES)
        z.writestr(name, data)
    out = bytearray(buf.getvalue())
    local = zipfile.ZipFile(io.BytesIO(bytes(out))).getinfo(name).header_offset
    struct.pack_into("<L", out, local + 22, declared)  # local header: uncompressed size
    struct.pack_into("<L", out, out.rfind(b"PK\x01\x02") + 24, declared)  # central directory entry
    return bytes(out)


BIG = deflate_repeated(b"<a>", b"<b>x</b>" * 4096, 64, b"</a>")  # 2 MB of XML, honestly declared


@pytest.mark.parametrize("data,limits,rows,kind", [
    pytest.param(_zip(Member("a.xml", b"<a/>")), None, False, None, id="clean"),
    pytest.param(_zip(Member("big.xml", deflated=BIG, declared_size=1000, declared_crc=zlib.crc32(BIG.head[:1000]))),
                 None, False, SkipKind.ZIP_SIZE_MISMATCH, id="declares-less-than-it-inflates-to"),
    pytest.param(_zip(Member("a.xml", b"<a/>" * 100, declared_size=10_000)), None, False,
                 SkipKind.ZIP_SIZE_MISMATCH, id="declares-more-than-it-inflates-to"),
    pytest.param(_zip(Member("a.xml", b"<a/>", declared_crc=1234)), None, False, SkipKind.CORRUPT, id="bad-crc"),
    pytest.param(_zip(Member("a.bin", b"\0" * 5000), *(Member(f"b{i}.bin", same_data_as="a.bin") for i in range(3))),
                 None, False, SkipKind.ZIP_BOMB, id="overlapping-entries"),
    pytest.param(_zip(Member("big.xml", deflated=BIG)), ExtractLimits(max_uncompressed=1_000_000), False,
                 SkipKind.ZIP_BOMB, id="over-max-uncompressed"),
    pytest.param(_zip(*(Member(f"m{i}.xml", b"<a/>") for i in range(12))), ExtractLimits(max_zip_members=10), False,
                 SkipKind.ZIP_BOMB, id="too-many-members"),
    pytest.param(_zip(Member("z.bin", deflated=deflate_repeated(b"", b"\0" * 65536, 40, b""))), None, False,
                 SkipKind.ZIP_BOMB, id="member-ratio"),
    pytest.param(_zip(Member("a.xml", b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>')), None, False,
                 SkipKind.XML_DTD, id="dtd"),
    pytest.param(_zip(Member("a.bin", b"<!DOCTYPE is fine in a non-XML part")), None, False, None, id="dtd-bytes-in-media"),
    pytest.param(write_zip([Member("a.xml", b"<a/>")]), None, False, SkipKind.CORRUPT, id="no-content-types"),
    pytest.param(b"PK\x03\x04 not a zip", None, False, SkipKind.CORRUPT, id="not-a-zip"),
    pytest.param(_zip(Member("xl/worksheets/sheet1.xml", b"<worksheet><sheetData><row r='1'>" + b"<c><v>1</v></c>" * 11
                             + b"</row></sheetData></worksheet>")), ExtractLimits(max_row_cells=10), True,
                 SkipKind.PART_TOO_LARGE, id="row-cells"),
    pytest.param(_zip(Member("xl/worksheets/sheet1.xml", b"<worksheet><sheetData><row r='1'>" + b"<c><v>1</v></c>" * 10
                             + b"</row><row r='2'>" + b"<c><v>1</v></c>" * 10 + b"</row></sheetData></worksheet>")),
                 ExtractLimits(max_row_cells=10), True, None, id="row-cells-at-limit"),
    pytest.param(_zip(Member("xl/worksheets/sheet1.xml", b"<worksheet><sheetData><row r='1'><c t='inlineStr'><is><t>"
                             + b"x" * 3_000_000 + b"</t></is></c></row></sheetData></worksheet>")),
                 ExtractLimits(max_row_bytes=2_000_000), True, SkipKind.PART_TOO_LARGE, id="row-bytes"),
    pytest.param(_zip(Member("other.xml", b"<row>" + b"<c/>" * 11 + b"</row>")), ExtractLimits(max_row_cells=10), True,
                 None, id="rows-only-in-worksheets"),
])
def test_container_checks(data: bytes, limits: ExtractLimits | None, rows: bool, kind: SkipKind | None) -> None:
    assert _kind(data, limits, rows) == kind


def test_stored_member_size_mismatch() -> None:
    assert _kind(_stored("a.xml", b"<a/>" * 10, declared=40)) is None
    assert _kind(_stored("a.xml", b"<a/>" * 10, declared=20)) == SkipKind.ZIP_SIZE_MISMATCH


@pytest.mark.parametrize("flag,method,kind", [(0x1, 8, SkipKind.ENCRYPTED), (0, 12, SkipKind.UNSUPPORTED)])
def test_encrypted_or_other_compression(flag: int, method: int, kind: SkipKind) -> None:
    data = bytearray(_zip(Member("a.xml", b"<a/>")))
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<HH", data, central + 8, flag, method)
    assert _kind(bytes(data)) == kind


def test_element_count_is_exact_across_pieces() -> None:
    """Start tags counted in pieces of 256 KiB equal what lxml builds (comments, PIs, end tags excluded)."""
    body = b"".join(b'<p n="%d"><r><t>x &lt; y</t></r><!-- c --><?pi x?><e/></p>' % i for i in range(40_000))
    xml = b'<?xml version="1.0"?><doc>' + body + b"</doc>"
    assert len(xml) > 3 * 256 * 1024
    inventory = inspect_zip(_zip(Member("doc.xml", xml)), ExtractLimits())
    expected = sum(1 for el in etree.fromstring(xml).iter() if isinstance(el.tag, str))
    assert inventory.members["doc.xml"].elements == expected == 1 + 40_000 * 4


def test_lying_docx_is_refused_typed_without_inflating_it() -> None:
    """A DOCX whose document.xml declares 1,000 bytes and inflates to 100 MB: refused at byte 1,001."""
    lie = deflate_repeated(b"<w:document>", b"A" * 65536, 1600, b"</w:document>")
    data = _package("docx", {"word/document.xml": Member("word/document.xml", deflated=lie, declared_size=1000,
                                                         declared_crc=zlib.crc32(lie.head[:1000]))})
    r = extract(data, DOCX, "x.docx")
    assert (r.ok, r.skip) == (False, SkipKind.ZIP_SIZE_MISMATCH)
    assert r.reason == "not analysed: zip member word/document.xml inflates past the 1,000 bytes its headers declare"


def test_xlsx_over_the_parse_tree_budget_is_refused() -> None:
    data = _package("xlsx", {})
    r = extract(data, XLSX, "x.xlsx", ExtractLimits(max_xml_elements=50))
    assert (r.ok, r.skip) == (False, SkipKind.PART_TOO_LARGE)
    assert r.reason is not None and r.reason.startswith("not analysed: its XML parts hold ")
    assert extract(data, XLSX, "x.xlsx").ok
