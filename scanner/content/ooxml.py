"""OOXML packages (docx/xlsx/pptx zips): the container check (``safezip``) and the parse-tree budget,
the strict package walker the direct readers use to replay the libraries' checks, a
well-formedness memo for template parts, and a lenient lazy reader of parts for the text the
libraries skip.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from scanner.content.extract_base import ExtractError, ExtractLimits, SkipKind
from scanner.content.safezip import ZipInventory


def check_elements(inventory: ZipInventory, limits: ExtractLimits, *, excluding: tuple[str, ...] = (),
                   excluding_types: tuple[str, ...] = ()) -> None:
    """Refuse a package whose XML parsed whole would hold more than ``max_xml_elements`` elements."""
    n = inventory.elements(excluding=excluding, excluding_types=excluding_types)
    if n > limits.max_xml_elements:
        raise ExtractError(SkipKind.PART_TOO_LARGE, f"its XML parts hold {n:,} elements (> {limits.max_xml_elements:,}"
                           ", the parse-tree memory budget)")


_NS_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PR = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_NS_CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_RT_OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"


# a package's zip, parsed XML parts and relationships (``_Package``), reused by ``docx_extra_chunks``
_Parsed = tuple[zipfile.ZipFile, dict[str, Any], dict[str, dict[str, tuple[str, str | None]]]]


class _Unsure(Exception):
    """The direct reader defers to python-docx."""


class _NoTree:
    """lxml parser target that builds nothing: the same libxml2 well-formedness check, half the time."""

    def close(self) -> None:
        return None


class _WellFormedMemo:
    """XML part contents already found well-formed, by exact content (bounded, thread-safe).

    Packages made from one template carry byte-identical style/theme/layout parts (a Word
    ``styles.xml`` is 350 kB: 2 ms to check, most of a small DOCX's read time). The key is the
    part's full content - a dict compares the bytes, not just a hash - so a part is skipped only
    when it is exactly one that was checked before. Malformed parts are never remembered.
    """

    def __init__(self, max_bytes: int = 16 * 1024 * 1024, min_size: int = 512) -> None:
        import threading

        self.max_bytes = max_bytes
        self.min_size = min_size  # smaller parts are cheaper to parse than to remember
        self._seen: dict[bytes, None] = {}
        self._size = 0
        self._lock = threading.Lock()

    def check(self, blob: bytes, parser: object) -> None:
        """Raise like ``etree.fromstring(blob, parser)`` would, unless ``blob`` passed before."""
        from lxml import etree

        remember = self.min_size <= len(blob) <= self.max_bytes // 4
        if remember and blob in self._seen:
            return
        etree.fromstring(blob, parser)  # type: ignore[arg-type]
        if not remember:
            return
        with self._lock:
            while self._seen and self._size + len(blob) > self.max_bytes:  # forget the oldest
                oldest = next(iter(self._seen))
                del self._seen[oldest]
                self._size -= len(oldest)
            if blob not in self._seen:
                self._seen[blob] = None
                self._size += len(blob)


_WELL_FORMED = _WellFormedMemo()
#: Parts that come from the template (styles, numbering, settings, layouts, masters), the only ones
#: the memo may hold: comments, core properties (authors), charts and slides are user content and are
#: checked every time, so no document text stays in memory between files.
_TEMPLATE_PARTS = frozenset({
    "application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.numbering+xml",
    "application/vnd.openxmlformats-officedocument.presentationml.slideLayout+xml",
    "application/vnd.openxmlformats-officedocument.presentationml.slideMaster+xml",
    "application/vnd.openxmlformats-officedocument.presentationml.notesMaster+xml",
})


def _xml_parser() -> object:
    from lxml import etree

    return etree.XMLParser(remove_blank_text=True, resolve_entities=False)  # python-docx's settings


class _Package:
    """python-docx's package walk (docx/opc/pkgreader.py), without building part objects."""

    def __init__(self, data: bytes, xml_types: frozenset[str], text_types: frozenset[str]) -> None:
        import posixpath

        from lxml import etree

        self._etree = etree
        self._parser = _xml_parser()
        self._checker = etree.XMLParser(remove_blank_text=True, resolve_entities=False, target=_NoTree())
        self._posix = posixpath
        self.zf = zipfile.ZipFile(io.BytesIO(data))
        self.names = frozenset(self.zf.NameToInfo)
        types = etree.fromstring(self.zf.read("[Content_Types].xml"), self._parser)
        self.defaults = {e.get("Extension", "").lower(): e.get("ContentType") for e in types
                         if e.tag == _NS_CT + "Default"}
        self.overrides = {e.get("PartName", "").lower(): e.get("ContentType") for e in types
                          if e.tag == _NS_CT + "Override"}
        self.xml_types = xml_types
        self.text_types = text_types
        self.content_types: dict[str, str] = {}
        self.trees: dict[str, object] = {}
        self.rels: dict[str, dict[str, tuple[str, str | None]]] = {}
        self._walk("/")

    def _rels_for(self, partname: str) -> dict[str, tuple[str, str | None]]:
        base, name = self._posix.split(partname)
        member = self._posix.join(base, "_rels", f"{name}.rels")[1:]
        out: dict[str, tuple[str, str | None]] = {}
        if member not in self.names:
            return out
        raw = self.zf.read(member)
        for rel in self._etree.fromstring(raw, self._parser):
            if rel.tag != _NS_PR + "Relationship":
                continue
            target: str | None = None
            if rel.get("TargetMode", "Internal") != "External":
                target = self._posix.normpath(self._posix.join(base, rel.get("Target")))
                if not target.startswith("/") or target.startswith("//"):
                    raise _Unsure("odd relationship target")
            out[rel.get("Id")] = (rel.get("Type"), target)
        return out

    def _walk(self, source: str) -> None:
        rels = self._rels_for(source)
        self.rels[source] = rels
        for _rtype, target in rels.values():
            if target is None or target in self.content_types:
                continue
            blob = self.zf.read(target[1:])  # KeyError / CRC error: python-docx decides
            ext = target.rsplit(".", 1)[-1].lower() if "." in target.rsplit("/", 1)[-1] else ""
            ctype = self.overrides.get(target.lower()) or self.defaults.get(ext)
            if ctype is None:
                raise _Unsure("part without content type")
            self.content_types[target] = ctype
            if ctype in self.text_types:
                self.trees[target] = self._etree.fromstring(blob, self._parser)
            elif ctype in self.xml_types:  # the library parses it: a malformed one fails the file
                if ctype in _TEMPLATE_PARTS:  # only template parts are remembered, never user content
                    _WELL_FORMED.check(blob, self._checker)
                else:
                    self._etree.fromstring(blob, self._checker)
            self._walk(target)

    def related(self, source: str, r_id: str | None, content_type: str) -> object:
        rel = self.rels.get(source, {}).get(r_id or "")
        if rel is None or rel[1] is None or self.content_types.get(rel[1]) != content_type:
            raise _Unsure("relationship not found")
        return self.trees[rel[1]]


class _ZipParts:
    """Lenient lazy reader of package parts (relationships and XML trees) from the zip."""

    def __init__(self, data: bytes, parsed: _Parsed | None) -> None:
        import posixpath

        from lxml import etree

        self._etree = etree
        self._posix = posixpath
        self._parser = _xml_parser()
        self.zf = parsed[0] if parsed else zipfile.ZipFile(io.BytesIO(data))
        self.trees: dict[str, Any] = dict(parsed[1]) if parsed else {}
        self.rels: dict[str, dict[str, tuple[str, str | None]]] = dict(parsed[2]) if parsed else {}

    def rels_of(self, partname: str) -> dict[str, tuple[str, str | None]]:
        if partname not in self.rels:
            base, name = self._posix.split(partname)
            out: dict[str, tuple[str, str | None]] = {}
            try:
                raw = self.zf.read(self._posix.join(base, "_rels", f"{name}.rels")[1:])
            except KeyError:
                raw = b""
            for rel in self._etree.fromstring(raw, self._parser) if raw else ():
                if rel.tag != _NS_PR + "Relationship" or rel.get("TargetMode", "Internal") == "External":
                    continue
                target = self._posix.normpath(self._posix.join(base, rel.get("Target") or ""))
                if target.startswith("/") and not target.startswith("//"):
                    out[rel.get("Id") or ""] = (rel.get("Type") or "", target)
            self.rels[partname] = out
        return self.rels[partname]

    def tree(self, partname: str) -> Any:
        if partname not in self.trees:
            self.trees[partname] = self._etree.fromstring(self.zf.read(partname[1:]), self._parser)
        return self.trees[partname]
