"""Listings (tables and CSV) show Drive-chosen text as it is: bidi controls visible, one line per CSV
row; JSON keeps the exact value for scripts."""

from __future__ import annotations

import csv
import io
import json

import pytest
from rich.console import Console

from scanner.cli.render import render, write_csv

ROW = {"file": "invoice\u202etxt.exe", "owner": "maya@tessera-labs.com", "note": "roster.csv\n* all fine\x1b[2J"}


def test_table_shows_bidi_and_control_characters() -> None:
    console = Console(record=True, width=200)
    render([ROW], ("file", "owner", "note"), "table", console=console)
    text = console.export_text()
    assert "invoice<U+202E>txt.exe" in text and "\u202e" not in text
    assert "<U+001B>[2J" in text and "\x1b" not in text


def test_csv_rows_cannot_be_forged() -> None:
    out = io.StringIO()
    write_csv([ROW], ("file", "owner", "note"), out)
    assert out.getvalue().count("\n") == 2  # header and one row
    [row] = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert row == {"file": "invoice<U+202E>txt.exe", "owner": "maya@tessera-labs.com",
                   "note": "roster.csv * all fine<U+001B>[2J"}


def test_json_keeps_exact_values(capsys: pytest.CaptureFixture[str]) -> None:
    render([ROW], ("file", "owner", "note"), "json")
    assert json.loads(capsys.readouterr().out) == [ROW]
