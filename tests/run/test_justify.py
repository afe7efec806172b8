"""Expiry and justify-or-revoke as actions, end to end against the emulator."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from scanner.core.errors import SharescanError
from scanner.emulator.seeds.builder import user_perm
from scanner.emulator.seeds.demo import MAYA, fid
from scanner.emulator.state import mutate
from scanner.remediate.justify import justify
from scanner.remediate.restore import Restorer
from scanner.run import ScanOptions, ScanService
from scanner.store.models import Exemption, Finding, Notification, RemediationAction, utcnow

from .test_folders import cli_run, counts

CONSULTANT = "r.alvarez.consult@gmail.com"
RULE = """\
id: external-roster
title: Contractor roster shared with someone outside the organisation
severity: high
when:
  exposure: [external_user]
content:
  any:
    - detector: contractor_roster
actions:
{actions}
auto: true
"""


def app_with(make_app, tmp_path: Path, actions: str):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "external-roster.yaml").write_text(RULE.format(actions=actions))
    return make_app(remediation={"mode": "enforce"}, rules={"include_builtin": False, "directories": [str(rules)]},
                    notifications={"channels": ["webhook"], "webhook": {"url": "http://127.0.0.1:9/unreachable"}})


def share_rosters(emulator) -> tuple[str, str]:
    ws = emulator.workspace
    keep, drop = fid("roster_csv"), fid("roster_xlsx")
    with ws.lock:
        for file_id in (keep, drop):
            mutate.add_permission(ws, file_id, MAYA, user_perm(ws, CONSULTANT, "reader"))
    return keep, drop


def consultant_on(emulator, file_id: str) -> bool:
    return any(p.email == CONSULTANT for p in emulator.workspace.files[file_id].permissions)


def finding_on(app, file_id: str) -> Finding:
    with app.sessions() as s:
        return s.scalars(select(Finding).where(Finding.file_id == file_id, Finding.rule_id == "external-roster")).one()


def test_justify_or_revoke(make_app, emulator, tmp_path: Path) -> None:
    keep, drop = share_rosters(emulator)
    app = app_with(make_app, tmp_path, "  - justify: 14d\n  - revoke: external\n  - notify: owner")
    start = utcnow()
    ScanService(app, clock=lambda: start).run(ScanOptions(full=True))
    with app.sessions() as s:
        rows = {(a.file_id, a.action): a for a in s.scalars(select(RemediationAction))}
        [notice] = s.scalars(select(Notification)).all()
    for file_id in (keep, drop):  # asked, and the revoke waits for the answer
        assert rows[(file_id, "justify")].status == "applied"
        assert rows[(file_id, "revoke")].status == "awaiting_owner"
        assert (file_id, "notify") not in rows  # the request is the owner's notice
    deadline = dt.datetime.fromisoformat(rows[(keep, "justify")].after["deadline"])
    assert deadline == start + dt.timedelta(days=14)
    item = next(i for i in notice.payload["items"] if i["file_id"] == keep)
    assert f"sharescan findings justify {finding_on(app, keep).id} --token {item['justify']['token']}" in \
        item["justify"]["command"]
    assert "to keep this sharing, give a reason by" in notice.body and "still to do: remove" in notice.body
    assert consultant_on(emulator, keep) and consultant_on(emulator, drop)

    before = counts(app)  # a night inside the window changes nothing and records nothing
    ScanService(app, clock=lambda: start + dt.timedelta(days=1)).run(ScanOptions(full=False))
    assert counts(app) == before

    kept = finding_on(app, keep)
    with app.sessions() as s, pytest.raises(SharescanError, match="token does not match"):
        justify(s, app.settings, s.get(Finding, kept.id), given_token="0" * 32, reason="payroll vendor",
                until=start + dt.timedelta(days=90), now=start + dt.timedelta(days=2))
    out = cli_run(app, "findings", "justify", str(kept.id), "--token", item["justify"]["token"],
                  "--reason", "payroll vendor onboarding", "--until", "90d")
    assert f"finding {kept.id} kept by its owner until" in out
    with app.sessions() as s:
        exemption = s.scalars(select(Exemption).where(Exemption.finding_id == kept.id)).one()
    assert (finding_on(app, keep).status, exemption.actor) == ("accepted", MAYA)

    ScanService(app, clock=lambda: start + dt.timedelta(days=15)).run(ScanOptions(full=False))
    assert consultant_on(emulator, keep)  # justified: kept until its date
    assert not consultant_on(emulator, drop)  # no answer by the deadline: revoked
    assert finding_on(app, drop).status == "remediated"


def test_expire_instead_of_revoking_and_its_restore(make_app, emulator, tmp_path: Path) -> None:
    _, drop = share_rosters(emulator)
    app = app_with(make_app, tmp_path, "  - expire: 30d\n  - notify: owner")
    ScanService(app).run(ScanOptions(full=True))
    perm = next(p for p in emulator.workspace.files[drop].permissions if p.email == CONSULTANT)
    ends = dt.datetime.fromisoformat(str(perm.expiration_time).replace("Z", "+00:00"))
    assert dt.timedelta(days=29) < ends - utcnow() <= dt.timedelta(days=30)
    with app.sessions() as s:
        action = s.scalars(select(RemediationAction).where(RemediationAction.action == "expire",
                                                           RemediationAction.file_id == drop)).one()
    assert action.status == "verified"
    Restorer(app.settings, app.sessions, app.actor).restore(action.id, reason="the contract was extended")
    assert next(p for p in emulator.workspace.files[drop].permissions if p.email == CONSULTANT).expiration_time is None
