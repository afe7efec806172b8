"""Google Drive's MIME types and what kind of item each is (``scanner.core.models.ItemKind``).

The connector fills ``DriveFile.kind`` from these when it parses Drive JSON (``drive_api.parse_file``);
the rest of sharescan asks the kind (``is_folder``, ``is_editor_document``...), never the MIME type.
"""

from __future__ import annotations

from scanner.core.models import ItemKind

GOOGLE_DOC = "application/vnd.google-apps.document"
GOOGLE_SHEET = "application/vnd.google-apps.spreadsheet"
GOOGLE_SLIDES = "application/vnd.google-apps.presentation"
GOOGLE_FOLDER = "application/vnd.google-apps.folder"
GOOGLE_SHORTCUT = "application/vnd.google-apps.shortcut"
GOOGLE_FORM = "application/vnd.google-apps.form"
#: Google Docs editor files, the only ones that can be "published to the web".
GOOGLE_EDITOR_TYPES = frozenset({GOOGLE_DOC, GOOGLE_SHEET, GOOGLE_SLIDES})

_KINDS = {GOOGLE_FOLDER: ItemKind.FOLDER, GOOGLE_SHORTCUT: ItemKind.SHORTCUT, GOOGLE_FORM: ItemKind.FORM,
          **{m: ItemKind.DOCUMENT for m in GOOGLE_EDITOR_TYPES}}


def item_kind(mime_type: str | None) -> ItemKind:
    """The kind of a Drive item from its MIME type (anything not named: a plain file)."""
    return _KINDS.get(mime_type or "", ItemKind.FILE)
