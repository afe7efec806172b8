"""Drive-chosen names with bidi overrides and line breaks, through every export format.

``invoice\u202etxt.exe`` reads ``invoiceexe.txt`` in a viewer that honours the right-to-left override;
a name with a line break can forge a row of a table or a CSV file opened in a viewer. Every export
shows the override as ``<U+202E>`` and the name on one line.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scanner.config import Settings
from scanner.export.service import export
from scanner.store.models import CrawlTarget, DriveFileRow
from tests.export.factory import NOW, Story

BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


@pytest.fixture
def hostile(sessions: sessionmaker[Session], story: Story, settings: Settings, tmp_path: Path) -> Path:
    with sessions.begin() as s:
        s.get(DriveFileRow, "1RosterAAA").name = "invoice\u202etxt.exe"  # type: ignore[union-attr]
        s.get(DriveFileRow, "1DeckCCC").name = "deck.pptx\r\n* all files are fine"  # type: ignore[union-attr]
        s.get(DriveFileRow, "1VideoEEE").name = "recording\u2067mp4.exe\u2069"  # type: ignore[union-attr]
        drive = s.scalars(select(CrawlTarget).where(CrawlTarget.kind == "drive")).one()
        drive.name = "Clients\u202e\nfake line"
    export(sessions, settings, ["csv", "jsonl", "ocsf", "html"], tmp_path / "out", now=NOW, actor="auditor@t")
    return tmp_path / "out"


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_no_export_file_holds_a_bidi_control(hostile: Path) -> None:
    files = sorted(p for p in hostile.rglob("*") if p.is_file())
    assert len(files) > 8
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not set(text) & set(BIDI_CONTROLS), path.name


def test_names_show_what_they_are_in_every_format(hostile: Path) -> None:
    expected = {"1RosterAAA": "invoice<U+202E>txt.exe", "1DeckCCC": "deck.pptx * all files are fine"}
    assert {r["file_id"]: r["file_name"] for r in _csv(hostile / "csv" / "findings.csv")
            if r["file_id"] in expected} == expected
    assert {r["file_id"]: r["file_name"] for r in _jsonl(hostile / "jsonl" / "findings.jsonl")
            if r["file_id"] in expected} == expected
    gaps = {r["file_id"]: r["file_name"] for r in _csv(hostile / "csv" / "content_gaps.csv")}
    assert gaps["1VideoEEE"] == "recording<U+2067>mp4.exe<U+2069>"
    coverage = {r["target_name"] for r in _csv(hostile / "csv" / "coverage.csv") if r["target_kind"] == "drive"}
    assert coverage == {"Clients<U+202E> fake line"}
    html = (hostile / "report.html").read_text(encoding="utf-8")
    assert "invoice&lt;U+202E&gt;txt.exe" in html
    assert "deck.pptx * all files are fine" in html
    assert "recording&lt;U+2067&gt;mp4.exe&lt;U+2069&gt;" in html
