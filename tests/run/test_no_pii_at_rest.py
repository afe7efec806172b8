"""No PII at rest: after a full enforce scan of the demo workspace and a full export, no email
address, phone number or key that appears inside a document is found in the database file, the
exports or the logs. (Who a file is shared with — permission grantees — is sharing metadata the
tool must keep to restore access; values found only inside documents must never be stored.)"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from scanner.connectors.google.mime import GOOGLE_DOC, GOOGLE_SHEET, GOOGLE_SLIDES
from scanner.content.extract import ExtractLimits, extract
from scanner.emulator.content import export as emulator_export
from scanner.emulator.seeds.demo import FAKE_AWS_KEY
from scanner.export.service import export
from scanner.run import ScanOptions, ScanService

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
PHONE = re.compile(r"\+\d[\d ()-]{8,}\d")
NATIVE_EXPORT = {GOOGLE_DOC: "text/plain", GOOGLE_SHEET: "text/csv", GOOGLE_SLIDES: "text/plain"}


def document_values(emulator) -> set[str]:
    ws = emulator.workspace
    metadata = {u.lower() for u in ws.users} if hasattr(ws, "users") else set()
    for f in ws.files.values():
        metadata.update(p.email.lower() for p in f.permissions if p.email)
        if f.owner:
            metadata.add(f.owner.lower())
    texts: list[str] = []
    for f in ws.files.values():
        if f.mime_type in NATIVE_EXPORT and f.native is not None:
            texts.append(emulator_export(f, NATIVE_EXPORT[f.mime_type]).decode("utf-8", "replace"))
        elif f.content:
            result = extract(f.content, f.mime_type, f.name, ExtractLimits())
            texts.extend(chunk.text for chunk in getattr(result, "chunks", []))
    values: set[str] = set()
    for text in texts:
        values.update(e for e in EMAIL.findall(text) if e.lower() not in metadata and "example." not in e)
        values.update(PHONE.findall(text))
    values.add(FAKE_AWS_KEY)
    return values


def test_database_exports_and_logs_hold_no_document_values(make_sqlite_app, emulator, tmp_path: Path, caplog) -> None:
    values = document_values(emulator)
    assert len(values) >= 10, values  # the demo is full of contractor emails and phones
    caplog.set_level(logging.DEBUG)
    app = make_sqlite_app()
    result = ScanService(app).run(ScanOptions(full=True, apply=True))
    assert result.findings_new > 0 and result.files_analysed > 0
    out = export(app, app.settings, ["csv", "jsonl", "ocsf", "html"], tmp_path / "export")
    app.close()

    blobs: dict[str, bytes] = {}
    db = Path(app.settings.database_url.removeprefix("sqlite:///"))
    for path in [db, db.with_name(db.name + "-wal")]:
        if path.exists():
            blobs[path.name] = path.read_bytes()
    for path in out.directory.rglob("*"):
        if path.is_file():
            blobs[str(path.relative_to(out.directory))] = path.read_bytes()
    blobs["logs"] = caplog.text.encode()
    leaks = {name: sorted(v for v in values if v.encode() in blob) for name, blob in blobs.items()}
    leaks = {k: v for k, v in leaks.items() if v}
    assert not leaks, leaks
