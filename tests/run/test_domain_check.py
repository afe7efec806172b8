"""Domain sanity before anything is revoked: a configured domain the customer does not own, or many
"external" grants to a near-miss of an internal domain, stop enforcement (dry-run still reports)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from scanner.cli.main import cli
from scanner.emulator.seeds.builder import user_perm
from scanner.emulator.seeds.demo import DOMAIN, MAYA, fid
from scanner.emulator.state import mutate
from scanner.remediate.sanity import DomainCheck, NearMiss, check_domains, edit_distance, near_misses
from scanner.run import ScanOptions, ScanService

DRIVE_CHANGES = ("permission.", "revision.", "file.inheritedPermissionsDisabled")


def drive_changes(emulator) -> list[dict]:
    return [e for e in emulator.events if e["kind"].startswith(DRIVE_CHANGES)]


@pytest.mark.parametrize(("a", "b", "distance"), [
    ("tessera-labs.com", "tessera-labs.com", 0), ("tessera-labs.co", "tessera-labs.com", 1),
    ("tesesra-labs.com", "tessera-labs.com", 1), ("tessera-lab.co", "tessera-labs.com", 2),
    ("kitten", "sitting", 3), ("ca", "abc", 3)])  # optimal string alignment, not full Damerau
def test_edit_distance(a: str, b: str, distance: int) -> None:
    assert edit_distance(a, b) == distance


def test_near_misses_and_the_verdict() -> None:
    found = near_misses({"tessera-labs.com", "ab.io"}, {"tessera-labs.co": 4, "ac.io": 9, "gmail.com": 6})
    assert found == (NearMiss("tessera-labs.co", "tessera-labs.com", 1, 4),)  # ac.io: too short to tell
    check = check_domains(["tessera-labs.com"], None, directory_error="403 forbidden", external={"gmail.com": 1})
    assert check.blocked is not None and "could not be read" in check.blocked
    few = check_domains(["x-corp.com"], None, directory_error=None,
                        external={"x-corp.co": 2, "gmail.com": 8})  # 2 grants: not enough to tell
    assert few.blocked is None or "external grants" not in few.blocked


def test_a_configured_domain_the_customer_does_not_own_stops_enforcement(make_app, emulator) -> None:
    app = make_app(organisation={"domains": ["tessera-labs.co"]}, remediation={"mode": "enforce"})
    result = ScanService(app).run(ScanOptions(full=True))
    assert result.status == "completed" and result.findings_active > 0  # dry-run still reports
    check = DomainCheck.from_json(result.domain_check or {})
    assert check.not_owned == ("tessera-labs.co",)
    assert check.blocked and "[organisation] domains lists tessera-labs.co, which the customer does not own" in \
        check.blocked
    assert drive_changes(emulator) == []  # internal sharing looked external: nothing was revoked
    shown = CliRunner().invoke(cli, ["scans", "show", str(result.run_id)],
                               env={"SHARESCAN_DATABASE_URL": app.settings.database_url, "COLUMNS": "200"})
    assert shown.exit_code == 0 and "ENFORCEMENT STOPPED: [organisation] domains lists tessera-labs.co" in shown.output


def test_many_grants_to_a_near_miss_stop_enforcement(make_app, emulator) -> None:
    ws = emulator.workspace
    with ws.lock:  # people keep typing the company's domain wrong when they share
        for key, who in [("client_brief_internal", "liam.novak"), ("bluefin_guidelines", "maya.chen"),
                         ("sow_pdf", "jonas.weber"), ("peregrine_status", "priya.raman"),
                         ("allhands_slides", "sam.ortiz")]:
            owner = ws.files[fid(key)].owner or MAYA
            mutate.add_permission(ws, fid(key), owner, user_perm(ws, f"{who}@{DOMAIN[:-1]}", "writer"))
    app = make_app(remediation={"mode": "enforce"})
    setup = len(drive_changes(emulator))
    result = ScanService(app).run(ScanOptions(full=True))
    check = DomainCheck.from_json(result.domain_check or {})
    assert [(n.domain, n.looks_like, n.grants) for n in check.near_misses] == [("tessera-labs.co", DOMAIN, 5)]
    assert check.blocked and "go to domains that look like the organisation's: tessera-labs.co" in check.blocked
    assert len(drive_changes(emulator)) == setup  # nothing changed in Drive
    # a person's `remediate --apply` honours the last scan's verdict too
    from sqlalchemy import select

    from scanner.policy.loader import load_configured_rules
    from scanner.remediate.engine import Remediator
    from scanner.remediate.sanity import enforcement_block
    from scanner.store.models import Finding

    assert enforcement_block(app.sessions) == check.blocked
    with app.sessions() as s:
        ids = list(s.scalars(select(Finding.id).where(Finding.status == "open")))
    remediator = Remediator(app.settings, app.sessions, app.actor, rules=load_configured_rules(app.settings).rules)
    plan = remediator.plan(ids, apply=True, manual=True, explicit=True, blocked=enforcement_block(app.sessions))
    assert plan.actions and plan.acting == ()
    assert {a.mode_reason for a in plan.actions} == {f"enforcement stopped: {check.blocked}"}


def test_a_sane_domain_enforces(make_app, emulator) -> None:
    app = make_app(remediation={"mode": "enforce"})
    result = ScanService(app).run(ScanOptions(full=True))
    check = DomainCheck.from_json(result.domain_check or {})
    assert check.blocked is None and check.owned == ("tessera-labeling.com", DOMAIN)
    assert check.unconfigured == ("tessera-labeling.com",)  # reported, not blocking
    assert drive_changes(emulator)
