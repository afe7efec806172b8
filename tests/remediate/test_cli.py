"""The CLI end to end: findings list/show/accept, remediate (plan, --apply), actions, restore, rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scanner.cli.main import cli
from scanner.config import Settings
from scanner.core.errors import RuleError
from scanner.emulator import Emulator
from scanner.emulator.seeds.demo import fid
from scanner.policy.evaluate import PolicyEngine
from scanner.policy.loader import builtin_rules_dir, rule_files
from scanner.store import migrate
from scanner.store.db import make_engine, make_sessionmaker
from scanner.store.models import AuditEvent
from tests.remediate.conftest import MiniScanner, drive_events, scan


@pytest.fixture()
def config(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrate.upgrade(url)
    g = settings.google
    text = f"""
[organisation]
domains = ["tessera-labs.com"]
[database]
url = "{url}"
[google]
endpoint = "{g.endpoint}"
service_account_file = "{g.service_account_file}"
remediation_service_account_file = "{g.remediation_service_account_file}"
admin_subject = "{g.admin_subject}"
[remediation]
mode = "dry-run"
max_actions_share = 1.0
"""
    path = tmp_path / "sharescan.toml"
    path.write_text(text)
    monkeypatch.setenv("SHARESCAN_CONFIG", str(path))
    return url


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_flow(config: str, emulator: Emulator, scanner: MiniScanner, engine: PolicyEngine) -> None:
    engine_ = make_engine(config)
    sessions: sessionmaker[Session] = make_sessionmaker(engine_)
    try:
        scan(scanner, engine, sessions, ["roster_csv", "offsite_recipe"])
    finally:
        engine_.dispose()
    rows = json.loads(run("findings", "list", "--format", "json", "--severity", "critical"))
    assert [(r["rule_id"], r["file"], r["status"]) for r in rows] == [
        ("public-contractor-pii", "contractor_contacts.csv", "open")]
    shown = json.loads(run("findings", "show", str(rows[0]["id"]), "--format", "json"))
    assert shown["matched_permissions"][0]["id"] == "anyoneWithLink"
    csv_out = run("findings", "list", "--format", "csv")
    assert csv_out.splitlines()[0].startswith("id,fingerprint,rule_id,severity,status")  # the JSON fields

    before = len(drive_events(emulator))
    run("remediate", "--severity", "critical")  # plan only
    assert len(drive_events(emulator)) == before
    run("remediate", str(rows[0]["id"]), "--apply")
    assert [e["kind"] for e in drive_events(emulator)[before:]] == ["permission.deleted"]
    actions = json.loads(run("actions", "list", "--format", "json", "--mode", "enforce", "--status", "verified"))
    [revoke] = actions
    assert (revoke["action"], revoke["file_id"]) == ("revoke", fid("roster_csv"))
    detail = json.loads(run("actions", "show", str(revoke["id"]), "--format", "json"))
    assert detail["before"]["permission"]["type"] == "anyone"
    missing = CliRunner().invoke(cli, ["restore", str(revoke["id"])])  # a reason is required
    assert missing.exit_code == 2 and "--reason" in missing.output
    # contractor PII back on the internet: a person confirms (here: declines, then confirms with --yes)
    declined = CliRunner().invoke(cli, ["restore", str(revoke["id"]), "--reason", "owner asked"], input="n\n")
    assert declined.exit_code == 1 and "holds sensitive data" in declined.output, declined.output
    assert "(anyone_with_link)" in declined.output and "nothing changed" in str(declined.exception)
    assert drive_events(emulator)[-1]["kind"] == "permission.deleted"
    assert "restored action" in run("restore", str(revoke["id"]), "--reason", "payroll vendor onboarding", "--yes")
    assert drive_events(emulator)[-1]["kind"] == "permission.created"
    audit_db = make_engine(config)
    try:
        with Session(audit_db) as s:
            [event] = s.scalars(select(AuditEvent).where(AuditEvent.event_type == "remediation.restored")).all()
            assert event.data["reason"] == "payroll vendor onboarding"
    finally:
        audit_db.dispose()
    again = json.loads(run("findings", "list", "--format", "json", "--severity", "critical"))
    assert again[0]["status"] == "open"

    info = json.loads(run("findings", "list", "--format", "json", "--rule", "public-file-inventory"))
    out = run("findings", "accept", str(info[0]["id"]), "--reason", "recipe is public on purpose",
              "--expires", "30d")
    assert "accepted until" in out


def test_rules_commands(tmp_path: Path) -> None:
    listed = json.loads(run("rules", "list", "--format", "json"))
    assert len(listed) == len(rule_files(builtin_rules_dir()))
    schema = json.loads(run("rules", "schema"))
    assert schema["title"] == "sharescan rule"
    (tmp_path / "bad.yaml").write_text("id: bad-rule\ntitle: Bad\nseverity: high\nwhen:\n  exposure: [everywhere]\n")
    result = CliRunner().invoke(cli, ["rules", "validate", str(tmp_path)])
    assert isinstance(result.exception, RuleError) and result.exception.exit_code == 2
    assert f"{tmp_path / 'bad.yaml'}:5: when.exposure[0]: Input should be" in str(result.exception)
    assert "1 rule(s) valid" in run("rules", "validate", str(builtin_rules_dir() / "public-contractor-pii.yaml"))
