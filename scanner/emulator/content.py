"""File content: bytes of binary files (stored or generated lazily) and exports of Google-native files."""

from __future__ import annotations

import csv
import hashlib
import io

from .errors import ApiError, bad_request
from .office import docx_bytes, pptx_bytes, xlsx_bytes
from .pdf import text_pdf
from .seeds.synthetic import NATIVE_KINDS, lazy_digest
from .state.model import DOC, SHEET, SLIDES, DriveFile, NativeContent

EXPORT_LIMIT = 10 * 1024 * 1024  # Google refuses exports larger than 10 MB
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
EXPORTS: dict[str, tuple[str, ...]] = {
    DOC: ("text/plain", "text/html", "application/pdf", DOCX),
    SHEET: ("text/csv", "text/tab-separated-values", "application/pdf", XLSX),
    SLIDES: ("text/plain", "application/pdf", PPTX),
}


def _lazy(f: DriveFile) -> bytes | NativeContent | None:
    if f.lazy is None:
        return None
    from .seeds.synthetic import generate_lazy

    return generate_lazy(f.lazy[0], f.lazy[1])


def binary_content(f: DriveFile) -> bytes:
    if f.content is not None:
        return f.content
    lazy = _lazy(f)
    return lazy if isinstance(lazy, bytes) else b""


def binary_size_md5(f: DriveFile) -> tuple[int, str]:
    """Size and md5 of what a download of ``f`` returns; synthetic files' are derived without building
    their bytes (a listing asks for them for every file)."""
    if f.content is None and f.lazy is not None and f.lazy[0].partition(":")[0] not in NATIVE_KINDS:
        return lazy_digest(f.lazy[0], f.lazy[1])
    data = binary_content(f)
    return len(data), hashlib.md5(data, usedforsecurity=False).hexdigest()


def native_content(f: DriveFile) -> NativeContent:
    if f.native is not None:
        return f.native
    lazy = _lazy(f)
    return lazy if isinstance(lazy, NativeContent) else NativeContent()


def searchable_text(f: DriveFile) -> str:
    if f.is_native:
        n = native_content(f)
        rows = [" ".join(str(c) for c in row) for _, sheet in n.sheets for row in sheet]
        return "\n".join([f.name, n.text, *n.slides, *rows])
    if f.mime_type.startswith("text/"):
        return f.name + "\n" + binary_content(f).decode("utf-8", "replace")
    return f.name


def _rows_text(rows: list[list[object]], delimiter: str) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if c is None else c for c in row])
    return buf.getvalue()


def export(f: DriveFile, mime_type: str, limit: int = EXPORT_LIMIT) -> bytes:
    """Export a Google Docs editor file like Drive's files.export."""
    if not f.is_native:
        raise ApiError(403, "fileNotExportable", "Export only supports Docs Editors files.")
    if mime_type not in EXPORTS[f.mime_type]:
        raise bad_request("The requested conversion is not supported.", location="convertTo")
    n = native_content(f)
    data: bytes
    if f.mime_type == DOC:
        text = n.text.replace("\r\n", "\n")
        # a cheap size check first: the text alone already exceeds the limit
        if len(text) > limit:
            raise _too_large()
        if mime_type == "text/plain":
            data = ("\ufeff" + text.replace("\n", "\r\n")).encode()
        elif mime_type == "text/html":
            import html

            paras = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n"))
            data = f"<html><head><title>{html.escape(f.name)}</title></head><body>{paras}</body></html>".encode()
        elif mime_type == DOCX:
            data = docx_bytes(text.split("\n"), f.name)
        else:
            data = text_pdf(text, f.name)
    elif f.mime_type == SHEET:
        sheets = n.sheets or [("Sheet1", [])]
        if mime_type == "text/csv":
            data = _rows_text(sheets[0][1], ",").encode()
        elif mime_type == "text/tab-separated-values":
            data = _rows_text(sheets[0][1], "\t").encode()
        elif mime_type == XLSX:
            data = xlsx_bytes(sheets)
        else:
            data = text_pdf("\n".join(_rows_text(rows, " ") for _, rows in sheets), f.name)
    else:
        if mime_type == "text/plain":
            data = "\n\n".join(n.slides).encode()
        elif mime_type == PPTX:
            data = pptx_bytes(n.slides)
        else:
            data = text_pdf("\n\n".join(n.slides), f.name)
    if len(data) > limit:
        raise _too_large()
    return data


def _too_large() -> ApiError:
    return ApiError(403, "exportSizeLimitExceeded", "This file is too large to be exported.")
