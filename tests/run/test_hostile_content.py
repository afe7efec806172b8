"""A hostile document in Drive is skipped and recorded with a typed reason by a real scan; it never
crashes the run nor passes as analysed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from scanner.emulator.seeds.demo import EXPECTED
from scanner.run import ScanOptions, ScanService
from scanner.store.models import DriveFileRow
from tests.data.make_hostile import build


@pytest.mark.parametrize(("hostile", "kind", "reason"), [
    ("lying_central_directory.docx", "zip_size_mismatch",
     "not analysed: zip member word/document.xml inflates past the 1,000 bytes its headers declare"),
    ("billion_laughs.docx", "xml_dtd",
     "not analysed: word/document.xml declares a document type (DTD), which OOXML forbids"),
])
def test_hostile_docx_is_recorded_as_not_analysed_with_its_kind(make_app, emulator, hostile: str, kind: str,
                                                                 reason: str) -> None:
    target = EXPECTED["addendum_docx"].file_id
    with emulator.workspace.lock:
        emulator.workspace.files[target].content = build(hostile).data
    app = make_app()
    result = ScanService(app).run(ScanOptions(full=True))
    assert result.status == "completed"
    with app.sessions() as s:
        row = s.scalars(select(DriveFileRow).where(DriveFileRow.id == target)).one()
        assert (row.content_status, row.content_skip_kind, row.content_skip_reason) == ("not_analysed", kind, reason)
