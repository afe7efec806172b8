"""Each action kind tells after a kill -9 whether its change was made: ``sharescan remediate --apply``
is killed on its Drive call (before it reaches Drive, or after Drive made the change), then the next
``remediate --apply`` — or ``restore`` — reconciles first: the action row and the audit log get the
true outcome, the finding ends ``remediated`` and Drive was changed exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from scanner.app import App
from scanner.emulator import Emulator, FaultRule
from scanner.emulator.seeds.demo import fid
from scanner.policy.loader import load_configured_rules
from scanner.remediate.service import RemediationService
from scanner.run import ScanOptions, ScanService
from scanner.store.models import AuditEvent, Finding, RemediationAction

from ..run.conftest import make_app  # noqa: F401 - the fixture
from .test_locks import write_config

CHANGES = ("permission.deleted", "permission.created", "revision.unpublished")


@dataclass(frozen=True)
class Case:
    key: str
    rule: str
    action: str
    endpoint: str  # the request the kill lands on
    path: str


CASES = {
    "revoke": Case("roster_csv", "public-contractor-pii", "revoke", "drive.permissions.delete", "/permissions/*"),
    "downgrade": Case("sow_pdf", "public-client-confidential", "downgrade", "drive.permissions.delete",
                      "/permissions/*"),
    "unpublish": Case("client_brief_published", "public-client-confidential", "unpublish", "drive.revisions.update",
                      "/revisions/*"),
}


def finding_for(app: App, case: Case) -> int:
    with app.sessions() as s:
        return int(s.scalars(select(Finding.id).where(Finding.file_id == fid(case.key),
                                                      Finding.rule_id == case.rule)).one())


def changes(emulator: Emulator, file_id: str) -> Counter[str]:
    return Counter(e["kind"] for e in emulator.events if e["fileId"] == file_id and e["kind"] in CHANGES)


def killed_remediation(app: App, emulator: Emulator, tmp_path: Path, finding_id: int, rule: FaultRule) -> None:
    config = tmp_path / "sharescan.toml"
    write_config(app, config)
    proc = subprocess.Popen([sys.executable, "-m", "scanner.cli.main", "--config", str(config), "remediate",
                             str(finding_id), "--apply"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "SHARESCAN_DATA_DIR": str(tmp_path / "data")})
    rule.pid = proc.pid
    emulator.set_faults([rule])
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == -9, err.decode()[-2000:]
    emulator.set_faults([])


@pytest.mark.parametrize("kill", ["kill_before", "kill_after"])
@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_remediate_reconciles_an_action_killed_on_its_drive_call(make_app, emulator, tmp_path: Path,  # noqa: F811
                                                                 case: Case, kill: str) -> None:
    app = make_app(detect={"nlp": "pattern-only"})
    ScanService(app).run(ScanOptions(full=True))  # dry run: the findings
    finding_id = finding_for(app, case)
    file_id = fid(case.key)
    killed_remediation(app, emulator, tmp_path, finding_id,
                       FaultRule(case.endpoint, kind=kill, path=f"*/files/{file_id}{case.path}", pid=2))
    with app.sessions() as s:
        started = s.scalars(select(RemediationAction).where(RemediationAction.finding_id == finding_id,
                                                            RemediationAction.action == case.action,
                                                            RemediationAction.mode == "enforce")).one()
        assert started.status == "started" and started.before  # the intent, with the ACL before
        action_id = started.id

    done = RemediationService(app).remediate(load_configured_rules(app.settings).rules, [finding_id], apply=True)
    expected = "not_applied" if kill == "kill_before" else "applied"
    assert done.reconciled is not None and dict(done.reconciled.outcomes) == {expected: 1}
    with app.sessions() as s:
        row = s.get(RemediationAction, action_id)
        assert row is not None and row.status == ("not_applied" if kill == "kill_before" else "verified")
        events = [e.data for e in s.scalars(select(AuditEvent).where(
            AuditEvent.event_type == "remediation.reconciled"))]
        finding = s.get(Finding, finding_id)
        assert finding is not None and finding.status == "remediated"
    assert [(e["action"], e["outcome"], e["by"]) for e in events] == [(case.action, expected, "remediate")]
    # Drive changed exactly as one uninterrupted action would have changed it.
    assert changes(emulator, file_id) == {
        "revoke": {"permission.deleted": 1},
        "downgrade": {"permission.created": 1, "permission.deleted": 1},
        "unpublish": {"revision.unpublished": 1},
    }[case.action]


def test_restore_reconciles_first_so_a_fix_interrupted_after_the_drive_call_can_be_undone(
        make_app, emulator, tmp_path: Path) -> None:  # noqa: F811
    case = CASES["revoke"]
    app = make_app(detect={"nlp": "pattern-only"})
    ScanService(app).run(ScanOptions(full=True))
    finding_id = finding_for(app, case)
    file_id = fid(case.key)
    killed_remediation(app, emulator, tmp_path, finding_id,
                       FaultRule(case.endpoint, kind="kill_after", path=f"*/files/{file_id}{case.path}", pid=2))
    with app.sessions() as s:
        action_id = s.scalars(select(RemediationAction.id).where(RemediationAction.finding_id == finding_id,
                                                                 RemediationAction.action == "revoke",
                                                                 RemediationAction.mode == "enforce")).one()
    result, reconciled = RemediationService(app).restore(action_id, reason="the fix was wrong")
    assert dict(reconciled.outcomes) == {"applied": 1}
    assert result.status == "restored"
    assert changes(emulator, file_id) == {"permission.deleted": 1, "permission.created": 1}
    with app.sessions() as s:
        finding = s.get(Finding, finding_id)
        assert finding is not None and finding.status == "open"  # remediated by the reconciliation, then restored


def test_an_action_drive_cannot_confirm_stays_started_and_its_finding_is_left_alone(
        make_app, emulator, tmp_path: Path) -> None:  # noqa: F811
    case = CASES["revoke"]
    app = make_app(detect={"nlp": "pattern-only"}, limits={"max_retries": 0})
    ScanService(app).run(ScanOptions(full=True))
    finding_id = finding_for(app, case)
    file_id = fid(case.key)
    killed_remediation(app, emulator, tmp_path, finding_id,
                       FaultRule(case.endpoint, kind="kill_before", path=f"*/files/{file_id}{case.path}", pid=2))
    rules = load_configured_rules(app.settings).rules
    # Drive cannot be read for that file now: the action stays started, nothing is done twice.
    emulator.set_faults([FaultRule("drive.permissions.get", kind="500", path=f"*/files/{file_id}/*")])
    done = RemediationService(app).remediate(rules, [finding_id], apply=True)
    assert done.reconciled is not None and dict(done.reconciled.outcomes) == {"unreadable": 1}
    with app.sessions() as s:
        rows = s.scalars(select(RemediationAction).where(RemediationAction.finding_id == finding_id,
                                                         RemediationAction.mode == "enforce")
                         .order_by(RemediationAction.id)).all()
        assert [(r.action, r.status) for r in rows] == [("revoke", "started"), ("revoke", "skipped"),
                                                        ("notify", "skipped")]
        assert rows[1].detail == "an earlier remediation of this finding was interrupted and is not reconciled yet"
    assert changes(emulator, file_id) == {}
    emulator.set_faults([])
    again = RemediationService(app).remediate(rules, [finding_id], apply=True)
    assert again.reconciled is not None and dict(again.reconciled.outcomes) == {"not_applied": 1}
    with app.sessions() as s:
        finding = s.get(Finding, finding_id)
        assert finding is not None and finding.status == "remediated"
    assert changes(emulator, file_id) == {"permission.deleted": 1}
