"""Fetch a file's content for analysis: export Google-native files, download the others, with a
hard byte cap. Returns bytes in memory only; nothing here is logged or stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from scanner.connectors.google.client import GoogleCallError, GoogleClients
from scanner.connectors.google.mime import GOOGLE_DOC, GOOGLE_FOLDER, GOOGLE_SHEET, GOOGLE_SHORTCUT, GOOGLE_SLIDES
from scanner.core.models import DriveFile
from scanner.core.unread import ReadFailure, failure_of

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Export format per Google Docs editor type. Sheets export as XLSX: CSV export carries only the
#: first sheet, and sensitive tabs are often not the first.
EXPORT_FORMATS: dict[str, str] = {
    GOOGLE_DOC: "text/plain",
    GOOGLE_SHEET: XLSX,
    GOOGLE_SLIDES: "text/plain",
}
GOOGLE_APPS_PREFIX = "application/vnd.google-apps."
#: Token-exchange refusals for an identity that cannot be impersonated (suspended, unknown).
DENIED_REASONS = frozenset({"invalid_grant", "unauthorized_client", "access_denied"})


@dataclass(frozen=True)
class FetchedContent:
    """Bytes to analyse (``mime_type`` says how to read them), or why there are none."""

    data: bytes = b""
    mime_type: str = ""
    truncated: bool = False
    skip_reason: str | None = None
    exported: bool = False
    #: The API error behind a failed export/download (None when it did not fail at the API).
    error_status: int | None = None
    error_reason: str = ""
    #: Set when the read failed for a cause that may pass (API error after retries, timeout): the file
    #: is a pending read, tried again next run. None for lasting reasons (folder, too large...).
    failure: ReadFailure | None = None

    @property
    def ok(self) -> bool:
        return self.skip_reason is None

    @property
    def denied(self) -> bool:
        """This identity could not read the file; another one (a member, the admin) might."""
        return self.error_status in (401, 403, 404) or self.error_reason in DENIED_REASONS


class ContentFetcher:
    """``fetch(file, as_user=..., max_bytes=...)``: export or download one file, capped."""

    def __init__(self, clients: GoogleClients) -> None:
        self.clients = clients

    def fetch(self, file: DriveFile, *, as_user: str, max_bytes: int) -> FetchedContent:
        mime = file.mime_type
        if mime == GOOGLE_FOLDER:
            return FetchedContent(skip_reason="folder")
        if mime == GOOGLE_SHORTCUT:
            return FetchedContent(skip_reason="shortcut (its target is analysed on its own)")
        drive = self.clients.drive(as_user)
        if mime in EXPORT_FORMATS:
            target = EXPORT_FORMATS[mime]
            try:
                data = self.clients.execute(drive.files().export(fileId=file.id, mimeType=target))
            except GoogleCallError as exc:
                if exc.reason == "exportSizeLimitExceeded":
                    return FetchedContent(mime_type=target, skip_reason="export size limit exceeded")
                return FetchedContent(mime_type=target, skip_reason=f"export failed: {exc.status} {exc.reason}",
                                      error_status=exc.status, error_reason=exc.reason,
                                      failure=failure_of(exc, ReadFailure.EXPORT_FAILED))
            data = bytes(data or b"")
            truncated = len(data) > max_bytes
            return FetchedContent(data=data[:max_bytes], mime_type=target, truncated=truncated, exported=True)
        if mime.startswith(GOOGLE_APPS_PREFIX):
            kind = mime.removeprefix(GOOGLE_APPS_PREFIX)
            return FetchedContent(mime_type=mime, skip_reason=f"unsupported Google type {kind}")
        if file.size == 0:
            return FetchedContent(data=b"", mime_type=mime)
        request = drive.files().get_media(fileId=file.id, supportsAllDrives=True)
        # Ask for one byte more than the cap: receiving it proves the file is longer.
        request.headers["range"] = f"bytes=0-{max_bytes}"
        try:
            data = self.clients.execute(request)
        except GoogleCallError as exc:
            if exc.status == 416:  # empty file with a Range header
                return FetchedContent(data=b"", mime_type=mime)
            return FetchedContent(mime_type=mime, skip_reason=f"download failed: {exc.status} {exc.reason}",
                                  error_status=exc.status, error_reason=exc.reason,
                                  failure=failure_of(exc, ReadFailure.DOWNLOAD_FAILED))
        data = bytes(data or b"")
        truncated = len(data) > max_bytes or (file.size is not None and file.size > max_bytes)
        return FetchedContent(data=data[:max_bytes], mime_type=mime, truncated=truncated)
