"""Exports stream: chunked reads give the same bytes, aggregates match the in-memory computations,
and the HTML report caps its tables with a note."""

from __future__ import annotations

import datetime as dt
import random
import re
import statistics
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from scanner.config import Settings
from scanner.export import collect as collect_module
from scanner.export import html_report
from scanner.export.collect import collect
from scanner.export.metrics import DurationTally, breach_candidates, compute_metrics, duration_stats
from scanner.export.service import export
from tests.export.factory import NOW, Story

ALL = ["csv", "jsonl", "ocsf", "html"]


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name not in ("manifest.json", "SHA256SUMS", "SHA256SUMS.sig")}


def test_chunk_size_does_not_change_a_byte(sessions: sessionmaker[Session], story: Story, settings: Settings,
                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    export(sessions, settings, ALL, tmp_path / "big", now=NOW)
    monkeypatch.setattr(collect_module, "CHUNK", 1)  # every keyset page holds one finding / five rows
    export(sessions, settings, ALL, tmp_path / "one", now=NOW)
    big, one = _files(tmp_path / "big"), _files(tmp_path / "one")
    # the second export's audit line names the first export's event; everything else is identical
    audit = re.compile(rb"Audit log: \d+ events, chain intact, head seq \d+ <span class=\"mono\">[0-9a-f]{64}</span>")
    big["report.html"] = audit.sub(b"", big["report.html"])
    one["report.html"] = audit.sub(b"", one["report.html"])
    assert big == one


def test_streamed_aggregates_match_in_memory(sessions: sessionmaker[Session], story: Story) -> None:
    with sessions() as s:
        data = collect(s, now=NOW)
        seen: list[int] = []
        data.scan_findings([lambda f: seen.append(f.id)])
        records = list(data.findings())
        assert seen == sorted(seen) == [f.id for f in records] and len(seen) == 4
        assert data.metrics == compute_metrics(records, NOW)
        assert list(data.breach_candidates()) == breach_candidates(records, NOW, 72)  # SQL order = Python sort
        assert data.counts() == {"findings": 4, "actions": 3, "scan_runs": 3, "coverage_rows": 12, "exemptions": 2,
                                 "content_gaps": 1, "breach_candidates": 2}
        assert (data.breach_total, data.breach_overdue) == (2, 1)
        assert [r.new_findings for r in data.runs()] == [2, 1, 0]


@pytest.mark.parametrize("seed", range(5))
def test_duration_tally_equals_statistics(seed: int) -> None:
    rnd = random.Random(seed)
    deltas = [dt.timedelta(seconds=rnd.choice((rnd.randint(-3600, 10**6), 36 * 3600, 0)))
              for _ in range(rnd.randint(1, 400))]
    hours = [round(d.total_seconds() / 3600, 2) for d in deltas if d >= dt.timedelta(0)]
    stats = duration_stats(deltas)
    assert stats.count == len(hours)
    if hours:
        assert stats.mean_hours == round(statistics.fmean(hours), 2)
        assert stats.median_hours == round(statistics.median(hours), 2)
        assert stats.max_hours == max(hours)
    assert len(DurationTally().counts) == 0


def test_html_tables_are_capped_with_a_note(sessions: sessionmaker[Session], story: Story, settings: Settings,
                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(html_report, "ROW_LIMIT", 2)
    export(sessions, settings, ["html"], tmp_path / "o", now=NOW)
    html = (tmp_path / "o" / "report.html").read_text(encoding="utf-8")
    findings = re.search(r'<section id="findings">(.*?)</section>', html, re.S)
    assert findings is not None
    assert findings.group(1).count("<tr>") == 3  # header + 2 rows
    assert ("Showing 2 of 4 findings (by id). Every row is in csv/findings.csv and jsonl/findings.jsonl "
            "(sharescan export --format csv or --format jsonl).") in findings.group(1)
    windows = re.search(r'<section id="windows">(.*?)</section>', html, re.S)
    assert windows is not None and "Showing 2 of 4 exposure windows (earliest first)" in windows.group(1)
    # the earliest two: the memo (first seen 60 days before, never exposed before) then the deck (20 days)
    assert windows.group(1).index("BLUEFIN memo") < windows.group(1).index("KESTREL pitch deck")
    assert "HYPERLINK" not in windows.group(1) and "Q3 roster" not in windows.group(1)
    actions = re.search(r'<section id="actions">(.*?)</section>', html, re.S)
    # 3 actions, one of them the owner's notice (shown on the change it follows, not as a row): 2 rows, no cut
    assert actions is not None and actions.group(1).count('<td class="num" data-label="id">') == 2
    assert "Showing" not in actions.group(1)
    assert "Showing" not in re.search(r'<section id="breach">(.*?)</section>', html, re.S).group(1)  # type: ignore[union-attr]
    # the summary still counts everything
    assert '<div class="n">4</div><div class="l">Findings</div>' in html


def test_html_uncapped_has_no_note(sessions: sessionmaker[Session], story: Story, settings: Settings,
                                   tmp_path: Path) -> None:
    export(sessions, settings, ["html"], tmp_path / "o", now=NOW)
    assert "Showing " not in (tmp_path / "o" / "report.html").read_text(encoding="utf-8")
