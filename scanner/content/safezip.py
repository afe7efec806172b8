"""OOXML containers checked by inflating them, never by trusting what their headers declare.

``inspect_zip(data, limits)`` inflates every member once, as a stream in small pieces, before any
library opens the file, and refuses it (``ExtractError`` with a typed ``SkipKind``) when:

- the central directory is unreadable, a local header is missing, a member is encrypted or uses
  another compression than stored/deflate (``corrupt``, ``encrypted``, ``unsupported``);
- it has more than ``max_zip_members`` members, members overlap (several entries reading the same
  compressed bytes), everything together inflates past ``max_uncompressed``, or a member or the
  whole container compresses more than ``max_compression_ratio`` (``zip_bomb``);
- a member inflates to another size than its headers declare (``zip_size_mismatch``): the zip
  module and the Office libraries read a member whole, inflating everything before cutting it to
  the declared size - a lying 1,000-byte member can cost gigabytes;
- its CRC-32 is wrong (``corrupt``), an XML part holds a document type declaration, which OPC
  forbids and which is how entity-expansion bombs start (``xml_dtd``);
- a spreadsheet row holds more than ``max_row_cells`` cells or ``max_row_bytes`` bytes
  (``part_too_large``): openpyxl parses each row whole.

Memory while inspecting stays at a few hundred kilobytes whatever the member sizes. What it returns
(:class:`ZipInventory`) is what the readers need to choose a bounded way to read: the true size of
each member and, for XML parts (by their content type), how many elements they hold - counted in C
(``bytes.count``) as start tags, an upper bound of what lxml would build.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from scanner.content.extract_base import MIB, ExtractError, ExtractLimits, SkipKind

CONTENT_TYPES = "[Content_Types].xml"
PACKAGE_RELS = "_rels/.rels"
WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_OUT_PIECE = 256 * 1024  # inflated bytes handled at a time
_IN_PIECE = 64 * 1024  # compressed bytes fed at a time
_MAX_CARRY = 64 * 1024
_MAX_CONTENT_TYPES = 8 * MIB
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_NS_CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_NS_PR = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_ROW_START = re.compile(rb"<row[\s/>]")


@dataclass(frozen=True)
class MemberFacts:
    name: str
    size: int  # inflated, as measured (equal to the declared size, or the file was refused)
    compressed: int
    content_type: str  # from [Content_Types].xml ("" when it names none)
    elements: int = 0  # start tags counted in an XML part (0 for other members)


@dataclass(frozen=True)
class ZipInventory:
    members: dict[str, MemberFacts]
    main_part: str | None  # the package's officeDocument part (member name, no leading slash)

    @property
    def total(self) -> int:
        return sum(m.size for m in self.members.values())

    def elements(self, *, excluding: Iterable[str] = (), excluding_types: Iterable[str] = ()) -> int:
        """Elements of the XML parts, except the named members and content types."""
        names, types = set(excluding), set(excluding_types)
        return sum(m.elements for m in self.members.values() if m.name not in names and m.content_type not in types)


def _is_xml_type(content_type: str) -> bool:
    ct = content_type.split(";")[0].strip().lower()
    return ct.endswith("+xml") or ct in ("application/xml", "text/xml")


class _Scan:
    """Counts over one XML part's inflated bytes, fed in pieces; tags are never split across pieces."""

    def __init__(self, name: str, limits: ExtractLimits, rows: bool) -> None:
        self.name = name
        self.limits = limits
        self.rows = rows
        self.elements = 0
        self.carry = b""
        self.offset = 0  # of the first byte of ``carry`` within the part
        self.in_row = False
        self.row_start = 0
        self.row_cells = 0

    def feed(self, piece: bytes, final: bool = False) -> None:
        buf = self.carry + piece if self.carry else piece
        cut = len(buf) if final else buf.rfind(b"<")  # the last tag may be incomplete: keep it for later
        if cut < 0 or len(buf) - cut > _MAX_CARRY:
            cut = len(buf)
        elif cut == 0:
            self.carry = buf
            return
        self._segment(buf[:cut], self.offset)
        self.offset += cut
        self.carry = buf[cut:]

    def _segment(self, seg: bytes, base: int) -> None:
        if b"<!DOCTYPE" in seg:
            raise ExtractError(SkipKind.XML_DTD, f"{self.name} declares a document type (DTD), which OOXML forbids")
        self.elements += seg.count(b"<") - seg.count(b"</") - seg.count(b"<?") - seg.count(b"<!")
        if self.rows:
            self._rows(seg, base)

    def _rows(self, seg: bytes, base: int) -> None:
        """Cells and bytes of each worksheet row (``<row>`` ... ``</row>``), counted without parsing."""
        pos = 0
        starts = [m.start() for m in _ROW_START.finditer(seg)]
        for start in [*starts, None]:
            piece = seg[pos:start]
            if self.in_row:
                end = piece.find(b"</row")
                self.row_cells += (piece if end < 0 else piece[:end]).count(b"<c")
                if self.row_cells > self.limits.max_row_cells:
                    raise ExtractError(SkipKind.PART_TOO_LARGE, f"{self.name}: a row holds more than "
                                       f"{self.limits.max_row_cells:,} cells")
                row_end = base + pos + (len(piece) if end < 0 else end)
                if row_end - self.row_start > self.limits.max_row_bytes:
                    raise ExtractError(SkipKind.PART_TOO_LARGE, f"{self.name}: a row is over "
                                       f"{self.limits.max_row_bytes // MIB} MiB")
                if end >= 0:
                    self.in_row = False
            if start is None:
                break
            self.in_row, self.row_start, self.row_cells = True, base + start, 0
            pos = start + 4  # past "<row"


def _inflate(data: bytes, info: zipfile.ZipInfo, start: int, limits: ExtractLimits, budget_left: int,
             scan: _Scan | None) -> int:
    """Inflate one member piece by piece: its true size (checked against the declared size and CRC)."""
    declared = info.file_size
    name = info.filename
    cap = min(declared, budget_left)
    view = memoryview(data)[start:start + info.compress_size]
    size = 0
    crc = 0

    def take(out: bytes) -> None:
        nonlocal size, crc
        size += len(out)
        if size > declared:
            raise ExtractError(SkipKind.ZIP_SIZE_MISMATCH, f"zip member {name} inflates past the {declared:,} "
                               "bytes its headers declare")
        if size > cap:
            raise ExtractError(SkipKind.ZIP_BOMB, f"zip inflates past {limits.max_uncompressed:,} bytes")
        crc = zlib.crc32(out, crc)
        if scan is not None:
            scan.feed(out)

    if info.compress_type == zipfile.ZIP_STORED:
        for i in range(0, len(view), _OUT_PIECE):
            take(bytes(view[i:i + _OUT_PIECE]))
    else:
        d = zlib.decompressobj(-15)
        try:
            for i in range(0, len(view), _IN_PIECE):
                out = d.decompress(view[i:i + _IN_PIECE], _OUT_PIECE)
                take(out)
                while d.unconsumed_tail and not d.eof:
                    take(d.decompress(d.unconsumed_tail, _OUT_PIECE))
                if d.eof:
                    break
            take(d.flush())
        except zlib.error as exc:
            raise ExtractError(SkipKind.CORRUPT, f"zip member {name}: corrupt deflate data") from exc
        if not d.eof:
            raise ExtractError(SkipKind.CORRUPT, f"zip member {name}: deflate data ends early (truncated)")
    if size != declared:
        raise ExtractError(SkipKind.ZIP_SIZE_MISMATCH, f"zip member {name} inflates to {size:,} bytes, its headers "
                           f"declare {declared:,}")
    if crc != info.CRC:
        raise ExtractError(SkipKind.CORRUPT, f"zip member {name}: bad CRC-32")
    if scan is not None:
        scan.feed(b"", final=True)
    return size


def _data_start(data: bytes, info: zipfile.ZipInfo) -> int:
    offset = info.header_offset
    try:
        sig, *_fields, name_len, extra_len = _LOCAL_HEADER.unpack_from(data, offset)
    except struct.error:
        raise ExtractError(SkipKind.CORRUPT, "corrupt or truncated OOXML container (bad local header)") from None
    if sig != b"PK\x03\x04":
        raise ExtractError(SkipKind.CORRUPT, "corrupt or truncated OOXML container (bad local header)")
    start = offset + _LOCAL_HEADER.size + name_len + extra_len
    if start + info.compress_size > len(data):
        raise ExtractError(SkipKind.CORRUPT, "corrupt or truncated OOXML container (member past the end)")
    return start


def _xml_root(blob: bytes, what: str) -> object:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        return etree.fromstring(blob, parser)
    except etree.XMLSyntaxError as exc:
        raise ExtractError(SkipKind.CORRUPT, f"corrupt OOXML {what}") from exc


def inspect_zip(data: bytes, limits: ExtractLimits, *, rows: bool = False) -> ZipInventory:
    """Inflate and check every member (see the module's docstring); ``rows``: check worksheet rows."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, struct.error) as exc:
        raise ExtractError(SkipKind.CORRUPT, "corrupt or truncated OOXML container (bad zip)") from exc
    if len(infos) > limits.max_zip_members:
        raise ExtractError(SkipKind.ZIP_BOMB, f"zip has {len(infos)} members (> {limits.max_zip_members})")
    starts: dict[int, int] = {}  # id(info) -> offset of its data (names may repeat)
    spans: list[tuple[int, int]] = []
    for info in infos:
        if info.flag_bits & 0x1:
            raise ExtractError(SkipKind.ENCRYPTED, f"encrypted zip member {info.filename}")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ExtractError(SkipKind.UNSUPPORTED, f"zip member {info.filename}: compression method "
                               f"{info.compress_type} (OOXML uses deflate)")
        start = _data_start(data, info)
        starts[id(info)] = start
        spans.append((info.header_offset, start + info.compress_size))
    spans.sort()
    for (_, prev_end), (begin, _) in zip(spans, spans[1:], strict=False):
        if begin < prev_end:
            raise ExtractError(SkipKind.ZIP_BOMB, "zip members overlap (entries sharing compressed data)")

    by_name = {info.filename: info for info in infos}
    types_info = by_name.get(CONTENT_TYPES)
    if types_info is None:
        raise ExtractError(SkipKind.CORRUPT, f"not an OOXML package (no {CONTENT_TYPES})")
    if types_info.file_size > _MAX_CONTENT_TYPES:
        raise ExtractError(SkipKind.PART_TOO_LARGE, f"{CONTENT_TYPES} is over {_MAX_CONTENT_TYPES // MIB} MiB")
    types_scan = _Scan(CONTENT_TYPES, limits, rows=False)
    used = _inflate(data, types_info, starts[id(types_info)], limits, limits.max_uncompressed, types_scan)
    types_root = _xml_root(zf.read(types_info), CONTENT_TYPES)
    defaults = {e.get("Extension", "").lower(): e.get("ContentType", "") for e in types_root  # type: ignore[attr-defined]
                if e.tag == _NS_CT + "Default"}
    overrides = {e.get("PartName", "").lower(): e.get("ContentType", "") for e in types_root  # type: ignore[attr-defined]
                 if e.tag == _NS_CT + "Override"}

    facts = {CONTENT_TYPES: MemberFacts(CONTENT_TYPES, used, types_info.compress_size, "application/xml",
                                        types_scan.elements)}
    for info in infos:
        name = info.filename
        if info is types_info or name.endswith("/"):
            continue
        ext = name.rsplit(".", 1)[-1].lower() if "." in name.rsplit("/", 1)[-1] else ""
        ctype = overrides.get("/" + name.lower()) or defaults.get(ext) or ""
        scan = _Scan(name, limits, rows=rows and ctype == WORKSHEET_TYPE) if _is_xml_type(ctype) else None
        size = _inflate(data, info, starts[id(info)], limits, limits.max_uncompressed - used, scan)
        used += size
        if size > 1_000_000 and size > limits.max_compression_ratio * max(info.compress_size, 1):
            raise ExtractError(SkipKind.ZIP_BOMB, f"zip member compression ratio over "
                               f"{limits.max_compression_ratio:g} (zip bomb?)")
        facts[name] = MemberFacts(name, size, info.compress_size, ctype, scan.elements if scan else 0)
    compressed = sum(i.compress_size for i in infos)
    if used > 10_000_000 and used > limits.max_compression_ratio * max(compressed, 1):
        raise ExtractError(SkipKind.ZIP_BOMB, f"zip compression ratio over {limits.max_compression_ratio:g} "
                           "(zip bomb?)")
    return ZipInventory(facts, _main_part(zf, facts))


def _main_part(zf: zipfile.ZipFile, facts: dict[str, MemberFacts]) -> str | None:
    """The officeDocument target of ``_rels/.rels`` (already inflated and checked), or None."""
    if PACKAGE_RELS not in facts:
        return None
    root = _xml_root(zf.read(PACKAGE_RELS), PACKAGE_RELS)
    for rel in root:  # type: ignore[attr-defined]
        if rel.tag == _NS_PR + "Relationship" and rel.get("Type") == _OFFICE_DOCUMENT \
                and rel.get("TargetMode", "Internal") != "External":
            return str(rel.get("Target") or "").lstrip("/") or None
    return None
