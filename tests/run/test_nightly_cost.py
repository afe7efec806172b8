"""Nightly cost O(changes): an unchanged night plans no finding again (counted through the plan's own
function, not timed), a changed file's findings are planned again and only they, a changed rule set or
mode plans every finding, and the findings, actions and audit events are the very ones the scan records
when it plans every open finding every night (scanner.remediate.quiet.findings_to_plan)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import scanner.remediate.plan as plan_module
import scanner.remediate.quiet as quiet
from scanner.app import App
from scanner.emulator.seeds.demo import EXPECTED
from scanner.emulator.state import mutate
from scanner.policy.loader import load_configured_rules
from scanner.run import ScanOptions, ScanService
from scanner.store.models import AuditEvent, Finding, RemediationAction


@pytest.fixture
def planned(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The id of every finding the scans plan (plan_finding is called once per finding and mode)."""
    seen: list[int] = []
    real = plan_module.plan_finding

    def counting(settings: Any, finding: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(finding.id)
        return real(settings, finding, *args, **kwargs)

    monkeypatch.setattr(plan_module, "plan_finding", counting)
    return seen


def open_ids(app: App) -> set[int]:
    with app.sessions() as s:
        return set(s.scalars(select(Finding.id).where(Finding.status == "open",
                                                      Finding.detection_state == "active")))


def test_an_unchanged_night_plans_no_finding_again(make_app, planned: list[int]) -> None:
    app = make_app()
    first = ScanService(app).run(ScanOptions(full=True))
    assert first.status == "completed" and first.plan["complete"] and not first.plan["incremental"]
    assert set(planned) == open_ids(app) and planned, "the first night plans every open finding"

    planned.clear()
    second = ScanService(app).run(ScanOptions(full=False))
    assert second.status == "completed" and second.findings_active > 0
    assert second.plan["incremental"] and second.plan["complete"]
    # only the findings evaluated again: the suspended owner's files are listed every night (they have no
    # Changes feed), and folder findings are evaluated from every stored finding every night
    suspended = EXPECTED["old_roster_suspended"].file_id
    folder_rules = [r.id for r in load_configured_rules(app.settings).rules if r.target == "folder"]
    with app.sessions() as s:
        again = set(s.scalars(select(Finding.id).where(
            Finding.file_id == suspended, Finding.status == "open", Finding.detection_state == "active")))
        folders = set(s.scalars(select(Finding.id).where(
            Finding.rule_id.in_(folder_rules), Finding.status == "open", Finding.detection_state == "active")))
    assert again and folders
    assert set(planned) == again | folders
    assert second.plan["findings_planned"] == len(again | folders) < len(open_ids(app)) / 2


def test_a_changed_file_is_planned_again_and_only_it(make_app, emulator, planned: list[int]) -> None:
    app = make_app()
    ScanService(app).run(ScanOptions(full=True))
    ScanService(app).run(ScanOptions(full=False))
    payroll = EXPECTED["payroll_xlsx"].file_id
    with emulator.workspace.lock:
        perm = mutate.make_permission(emulator.workspace, {"type": "anyone", "role": "reader"})
        mutate.add_permission(emulator.workspace, payroll, "payroll.owner@tessera-labs.com", perm)
    planned.clear()
    result = ScanService(app).run(ScanOptions(full=False))
    assert result.status == "completed" and result.plan["incremental"]
    with app.sessions() as s:
        new = set(s.scalars(select(Finding.id).where(Finding.file_id == payroll, Finding.status == "open")))
    assert new and new <= set(planned), "the new exposure was not planned"
    folder_rules = {r.id for r in load_configured_rules(app.settings).rules if r.target == "folder"}
    with app.sessions() as s:
        files = dict(s.execute(select(Finding.id, Finding.file_id).where(
            Finding.id.in_(planned), Finding.rule_id.not_in(folder_rules))).all())
    assert set(files.values()) <= {payroll, EXPECTED["old_roster_suspended"].file_id}, files


def test_a_changed_rule_setting_plans_every_finding(make_app, planned: list[int]) -> None:
    app = make_app()
    ScanService(app).run(ScanOptions(full=True))
    planned.clear()
    changed = make_app(remediation={"mode": "dry-run", "max_actions_share": 1.0, "max_actions_per_run": 7})
    result = ScanService(changed).run(ScanOptions(full=False))
    assert not result.plan["incremental"]
    assert set(planned) == open_ids(changed)
    planned.clear()
    # the command line's mode is part of what a plan depends on too
    ScanService(changed).run(ScanOptions(full=False, apply=False))
    assert set(planned) == open_ids(changed)


def _state(app: App) -> tuple[Any, ...]:
    with app.sessions() as s:
        findings = sorted(s.execute(select(Finding.fingerprint, Finding.status, Finding.detection_state,
                                           Finding.severity)).all())
        # plan keys hash the finding's id, which depends on the order a crawl stored the files
        actions = Counter(s.execute(select(Finding.fingerprint, RemediationAction.action, RemediationAction.status,
                                           RemediationAction.mode, RemediationAction.detail)
                                    .join(Finding, Finding.id == RemediationAction.finding_id)).all())
        events = Counter(s.scalars(select(AuditEvent.event_type)))
    return findings, actions, events


def test_the_nights_record_what_planning_every_finding_records(make_app, emulator, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The same nights (full, unchanged, a new share, unchanged, full) with the scan planning every open
    finding (the behaviour before findings_to_plan) and planning only what changed: the same findings,
    remediation actions (plan keys included) and audit events."""
    payroll = EXPECTED["payroll_xlsx"].file_id

    def nights(app: App) -> tuple[Any, ...]:
        ScanService(app).run(ScanOptions(full=True))
        ScanService(app).run(ScanOptions(full=False))
        with emulator.workspace.lock:
            f = emulator.workspace.files[payroll]
            if not any(p.type == "anyone" for p in f.permissions):
                perm = mutate.make_permission(emulator.workspace, {"type": "anyone", "role": "reader"})
                mutate.add_permission(emulator.workspace, payroll, "payroll.owner@tessera-labs.com", perm)
        ScanService(app).run(ScanOptions(full=False))
        ScanService(app).run(ScanOptions(full=False))
        ScanService(app).run(ScanOptions(full=True))
        return _state(app)

    # the second App reads the emulator with the share already added: both must start from the same
    # Drive, so the share is made before either runs
    with emulator.workspace.lock:
        perm = mutate.make_permission(emulator.workspace, {"type": "anyone", "role": "reader"})
        mutate.add_permission(emulator.workspace, payroll, "payroll.owner@tessera-labs.com", perm)
    only_changes = nights(make_app(database={"url": f"sqlite:///{tmp_path / 'a.db'}"}))

    real = quiet.findings_to_plan

    def every_open(session: Any, **kwargs: Any) -> list[int]:
        return real(session, **{**kwargs, "since": None})

    monkeypatch.setattr(quiet, "findings_to_plan", every_open)
    every = nights(make_app(database={"url": f"sqlite:///{tmp_path / 'b.db'}"}))
    assert only_changes[0] == every[0]
    assert only_changes[1] == every[1]
    assert only_changes[2] == every[2]
