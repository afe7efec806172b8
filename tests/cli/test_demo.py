"""``sharescan demo``: the whole story against the bundled emulator, in one command."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from scanner.cli.main import cli
from scanner.emulator.seeds.demo_audit import OUTSIDE_DOWNLOADER, ROSTER_ANONYMOUS_VIEWS, ROSTER_EXPOSED_DAYS_AGO


def test_demo_json_scans_fixes_exports_and_verifies(tmp_path: Path) -> None:
    output = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--output", str(output), "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["scan"]["status"] == "completed" and out["scan"]["remediation_refused"] is None
    assert out["findings"] and out["sharing_changes"]
    assert {c["change"] for c in out["sharing_changes"]} <= {
        "permission.deleted", "permission.created", "permission.updated", "revision.updated", "revision.unpublished"}
    assert out["manifest_verified"] is True
    assert Path(out["report"]) == output / "export" / "report.html" and Path(out["report"]).is_file()
    assert (output / ".sharescan-demo").is_file()
    # Owners were told: one digest per owner whose sharing changed, each received by the webhook.
    owners = {n["to"] for n in out["notifications"]}
    assert owners and len(owners) == len(out["notifications"])
    assert all(n["status"] == "sent" for n in out["notifications"])
    assert out["webhook_messages"] == len(out["notifications"])
    # The breach candidate is dated from the Drive audit log weeks before the first scan, with the
    # anonymous views and the outside download counted; it heads the list (most reached from outside).
    top = out["breach_candidates"][0]
    assert top["file"].startswith("Contractor roster") and top["source"] == "audit_log"
    assert top["days"] > ROSTER_EXPOSED_DAYS_AGO and top["reached_outside"] == "yes"
    assert top["anonymous"] == ROSTER_ANONYMOUS_VIEWS and top["outside"] == 2
    assert top["outside_domains"] == OUTSIDE_DOWNLOADER.rsplit("@", 1)[1]
    assert OUTSIDE_DOWNLOADER not in result.stdout  # actors are a domain and a keyed hash
    html = Path(out["report"]).read_text(encoding="utf-8")
    assert "exposed since" in html and "(Drive audit log)" in html and "anonymous: 7 views" in html
