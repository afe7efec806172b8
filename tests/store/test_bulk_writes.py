"""The store's bulk writes (Core statements, no ORM object per row) on SQLite and PostgreSQL: evidence
replaced per file revision, pending reads cleared, finding events appended after their state events."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scanner.core.unread import ReadAspect, ReadFailure, Unread
from scanner.detect.models import ContentResult, DetectorHit, EvidenceSummary
from scanner.store.audit import verify_chain
from scanner.store.models import AuditEvent, DriveFileRow, Evidence, PendingRead
from scanner.store.pending import PendingFile, PendingReads
from scanner.store.repo import FindingRepo
from scanner.store.statechain import StateTracker, verify_states
from tests.conftest import TEST_AUDIT_KEY
from tests.store.test_repo import match, runs

NOW = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def _hit(detector: str, *entities: str) -> DetectorHit:
    evidence = tuple(EvidenceSummary(e, 2, 0.8, f"row {i}", f"{e[0].lower()}***", f"{i:02x}" * 32, 2)
                     for i, e in enumerate(entities))
    return DetectorHit(detector, 2 * len(entities), 0.8, evidence, ("pii",))


def _file(s: Session, file_id: str) -> DriveFileRow:
    row = DriveFileRow(id=file_id, name=file_id, mime_type="text/csv", exposure="internal", first_seen=NOW,
                       last_seen=NOW)
    s.add(row)
    s.flush()
    return row


def _evidence(s: Session) -> list[tuple[str, str, str, str, int]]:
    return [(e.file_id, e.revision, e.detector, e.entity_type, e.count)
            for e in s.scalars(select(Evidence).order_by(Evidence.id))]


def test_evidence_of_one_revision_is_replaced_in_bulk(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        for file_id in ("F1", "F2"):
            _file(s, file_id)
        repo = FindingRepo(s, "tester", clock=lambda: NOW)
        two = ContentResult(True, hits=[_hit("roster", "EMAIL_ADDRESS", "PHONE_NUMBER"), _hit("iban", "IBAN_CODE")])
        assert repo.record_evidence("F1", "r1", two) == 3
        assert repo.record_evidence("F1", "r0", ContentResult(True, hits=[_hit("iban", "IBAN_CODE")])) == 1
        assert repo.record_evidence("F2", "r1", ContentResult(True, hits=[_hit("iban", "IBAN_CODE")])) == 1
        row = s.get(DriveFileRow, "F1")
        assert row is not None and len(row.evidence) == 4  # the relationship loaded, then replaced below
        loaded = s.scalars(select(Evidence).where(Evidence.file_id == "F1", Evidence.revision == "r1")).all()
        assert repo.record_evidence("F1", "r1", ContentResult(True, hits=[_hit("roster", "PERSON")])) == 1
        assert all(obj not in s for obj in loaded)
        assert sorted((e.revision, e.entity_type) for e in row.evidence) == [("r0", "IBAN_CODE"), ("r1", "PERSON")]
    with sessions() as s:
        assert _evidence(s) == [("F1", "r0", "iban", "IBAN_CODE", 2), ("F2", "r1", "iban", "IBAN_CODE", 2),
                                ("F1", "r1", "roster", "PERSON", 2)]
        stored = s.scalars(select(Evidence).where(Evidence.entity_type == "PERSON")).one()
        assert (stored.masked_preview, stored.value_hash, stored.categories, stored.created_at.replace(tzinfo=dt.UTC)) \
            == ("p***", "00" * 32, ["pii"], NOW)
        assert FindingRepo(s, "tester").record_evidence("F1", "r1", ContentResult(True, hits=[])) == 0
        assert [e[:2] for e in _evidence(s)] == [("F1", "r0"), ("F2", "r1")]


def _unread(aspect: ReadAspect) -> Unread:
    return Unread(aspect, ReadFailure.DOWNLOAD_FAILED if aspect is ReadAspect.CONTENT
                  else ReadFailure.PERMISSIONS_FAILED, "503")


def test_pending_reads_are_cleared_by_file_and_aspect(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        reads = PendingReads(s, clock=lambda: NOW)
        for file_id in ("F1", "F2", "F3"):
            for aspect in (ReadAspect.CONTENT, ReadAspect.PERMISSIONS):
                reads.record(PendingFile(file_id, "a@x.com"), _unread(aspect), run_id=None)
    with sessions.begin() as s:
        reads = PendingReads(s)
        loaded = s.scalars(select(PendingRead).where(PendingRead.file_id == "F1")).all()
        assert reads.clear(["F1", "F2"], (a for a in [ReadAspect.CONTENT])) == 2  # a generator is read once
        gone = [r for r in loaded if r.aspect == ReadAspect.CONTENT.value]
        kept = [r for r in loaded if r.aspect == ReadAspect.PERMISSIONS.value]
        assert all(r not in s for r in gone) and all(r in s for r in kept)
        reads.record(PendingFile("F4"), _unread(ReadAspect.CONTENT), run_id=None)  # pending, flushed by clear
        assert reads.clear(["F3", "F4"]) == 3
        assert reads.clear([]) == 0
    with sessions() as s:
        rows = sorted((r.file_id, r.aspect) for r in s.scalars(select(PendingRead)))
        assert rows == [("F1", ReadAspect.PERMISSIONS.value), ("F2", ReadAspect.PERMISSIONS.value)]


def test_finding_events_follow_their_state_events_and_the_chain_verifies(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        (r1,) = runs(s, 1)
        repo = FindingRepo(s, "tester")
        repo.upsert(match(), r1)
        repo.upsert(match("F2"), r1)
    with sessions() as s:
        types = [(e.event_type, e.subject_id) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
        assert types == [("finding.state", "1"), ("finding.opened", "1"), ("finding.state", "2"),
                         ("finding.opened", "2")]
        tracker = StateTracker()
        assert verify_chain(s, key=TEST_AUDIT_KEY, on_event=tracker).ok
        assert verify_states(s, tracker) == ([], 2)
