"""People-made exemptions: stored with expiry (or an explicit no-expiry), audited, honoured by the PolicyEngine;
and the ``findings exempt|exemptions|unexempt|accept`` commands."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scanner.cli.main import cli
from scanner.connectors.google.drive_api import permission_from_api
from scanner.core.errors import NotFoundError, SharescanError
from scanner.core.exposure import classify
from scanner.core.models import DriveFile
from scanner.detect.models import ContentResult, DetectorHit
from scanner.policy.evaluate import FileContext, PolicyEngine
from scanner.policy.schema import Rule
from scanner.store.audit import verify_chain
from scanner.store.db import make_engine, make_sessionmaker
from scanner.store.models import AuditEvent
from scanner.store.repo import FindingRepo
from tests.conftest import TEST_AUDIT_KEY

NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
RULES = [Rule.model_validate({"id": rid, "title": "Roster", "severity": "critical",
                              "when": {"exposure": ["anyone_with_link"]},
                              "content": {"any": [{"detector": "contractor_roster"}]}})
         for rid in ("public-roster", "other-rule")]
CONTENT = ContentResult(True, hits=[DetectorHit("contractor_roster", 4, 0.9, categories=("contractor_pii",))])


def exposure(file_id: str, parents: tuple[str, ...] = ("P1",)) -> object:
    f = DriveFile(id=file_id, name=f"{file_id}.csv", mime_type="text/csv", owner_email="maya@tessera-labs.com",
                  parents=parents, permissions=(permission_from_api({"id": "anyoneWithLink", "type": "anyone",
                                                                     "role": "reader",
                                                                     "allowFileDiscovery": False}),))
    return classify(f, ["tessera-labs.com"])


def flagged(repo: FindingRepo, now: dt.datetime) -> list[tuple[str, str]]:
    """What the next scan flags (the orchestrator builds the engine from active_exemptions() the same way)."""
    engine = PolicyEngine(RULES, repo.active_exemptions())
    out = []
    for file_id, ancestors in (("F1", ()), ("F2", ()), ("F3", ("P9", "TEAM"))):
        ctx = FileContext(ancestors=ancestors, now=now)
        out += [(m.rule_id, m.file.id) for m in engine.evaluate(exposure(file_id), CONTENT, ctx)]  # type: ignore[arg-type]
    return sorted(out)


ALL = [("other-rule", "F1"), ("other-rule", "F2"), ("other-rule", "F3"),
       ("public-roster", "F1"), ("public-roster", "F2"), ("public-roster", "F3")]


@pytest.mark.parametrize(("kw", "expected"), [
    ({"file_id": "F1"}, [x for x in ALL if x[1] != "F1"]),
    ({"rule_id": "public-roster"}, [x for x in ALL if x[0] != "public-roster"]),
    ({"rule_id": "public-roster", "file_id": "F2"}, [x for x in ALL if x != ("public-roster", "F2")]),
    ({"folder_id": "TEAM"}, [x for x in ALL if x[1] != "F3"]),  # an ancestor, not the direct parent
    ({"folder_id": "P1"}, []),  # every file's parent
])
def test_stored_exemptions_stop_the_next_scan_flagging(sessions: sessionmaker[Session], kw: dict[str, str],
                                                       expected: list[tuple[str, str]]) -> None:
    clock = [NOW]
    with sessions() as s:
        repo = FindingRepo(s, "tester", clock=lambda: clock[0])
        assert flagged(repo, NOW) == ALL
        ex = repo.add_exemption(reason="approved by Legal", expires=NOW + dt.timedelta(days=30),
                                rule_id=kw.get("rule_id"), file_id=kw.get("file_id"), folder_id=kw.get("folder_id"))
        assert flagged(repo, NOW) == expected
        clock[0] = NOW + dt.timedelta(days=31)  # expired: flagged again
        assert flagged(repo, clock[0]) == ALL
        clock[0] = NOW
        repo.revoke_exemption(ex.id, reason="project over")
        assert flagged(repo, NOW) == ALL
        s.commit()
        events = [(e.event_type, e.subject_id) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
        # each workflow event follows the state event of the change it describes
        assert events == [("exemption.state", str(ex.id)), ("exemption.created", str(ex.id)),
                          ("exemption.state", str(ex.id)), ("exemption.revoked", str(ex.id))]
        assert verify_chain(s).ok


@pytest.mark.parametrize(("kw", "error"), [
    ({"file_id": "F1", "expires": None}, "exemption needs an expiry (or an explicit no-expiry"),
    ({"file_id": "F1", "expires": NOW - dt.timedelta(seconds=1)}, "the exemption expiry must be in the future"),
    ({"file_id": "F1", "expires": NOW + dt.timedelta(days=1), "permanent": True}, "not both"),
    ({"expires": NOW + dt.timedelta(days=1)}, "an exemption names a rule, a file or a folder"),
    ({"file_id": "F1", "folder_id": "P1", "expires": NOW + dt.timedelta(days=1)}, "a file or a folder, not both"),
    ({"file_id": "F1", "reason": "  ", "expires": NOW + dt.timedelta(days=1)}, "needs a reason"),
])
def test_exemption_refusals(sessions: sessionmaker[Session], kw: dict[str, object], error: str) -> None:
    with sessions() as s:
        repo = FindingRepo(s, "tester", clock=lambda: NOW)
        with pytest.raises(SharescanError, match=error.replace("(", r"\(")):
            repo.add_exemption(**{"reason": "approved", **kw})  # type: ignore[arg-type]
        assert repo.exemptions(include_inactive=True) == []


def test_permanent_exemption_and_listing(sessions: sessionmaker[Session]) -> None:
    clock = [NOW]
    with sessions() as s:
        repo = FindingRepo(s, "tester", clock=lambda: clock[0])
        forever = repo.add_exemption(reason="press kit", folder_id="PRESS", permanent=True)
        short = repo.add_exemption(reason="migration", rule_id="other-rule", expires=NOW + dt.timedelta(days=1))
        gone = repo.add_exemption(reason="typo", file_id="F9", expires=NOW + dt.timedelta(days=9))
        repo.revoke_exemption(gone.id)
        with pytest.raises(SharescanError, match="already revoked"):
            repo.revoke_exemption(gone.id)
        with pytest.raises(NotFoundError, match="exemption 99 not found"):
            repo.revoke_exemption(99)
        clock[0] = NOW + dt.timedelta(days=2)
        assert [e.id for e in repo.exemptions()] == [forever.id]
        assert [e.id for e in repo.exemptions(include_inactive=True)] == [forever.id, short.id, gone.id]


# --------------------------------------------------------------------------- CLI
@pytest.fixture()
def config(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    path = tmp_path / "sharescan.toml"
    path.write_text(f'[database]\nurl = "{sqlite_url}"\n')
    monkeypatch.setenv("SHARESCAN_CONFIG", str(path))
    return sqlite_url


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def fails(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code != 0
    return result.output + (str(result.exception) if not isinstance(result.exception, SystemExit) else "")


def test_exempt_commands(config: str) -> None:
    assert "needs --expires DATE (or 30d); a permanent one needs --no-expiry explicitly" in fails(
        "findings", "exempt", "--file", "F1", "--reason", "press kit")
    assert "give --expires or --no-expiry, not both" in fails(
        "findings", "exempt", "--file", "F1", "--reason", "x", "--expires", "30d", "--no-expiry")
    assert "expected an ISO date (2026-12-31) or a duration like 90d" in fails(
        "findings", "exempt", "--file", "F1", "--reason", "x", "--expires", "2026-13-45")
    assert "--file and --folder exclude each other" in fails(
        "findings", "exempt", "--file", "F1", "--folder", "P1", "--reason", "x", "--expires", "30d")
    assert "name what to exempt" in fails("findings", "exempt", "--reason", "x", "--expires", "30d")
    assert "unknown rule 'no-such-rule'" in fails("findings", "exempt", "--rule", "no-such-rule", "--reason", "x",
                                                  "--expires", "30d")

    assert "an acceptance needs --expires DATE (or 30d); a permanent one needs --no-expiry explicitly" in fails(
        "findings", "accept", "1", "--reason", "client asked")
    assert "finding 1 not found" in fails("findings", "accept", "1", "--reason", "x", "--no-expiry")

    assert run("findings", "exempt", "--file", "F1", "--reason", "press kit", "--expires", "2099-12-31") == \
        "exemption 1 created until 2100-01-01T00:00:00+00:00\n"
    assert run("findings", "exempt", "--rule", "public-file-inventory", "--folder", "PRESS", "--reason", "press",
               "--no-expiry") == "exemption 2 created with no expiry\n"
    assert run("findings", "exempt", "--folder", "OLD", "--reason", "old", "--expires", "1h").startswith(
        "exemption 3 created until ")
    assert run("findings", "unexempt", "3", "--reason", "wrong folder") == "exemption 3 revoked\n"
    assert "exemption 3 was already revoked" in fails("findings", "unexempt", "3")
    assert "exemption 7 not found" in fails("findings", "unexempt", "7")

    rows = json.loads(run("findings", "exemptions", "--format", "json"))
    assert [(r["id"], r["state"], r["rule_id"], r["file_id"], r["folder_id"], r["expires_at"]) for r in rows] == [
        (1, "active", None, "F1", None, "2100-01-01T00:00:00Z"),
        (2, "active", "public-file-inventory", None, "PRESS", None)]
    everything = json.loads(run("findings", "exemptions", "--all", "--format", "json"))
    assert [(r["id"], r["state"]) for r in everything] == [(1, "active"), (2, "active"), (3, "revoked")]
    assert run("findings", "exemptions", "--all", "--format", "csv").splitlines()[0] == \
        "id,kind,state,finding_id,rule_id,file_id,folder_id,reason,actor,created_at,expires_at,revoked_at"

    engine = make_engine(config)
    try:
        with make_sessionmaker(engine, audit_key=TEST_AUDIT_KEY)() as s:
            events = [e.event_type for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))
                      if e.event_type != "exemption.state"]
            assert events == ["exemption.created"] * 3 + ["exemption.revoked"]
            assert verify_chain(s).ok
    finally:
        engine.dispose()
