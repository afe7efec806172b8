"""Findings lifecycle: upsert by fingerprint, recurrence, acceptance expiry, close_missing, evidence."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scanner.connectors.google.drive_api import permission_from_api
from scanner.core.errors import SharescanError
from scanner.core.exposure import classify
from scanner.core.models import DriveFile
from scanner.detect.models import ContentResult, DetectorHit, EvidenceSummary
from scanner.policy.evaluate import FileContext, Match, PolicyEngine
from scanner.policy.schema import Rule
from scanner.store.audit import verify_chain
from scanner.store.models import AuditEvent, Evidence, Finding, ScanRun
from scanner.store.repo import FindingFilter, FindingRepo


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += dt.timedelta(**kw)


RULE = Rule.model_validate({"id": "public-roster", "title": "Roster", "severity": "critical",
                            "when": {"exposure": ["anyone_with_link"]},
                            "content": {"any": [{"detector": "contractor_roster"}]}})
HIT = DetectorHit("contractor_roster", 4, 0.9, (EvidenceSummary("EMAIL_ADDRESS", 4, 0.9, "B2", "e***@g***.com",
                                                                "ab" * 32, 4),), ("contractor_pii",))


def match(file_id: str = "F1", owner: str = "maya@tessera-labs.com", name: str = "roster.csv") -> Match:
    f = DriveFile(id=file_id, name=name, mime_type="text/csv", owner_email=owner, permissions=(
        permission_from_api({"id": "anyoneWithLink", "type": "anyone", "role": "reader",
                             "allowFileDiscovery": False}),))
    [m] = PolicyEngine([RULE]).evaluate(classify(f, ["tessera-labs.com"]), ContentResult(True, hits=[HIT]),
                                        FileContext())
    return m


def runs(session: Session, n: int) -> list[int]:
    out = []
    for _ in range(n):
        run = ScanRun(kind="full", status="completed", remediation_mode="dry-run")
        session.add(run)
        session.flush()
        out.append(run.id)
    return out


def events(session: Session) -> list[str]:
    """Workflow events (the state events the store appends on every covered change are tested apart)."""
    return [e.event_type for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
            if not e.event_type.endswith(".state")]


def state_events(session: Session) -> list[tuple[str, str, list[str]]]:
    return [(e.data["change"], e.data["state"]["status"] if e.data["state"] else "", e.data.get("changed", []))
            for e in session.scalars(select(AuditEvent).where(AuditEvent.event_type == "finding.state")
                                     .order_by(AuditEvent.seq))]


def test_state_events_follow_workflow_changes_not_bookkeeping(sessions: sessionmaker[Session]) -> None:
    """Each change to a covered field appends one state event in the same transaction; an unchanged
    night (same match, new last_seen/last_run_id) appends none."""
    clock = Clock()
    with sessions() as s:
        r1, r2, r3, r4 = runs(s, 4)
        repo = FindingRepo(s, "scanner@test", clock=clock)
        f = repo.upsert(match(), r1)
        s.commit()
        assert state_events(s) == [("created", "open", [])]
        for run in (r2, r3):  # two unchanged nights
            clock.advance(days=1)
            repo.upsert(match(name="renamed.csv"), run)
            s.commit()
        assert len(state_events(s)) == 1
        repo.mark_remediated(f, action_ids=[7])
        s.commit()
        clock.advance(days=1)
        repo.upsert(match(), r4)  # back: reopened
        s.commit()
        assert state_events(s) == [
            ("created", "open", []),
            ("changed", "remediated", ["remediated_at", "status"]),
            ("changed", "open", ["recurrence_count", "status"]),
        ]
        last = s.scalars(select(AuditEvent).where(AuditEvent.event_type == "finding.state")
                         .order_by(AuditEvent.seq.desc())).first()
        assert last is not None and (last.subject_type, last.subject_id, last.actor) == ("finding", str(f.id),
                                                                                         "sharescan")
        assert verify_chain(s).ok


def test_lifecycle(sessions: sessionmaker[Session]) -> None:
    clock = Clock()
    with sessions() as s:
        r1, r2, r3, r4 = runs(s, 4)
        repo = FindingRepo(s, "tester", clock=clock)
        f = repo.upsert(match(), r1)
        first = f.first_seen
        assert (f.status, f.detection_state, f.recurrence_count, f.exposure) == ("open", "active", 0,
                                                                                 "anyone_with_link")
        # Same rule + file, renamed: same finding.
        clock.advance(hours=1)
        assert repo.upsert(match(name="renamed.csv"), r2).id == f.id
        assert s.scalars(select(Finding)).all() == [f] and f.first_seen == first and f.last_seen == clock.now
        # A partial run resolves nothing; a complete run that covered the owner does.
        assert repo.close_missing(r3, complete=False, covered_owners=["maya@tessera-labs.com"]).resolved == ()
        assert repo.close_missing(r3, complete=True, covered_owners=["someone@else.com"]).resolved == ()
        assert repo.close_missing(r3, complete=True, covered_owners=["Maya@tessera-labs.com"]).resolved == (f.id,)
        assert (f.status, f.detection_state) == ("resolved", "inactive")
        # It comes back: reopened, counted.
        clock.advance(days=1)
        repo.upsert(match(), r4)
        assert (f.status, f.detection_state, f.recurrence_count, f.resolved_at) == ("open", "active", 1, None)
        s.commit()
        assert events(s) == ["finding.opened", "finding.resolved", "finding.reopened"]
        assert verify_chain(s).ok


def test_acceptance_expires(sessions: sessionmaker[Session]) -> None:
    clock = Clock()
    with sessions() as s:
        (r1, r2) = runs(s, 2)
        repo = FindingRepo(s, "tester", clock=clock)
        f = repo.upsert(match(), r1)
        with pytest.raises(SharescanError, match="future"):
            repo.accept(f, reason="client asked", expires=clock.now - dt.timedelta(days=1))
        repo.accept(f, reason="client asked for the link", expires=clock.now + dt.timedelta(days=30))
        repo.upsert(match(), r2)
        assert f.status == "accepted"
        clock.advance(days=31)
        assert repo.expire_acceptances() == [f.id]
        assert (f.status, f.accepted_until) == ("open", None)
        s.commit()
        assert events(s) == ["finding.opened", "finding.accepted", "finding.acceptance_expired"]
        expired = s.scalars(select(AuditEvent).where(AuditEvent.event_type == "finding.acceptance_expired")).one()
        assert (expired.subject_id, expired.data["previous"], expired.data["status"]) == (str(f.id), "accepted", "open")
        assert expired.data["accepted_until"] == (clock.now - dt.timedelta(days=1)).isoformat()
        assert verify_chain(s).ok


@pytest.mark.parametrize(("kw", "error"), [
    ({"expires": None}, r"acceptance needs an expiry \(or an explicit no-expiry"),
    ({"expires": dt.datetime(2026, 4, 1, tzinfo=dt.UTC), "permanent": True}, "not both"),
    ({"expires": dt.datetime(2026, 3, 1, tzinfo=dt.UTC)}, "acceptance expiry must be in the future"),
    ({"expires": dt.datetime(2026, 4, 1, tzinfo=dt.UTC), "reason": " "}, "needs a reason"),
])
def test_acceptance_needs_an_expiry(sessions: sessionmaker[Session], kw: dict[str, object], error: str) -> None:
    with sessions() as s:
        repo = FindingRepo(s, "tester", clock=Clock())
        f = repo.upsert(match(), runs(s, 1)[0])
        with pytest.raises(SharescanError, match=error):
            repo.accept(f, **{"reason": "client asked", **kw})  # type: ignore[arg-type]
        assert f.status == "open"


def test_permanent_acceptance_and_expiry_of_a_gone_condition(sessions: sessionmaker[Session]) -> None:
    clock = Clock()
    with sessions() as s:
        r1, r2 = runs(s, 2)
        repo = FindingRepo(s, "tester", clock=clock)
        forever = repo.upsert(match("F1"), r1)
        gone = repo.upsert(match("F2"), r1)
        repo.accept(forever, reason="public dataset by design", expires=None, permanent=True)
        repo.accept(gone, reason="until the migration", expires=clock.now + dt.timedelta(days=7))
        # A complete run no longer sees F2's condition: inactive, still accepted.
        repo.upsert(match("F1"), r2)
        repo.close_missing(r2, complete=True, covered_owners=["maya@tessera-labs.com"])
        assert (gone.status, gone.detection_state) == ("accepted", "inactive")
        clock.advance(days=3650)
        assert repo.expire_acceptances() == [gone.id]
        assert (forever.status, forever.accepted_until) == ("accepted", None)
        assert (gone.status, gone.resolved_at) == ("resolved", clock.now)  # nothing left to reopen
        accepted = s.scalars(select(AuditEvent).where(AuditEvent.event_type == "finding.accepted")
                             .order_by(AuditEvent.seq)).all()
        assert [(e.data["permanent"], e.data["expires"]) for e in accepted] == [
            (True, None), (False, (clock.now - dt.timedelta(days=3650 - 7)).isoformat())]


def test_remediated_then_recurs(sessions: sessionmaker[Session]) -> None:
    clock = Clock()
    with sessions() as s:
        (r1, r2) = runs(s, 2)
        repo = FindingRepo(s, "tester", clock=clock)
        f = repo.upsert(match(), r1)
        repo.mark_remediated(f, action_ids=[1])
        assert (f.status, f.remediated_at) == ("remediated", clock.now)
        repo.upsert(match(), r2)
        assert (f.status, f.recurrence_count) == ("open", 1)


def test_evidence_without_values_and_queries(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        (r1,) = runs(s, 1)
        repo = FindingRepo(s, "tester")
        repo.upsert(match(), r1)
        repo.upsert(match("F2", owner="liam@tessera-labs.com"), r1)
        assert repo.record_evidence("F1", "rev1", ContentResult(True, hits=[HIT])) == 1
        assert repo.record_evidence("F1", "rev1", ContentResult(True, hits=[HIT])) == 1  # replaced, not added
        ev = s.scalars(select(Evidence)).one()
        assert (ev.entity_type, ev.count, ev.masked_preview, ev.categories) == ("EMAIL_ADDRESS", 4, "e***@g***.com",
                                                                               ["contractor_pii"])
        assert [f.file_id for f in repo.list(FindingFilter(owners=["LIAM@tessera-labs.com"]))] == ["F2"]
        assert [f.file_id for f in repo.list(FindingFilter(severities=["critical"], statuses=["open"]))] == \
            ["F1", "F2"]
        assert repo.list(FindingFilter(exposures=["public"])) == []
