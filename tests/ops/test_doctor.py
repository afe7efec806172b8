"""`sharescan doctor` against the emulator: keys, every delegated scope per subject, admin subject, domains,
clock, database and rules; each FAIL says what to change."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from scanner.app import App
from scanner.config import Settings
from scanner.connectors.google.hints import DWD_CONSOLE
from scanner.core.errors import ExitCode
from scanner.demo import demo_settings
from scanner.emulator import Emulator
from scanner.keys import ensure_key
from scanner.ops.doctor import DoctorReport, Status, run_doctor
from tests.installation import Run

ADMIN = "admin@tessera-labs.com"
MAYA = "maya.chen@tessera-labs.com"
AUTH = "https://www.googleapis.com/auth/"


@pytest.fixture
def ready(emulator: Emulator, tmp_path: Path) -> Settings:
    """A configuration that passes: keys 0600, database at head, installation keys created."""
    key = tmp_path / "scan-key.json"
    emulator.write_key_file(key)
    settings = demo_settings(tmp_path, emulator.endpoint, key).with_overrides(
        google={"remediation_service_account_file": ""}, remediation={"mode": "dry-run"})
    app = App(settings)
    app.init_database()
    app.close()
    ensure_key(settings.evidence_key_path)
    ensure_key(settings.signing_key_path)
    return settings.model_copy(update={"source": str(tmp_path / "sharescan.toml")})


def by_name(report: DoctorReport) -> dict[str, Any]:
    return {c.name: c for c in report.checks}


def test_a_ready_installation_passes(ready: Settings) -> None:
    report = run_doctor(ready, subjects=[MAYA])
    assert report.failed == [] and report.exit_code == ExitCode.OK
    checks = by_name(report)
    for scope in ("drive.metadata.readonly", "drive.readonly", "admin.directory.user.readonly",
                  "admin.directory.domain.readonly"):
        assert checks[f"scanning key: {scope} as {ADMIN}"].status is Status.PASS
        assert checks[f"scanning key: {scope} as {MAYA}"].status is Status.PASS
    assert checks["admin subject"].status is Status.PASS
    # the demo Workspace has a second domain the demo configuration leaves out: a warning, not a failure
    assert (checks["domains"].status, checks["domains"].detail) == (
        Status.WARN, "the Directory also lists tessera-labeling.com: sharing with them counts as external")
    both = ready.with_overrides(organisation={"domains": ["tessera-labs.com", "tessera-labeling.com"]})
    assert by_name(run_doctor(both))["domains"].status is Status.PASS
    assert checks["clock"].status is Status.PASS
    assert checks["database"].status is Status.PASS
    assert checks["rule samples"].status is Status.PASS


def test_a_scope_missing_from_the_delegation_fails_with_the_console_line(ready: Settings, emulator: Emulator) -> None:
    emulator.delegation.refuse(AUTH + "drive.readonly", MAYA)
    report = run_doctor(ready, subjects=[MAYA])
    failed = [(c.name, c.status) for c in report.failed]
    assert failed == [(f"scanning key: drive.readonly as {MAYA}", Status.FAIL)]
    check = report.failed[0]
    assert check.detail.startswith("unauthorized_client: Client is unauthorized to retrieve access tokens")
    assert check.fix == (f"{DWD_CONSOLE}: client ID {emulator.key.client_id}, scopes {AUTH}drive.metadata.readonly,"
                         f"{AUTH}drive.readonly,{AUTH}admin.directory.user.readonly,"
                         f"{AUTH}admin.directory.domain.readonly")
    assert report.exit_code == ExitCode.GOOGLE_API


def test_wrong_admin_subject_and_unknown_domain(ready: Settings) -> None:
    settings = ready.with_overrides(google={"admin_subject": "nobody@tessera-labs.com"})
    checks = by_name(run_doctor(settings))
    first = checks["scanning key: drive.metadata.readonly as nobody@tessera-labs.com"]
    assert (first.status, first.detail) == (Status.FAIL, "invalid_grant: Invalid email or User ID")
    assert "[google] admin_subject" in first.fix
    assert checks["admin subject and domains"].status is Status.SKIP

    settings = ready.with_overrides(organisation={"domains": ["tessera-labs.com", "example.org"]})
    domains = by_name(run_doctor(settings))["domains"]
    assert domains.status is Status.FAIL and "example.org" in domains.detail


def test_admin_subject_that_is_not_an_administrator(ready: Settings) -> None:
    checks = by_name(run_doctor(ready.with_overrides(google={"admin_subject": MAYA})))
    assert checks["admin subject"].status is Status.FAIL
    assert "Admin console > Account > Admin roles" in checks["admin subject"].fix


@pytest.mark.parametrize(("mode", "status"), [(0o600, Status.PASS), (0o400, Status.PASS), (0o644, Status.FAIL),
                                              (0o640, Status.FAIL)])
def test_key_file_must_be_owner_only(ready: Settings, mode: int, status: Status) -> None:
    os.chmod(ready.google.service_account_file, mode)
    check = by_name(run_doctor(ready))["scanning key"]
    assert check.status is status
    if status is Status.FAIL:
        assert check.detail.endswith(f"mode {mode:04o} lets group/others read it")
        assert check.fix.startswith("chmod 600 ") and "defaultMode: 0400" in check.fix


def test_remediation_key_must_be_another_service_account(ready: Settings, emulator: Emulator,
                                                         tmp_path: Path) -> None:
    copy = tmp_path / "fix-key.json"
    emulator.write_key_file(copy)
    settings = ready.with_overrides(google={"remediation_service_account_file": str(copy), "endpoint": ""})
    check = by_name(Doctor_keys_only(settings))["separate keys"]
    assert check.status is Status.FAIL and "second service account" in check.fix


def Doctor_keys_only(settings: Settings) -> DoctorReport:  # noqa: N802 - reads like the check it runs
    from scanner.ops.doctor import Doctor

    doctor = Doctor(settings)
    scanning = doctor.check_key("scanning key", settings.google.service_account_file, "service_account_file",
                                "SHARESCAN_GOOGLE_KEY_FILE", required=True)
    doctor.check_remediation_key(scanning)
    return DoctorReport(tuple(doctor.checks))


def test_clock_far_off_fails(ready: Settings) -> None:
    import time

    checks = by_name(run_doctor(ready, clock=lambda: time.time() + 900))
    assert checks["clock"].status is Status.FAIL
    seconds, rest = checks["clock"].detail.split("s ", 1)
    assert 898 <= int(seconds) <= 902 and rest == "ahead of the token endpoint's clock"  # Date has 1 s resolution
    assert "NTP" in checks["clock"].fix


def test_database_not_initialised_and_missing_samples(ready: Settings, tmp_path: Path) -> None:
    rules = tmp_path / "my-rules"
    rules.mkdir()
    (rules / "mine.yaml").write_text(
        "id: my-rule\ntitle: Mine\nseverity: low\nwhen:\n  exposure: [public]\n"
        "tests:\n  match: [samples/not-there.txt]\n", encoding="utf-8")
    settings = ready.with_overrides(database={"url": f"sqlite:///{tmp_path / 'empty.db'}"},
                                    rules={"directories": [str(rules)]})
    report = run_doctor(settings)
    checks = by_name(report)
    assert (checks["database"].status, checks["database"].fix) == (Status.FAIL, "run `sharescan init`")
    assert checks["rule samples"].status is Status.FAIL
    assert checks["rule samples"].detail.startswith("1 of 37 missing, e.g. my-rule: samples/not-there.txt")
    assert report.exit_code == ExitCode.DATABASE  # the first failure's area


def test_doctor_command(sharescan: Run, emulator: Emulator) -> None:
    emulator.delegation.refuse(AUTH + "admin.directory.domain.readonly")
    result = sharescan("doctor", "--format", "json")
    assert result.returncode == 4, result.stderr
    out = json.loads(result.stdout)
    failed = [c["name"] for c in out["checks"] if c["status"] == "FAIL"]
    assert failed == [f"scanning key: admin.directory.domain.readonly as {ADMIN}"]
    text = sharescan("doctor").stdout
    assert f"FAIL  google    scanning key: admin.directory.domain.readonly as {ADMIN}: unauthorized_client" in text
    assert f"fix: {DWD_CONSOLE}: client ID {emulator.key.client_id}, scopes " in text
