"""``sharescan scans list|show`` over a crawled demo workspace."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from click.testing import CliRunner

from scanner.cli.context import State
from scanner.cli.scans import scans
from scanner.drive.crawler import CrawlSummary


def test_scans_list_and_show(crawl: Callable[..., CrawlSummary], sqlite_url: str,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    summary = crawl(full=True)
    monkeypatch.setenv("SHARESCAN_DATABASE_URL", sqlite_url)
    runner = CliRunner()
    out = runner.invoke(scans, ["list", "--format", "json"], obj=State(None, 0, False))
    assert out.exit_code == 0, out.output
    runs = json.loads(out.output)
    assert [(r["id"], r["files_seen"], r["targets"]) for r in runs] == [(summary.run_id, 26, 8)]
    out = runner.invoke(scans, ["show", str(summary.run_id), "--format", "json"], obj=State(None, 0, False))
    assert out.exit_code == 0, out.output
    body = json.loads(out.output)
    by_key = {c["key"]: c for c in body["coverage"]}
    sam = by_key["sam.ortiz@tessera-labs.com"]
    assert sam["status"] == "skipped" and sam["reason"].startswith("suspended")
    assert by_key["maya.chen@tessera-labs.com"]["files_seen"] == 5
    assert all(c["api_calls"] > 0 for c in body["coverage"])
    table = runner.invoke(scans, ["show", str(summary.run_id)], obj=State(None, 0, False))
    assert table.exit_code == 0 and "scan 1" in table.output
    missing = runner.invoke(scans, ["show", "999"], obj=State(None, 0, False))
    assert missing.exit_code != 0
