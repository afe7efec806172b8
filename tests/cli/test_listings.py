"""Listings that fit: one line per row at 80 columns, COLUMNS honoured when piped, --columns, the same
fields in CSV and JSON; acceptances in `findings show` and `findings exemptions --all`; --fail-on."""

from __future__ import annotations

import csv
import io
import json

import pytest
from rich.console import Console

from scanner.cli.render import Col, fit_columns
from scanner.export.values import flat
from tests.installation import Run


def table_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("│")]


def test_findings_listings_after_a_scan(sharescan: Run) -> None:
    assert sharescan("scan", "--full", "--no-progress").returncode == 0
    as_json = json.loads(sharescan("findings", "list", "--format", "json").stdout)
    assert len(as_json) >= 10

    narrow = sharescan("findings", "list", env={"COLUMNS": "80"})
    rows = table_lines(narrow.stdout)
    assert len(rows) == len(as_json), narrow.stdout  # one line per finding, no wrapping
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 80
    header = next(line for line in narrow.stdout.splitlines() if line.startswith("┃"))
    for column in ("id", "severity", "status", "rule id", "file"):
        assert f" {column} " in header, header
    assert " last seen " not in header  # left out at 80 columns

    wide = sharescan("findings", "list", env={"COLUMNS": "240"})
    assert max(len(line) for line in wide.stdout.splitlines()) > 160  # COLUMNS wins over the piped default
    assert " last seen " in wide.stdout and " recurrences " in wide.stdout

    as_csv = list(csv.DictReader(io.StringIO(sharescan("findings", "list", "--format", "csv").stdout)))
    assert list(as_csv[0]) == list(as_json[0])  # same fields, same order
    with_categories = next(r for r in as_json if len(r["categories"]) >= 1)
    same = next(r for r in as_csv if r["id"] == str(with_categories["id"]))
    assert same["categories"] == "; ".join(with_categories["categories"])
    assert same["fingerprint"] == with_categories["fingerprint"] and same["file_id"] == with_categories["file_id"]

    picked = sharescan("findings", "list", "--columns", "id,owner,last-seen", "--format", "csv").stdout
    assert picked.splitlines()[0] == "id,owner,last_seen"
    picked_json = json.loads(sharescan("findings", "list", "--columns", "severity,id", "--format", "json").stdout)
    assert list(picked_json[0]) == ["severity", "id"]
    bad = sharescan("findings", "list", "--columns", "id,nope")
    assert bad.returncode == 2 and "unknown column(s) nope" in bad.stderr

    # --fail-on gates on open findings in the listing
    assert sharescan("findings", "list", "--fail-on", "critical", "--format", "json").returncode == 10
    assert sharescan("findings", "list", "--severity", "info", "--fail-on", "high",
                     "--format", "json").returncode == 0

    # acceptances: shown by `findings show` and `findings exemptions --all`, with reason, actor and expiry
    target = next(r for r in as_json if r["status"] == "open")
    accepted = sharescan("--actor", "sec-oncall@tessera-labs.com", "findings", "accept", str(target["id"]),
                         "--reason", "client approved public sharing", "--expires", "2099-01-31")
    assert accepted.returncode == 0, accepted.stderr
    shown = json.loads(sharescan("findings", "show", str(target["id"]), "--format", "json").stdout)
    assert [(a["reason"], a["actor"], a["expires_at"][:10], a["kind"]) for a in shown["acceptances"]] == [
        ("client approved public sharing", "sec-oncall@tessera-labs.com", "2099-02-01", "acceptance")]
    table = sharescan("findings", "show", str(target["id"]), env={"COLUMNS": "140"}).stdout
    assert "acceptances of this risk" in table and "client approved public sharing" in table, table
    assert json.loads(sharescan("findings", "exemptions", "--format", "json").stdout) == []
    everything = json.loads(sharescan("findings", "exemptions", "--all", "--format", "json").stdout)
    assert [(e["kind"], e["finding_id"], e["actor"]) for e in everything] == [
        ("acceptance", target["id"], "sec-oncall@tessera-labs.com")]


ROWS = [{"id": i, "severity": "high", "rule_id": "public-contractor-pii-roster", "file": "x" * 40,
         "owner": "someone@example.org", "last_seen": "2026-11-29 07:04:24"} for i in range(3)]
COLS = [Col("id", min_width=4), Col("severity", min_width=8), Col("rule_id", drop=2, min_width=14),
        Col("file", min_width=14), Col("owner", drop=3, min_width=14), Col("last_seen", drop=1, min_width=19)]


@pytest.mark.parametrize(("width", "expected"), [
    (40, ["id", "severity", "file"]),
    (60, ["id", "severity", "file", "last_seen"]),
    (80, ["id", "severity", "rule_id", "file", "last_seen"]),
    (200, ["id", "severity", "rule_id", "file", "owner", "last_seen"]),
])
def test_columns_leave_by_rank_and_the_rest_fits(width: int, expected: list[str]) -> None:
    fitted = fit_columns(COLS, ROWS, width)
    assert [c.name for c, _ in fitted] == expected
    if width < 200:
        assert sum(w + 3 for _, w in fitted) + 1 == width  # the widest columns gave up characters
    else:
        assert [w for _, w in fitted] == [2, 8, 28, 40, 19, 19]  # natural widths


def test_table_rows_stay_one_line_at_80_columns() -> None:
    from scanner.cli.render import render

    console = Console(width=80, record=True, color_system=None)
    render([{**r, "file": "line\nbreak \u202e" + "y" * 60} for r in ROWS], COLS, "table", console=console)
    text = console.export_text()
    lines = text.splitlines()
    assert len([line for line in lines if line.startswith("│")]) == 3
    assert all(len(line) <= 80 for line in lines)
    assert "line break <U+202" in text and "\u202e" not in text  # one line; the bidi override shown, not obeyed


@pytest.mark.parametrize(("value", "cell"), [
    (["a", "b"], "a; b"), ({"public": 2, "domain": 1}, "public=2; domain=1"), (None, None), (3, 3),
    ([{"type": "anyone"}], '[{"type": "anyone"}]'), ([], ""),
])
def test_csv_cells_join_lists(value: object, cell: object) -> None:
    assert flat(value) == cell
