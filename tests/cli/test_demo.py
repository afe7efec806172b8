"""``sharescan demo``: the whole story against the bundled emulator, in one command."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from scanner.cli.main import cli


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
