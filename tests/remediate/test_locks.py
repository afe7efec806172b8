"""``remediate --apply`` and ``restore`` take the scans' run lock, and ``max_actions_per_run`` counts
the changes any of them made in ``[remediation] limit_window_minutes``: three remediations started
at once cannot each spend their own budget, nor delete one permission twice."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from scanner.app import App
from scanner.cli.context import State
from scanner.cli.remediate import remediate, restore
from scanner.core.errors import ExitCode, RemediationRefused, RunLockedError
from scanner.emulator import FaultRule
from scanner.run import ScanOptions, ScanService
from scanner.schedule.lock import run_lock_for
from scanner.store.models import Finding, RemediationAction

from ..run.conftest import make_app  # noqa: F401 - the fixture
from .test_breaker import add_public_rosters

LIMIT = 10
PER_PROCESS = 6


def write_config(app: App, path: Path) -> None:
    s = app.settings
    path.write_text(
        "[organisation]\n"
        f'domains = ["{s.organisation.domains[0]}"]\n'
        "[google]\n"
        f'service_account_file = "{s.google.service_account_file}"\n'
        f'remediation_service_account_file = "{s.google.remediation_service_account_file}"\n'
        f'admin_subject = "{s.google.admin_subject}"\nendpoint = "{s.google.endpoint}"\n'
        f'[database]\nurl = "{s.database.url}"\n'
        f'[detect]\nkey_file = "{s.detect.key_file}"\n'
        "[limits]\nmax_retries = 1\n"
        f"[remediation]\nmax_actions_share = 1.0\nmax_actions_per_run = {LIMIT}\n",
        encoding="utf-8")


def roster_findings(app: App) -> list[int]:
    with app.sessions() as s:
        return list(s.scalars(select(Finding.id).where(Finding.file_id.like("rostercopy%"),
                                                       Finding.rule_id == "public-contractor-pii")
                              .order_by(Finding.id)))


def test_three_remediations_at_once_share_one_lock_and_one_budget(make_app, emulator, tmp_path: Path) -> None:  # noqa: F811
    add_public_rosters(emulator)
    app = make_app(remediation={"max_actions_per_run": LIMIT}, detect={"nlp": "pattern-only"})
    ScanService(app).run(ScanOptions(full=True))  # dry run: the findings
    ids = roster_findings(app)
    assert len(ids) >= 3 * PER_PROCESS
    config = tmp_path / "sharescan.toml"
    write_config(app, config)
    emulator.set_faults([FaultRule("drive.permissions.delete", kind="latency", latency=0.4)])
    env = {**os.environ, "SHARESCAN_DATA_DIR": str(tmp_path / "data")}
    procs = [subprocess.Popen([sys.executable, "-m", "scanner.cli.main", "--config", str(config), "remediate",
                               *map(str, ids[n * PER_PROCESS:(n + 1) * PER_PROCESS]), "--apply"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) for n in range(3)]
    results = [(p.wait(timeout=240), p.stderr.read().decode() if p.stderr else "") for p in procs]
    codes = sorted(code for code, _ in results)
    # One acted; the others met the lock (75) or, started after it, the shared budget (5).
    assert codes[0] == 0 and all(c in (ExitCode.LOCKED, ExitCode.REMEDIATION_REFUSED) for c in codes[1:]), results
    deleted = [e["fileId"] for e in emulator.events if e["kind"] == "permission.deleted"]
    with app.sessions() as s:
        verified = s.scalars(select(RemediationAction).where(RemediationAction.status == "verified")).all()
    assert len(verified) == len(deleted) == len(set(deleted)) == PER_PROCESS <= LIMIT
    assert emulator.counters["drive.permissions.delete"] == PER_PROCESS  # no permission deleted twice


def test_the_budget_counts_changes_made_in_the_window(make_app, emulator) -> None:  # noqa: F811
    add_public_rosters(emulator)
    app = make_app(remediation={"max_actions_per_run": LIMIT}, detect={"nlp": "pattern-only"})
    ScanService(app).run(ScanOptions(full=True))
    ids = roster_findings(app)
    state = State(None, 0, False)
    state._app = app
    first = CliRunner().invoke(remediate, [*map(str, ids[:PER_PROCESS]), "--apply"], obj=state)
    assert first.exit_code == 0, first.output
    second = CliRunner().invoke(remediate, [*map(str, ids[PER_PROCESS:2 * PER_PROCESS]), "--apply"], obj=state)
    assert isinstance(second.exception, RemediationRefused), second.output
    assert second.exception.exit_code == ExitCode.REMEDIATION_REFUSED
    assert f"{PER_PROCESS} actions with the {PER_PROCESS} change(s) made in the last 60 min exceed " \
           f"max_actions_per_run={LIMIT}" in str(second.exception)
    # With the window off, each command has its own budget again.
    app.settings = app.settings.with_overrides(remediation={"limit_window_minutes": 0})
    third = CliRunner().invoke(remediate, [*map(str, ids[PER_PROCESS:2 * PER_PROCESS]), "--apply"], obj=state)
    assert third.exit_code == 0, third.output


@pytest.mark.parametrize("command", ["remediate", "restore"])
def test_remediate_apply_and_restore_wait_for_a_running_scan(make_app, command: str) -> None:  # noqa: F811
    app = make_app()
    state = State(None, 0, False)
    state._app = app
    args = {"remediate": (remediate, ["--severity", "critical", "--apply"]), "restore": (restore, ["1", "--reason", "owner asked", "--yes"])}[command]
    with run_lock_for(app, holder="scanner-1:4242"):
        out = CliRunner().invoke(args[0], args[1], obj=state)
    assert isinstance(out.exception, RunLockedError), out.output
    assert out.exception.exit_code == ExitCode.LOCKED
    assert "run lock 'scan' held by scanner-1:4242" in str(out.exception)
