"""Every way of tampering with the audit log an auditor tries, on SQLite and PostgreSQL, and how each is
detected: the keyed chain (edits, re-chaining, forged events, downgrades), the signed checkpoints and export
manifests (truncation, a forged tail, a log rewritten with the stolen key), the state events (direct edits
of the findings, actions and exemptions tables), and the serialised appends (no fork under concurrency)."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from scanner.config import AuditSettings
from scanner.export.anchors import CHECKPOINT_FORMAT, write_checkpoint
from scanner.export.auditlog import AuditVerification, verify_log
from scanner.export.signing import canonical, private_key, public_hex
from scanner.store import audit
from scanner.store.db import make_sessionmaker
from scanner.store.models import AuditEvent, DriveFileRow, Exemption, Finding, RemediationAction
from scanner.store.repo import FindingRepo
from tests.conftest import TEST_AUDIT_KEY

T0 = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
#: A night of work: what the last 30 events of a real log look like (restores and an export among them).
STORY = (["scan.completed", "remediation.verified", "finding.remediated", "notification.sent",
          "remediation.restored", "finding.reopened", "export.created", "finding.accepted"] * 6)[:40]


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    return tmp_path / "keys" / "export-signing.key"


@pytest.fixture
def anchors(tmp_path: Path) -> Path:
    return tmp_path / "anchors"


def _seed(sessions: sessionmaker[Session], types: list[str] = STORY) -> None:
    with sessions.begin() as s:
        for i, kind in enumerate(types, start=1):
            audit.record(s, kind, actor="sharescan@scanner-1", subject_type="finding", subject_id=str(i % 5),
                         data={"n": i}, ts=T0 + dt.timedelta(minutes=i))


def _checkpoint(sessions: sessionmaker[Session], anchors: Path, keys: Path, reason: str = "scan 1 completed") -> None:
    with sessions() as s:
        assert write_checkpoint(s, AuditSettings(), anchors, keys, reason=reason) is not None


def _verify(sessions: sessionmaker[Session], anchors: Path, keys: Path,
            manifests: tuple[Path, ...] = ()) -> AuditVerification:
    trusted = private_key(keys).public_key()
    with sessions() as s:
        return verify_log(s, anchor_dir=anchors, trusted=trusted, manifests=manifests)


def _cut(sessions: sessionmaker[Session], last: int) -> None:
    with sessions.begin() as s:
        top = audit.max_seq(s)
        s.execute(delete(AuditEvent).where(AuditEvent.seq > top - last))


def _forge(sessions: sessionmaker[Session], kind: str, *, key: bytes | None, version: int = 2) -> None:
    """Append an event the way an attacker with database access would (with or without the real key)."""
    with sessions.begin() as s:
        seq, prev = audit.head(s)
        ts = T0 + dt.timedelta(days=1, seconds=seq)
        digest = audit.event_hash(prev, seq=seq + 1, ts=ts, actor="mallory", event_type=kind, subject_type="finding",
                                  subject_id="1", data={}, version=version, key=key)
        s.execute(insert(AuditEvent).values(seq=seq + 1, ts=ts, actor="mallory", event_type=kind,
                                            subject_type="finding", subject_id="1", data={}, prev_hash=prev,
                                            hash=digest, chain_version=version))


def test_intact_log_verifies_against_its_checkpoint(sessions: sessionmaker[Session], anchors: Path,
                                                    keys: Path) -> None:
    _seed(sessions)
    _checkpoint(sessions, anchors, keys)
    result = _verify(sessions, anchors, keys)
    assert result.ok, result.problems()
    assert result.chain.keyed_events == 40 and result.latest is not None and result.latest.seq == 40
    assert result.latest.reason == "scan 1 completed" and result.warnings == []


@pytest.mark.parametrize("cut", [1, 8, 30])
def test_truncation_is_detected_against_the_checkpoint(sessions: sessionmaker[Session], anchors: Path, keys: Path,
                                                       cut: int) -> None:
    _seed(sessions)
    _checkpoint(sessions, anchors, keys)
    with sessions() as s:
        cut_types = [e.event_type for e in s.scalars(select(AuditEvent).where(AuditEvent.seq > 40 - cut))]
    if cut >= 8:
        assert {"remediation.restored", "export.created"} <= set(cut_types)
    _cut(sessions, cut)
    result = _verify(sessions, anchors, keys)
    assert result.chain.ok  # what is left is a consistent chain ...
    assert not result.ok  # ... that no longer reaches the anchored head
    [problem] = result.anchor_problems
    assert problem.source.endswith(".json") and Path(problem.source).parent == anchors
    assert problem.problem == (f"truncated: the log ends at seq {40 - cut} but the anchor recorded seq 40 "
                               f"({cut} event{'s' if cut > 1 else ''} removed from the end)")


def test_truncation_is_detected_against_an_export_manifest(sessions: sessionmaker[Session], anchors: Path,
                                                           keys: Path, tmp_path: Path) -> None:
    """No checkpoint directory at all: the head a signed manifest recorded is enough."""
    _seed(sessions)
    signer = private_key(keys)
    with sessions() as s:
        seq, head = audit.head(s)
    body = {"format": "sharescan-export-manifest/1", "created_at": "2026-03-02T00:00:00Z",
            "audit": {"head_seq": seq, "head_hash": head, "events": seq, "chain_ok": True}}
    pub = public_hex(signer.public_key())
    manifest = tmp_path / "export" / "manifest.json"
    manifest.parent.mkdir()
    manifest.write_text(json.dumps(body | {"signature": {"algorithm": "ed25519", "public_key": pub,
                                                         "value": signer.sign(canonical(body)).hex()}}))
    _cut(sessions, 8)
    result = _verify(sessions, anchors, keys, manifests=(manifest.parent,))
    assert [p.problem for p in result.anchor_problems] == [
        "truncated: the log ends at seq 32 but the anchor recorded seq 40 (8 events removed from the end)"]
    assert result.warnings and "no checkpoint" in result.warnings[0]


@pytest.mark.parametrize("key", [None, b"a key the attacker made up......"], ids=["sha256", "wrong-key"])
def test_forged_tail_is_detected(sessions: sessionmaker[Session], anchors: Path, keys: Path,
                                 key: bytes | None) -> None:
    """Cut the tail and append forged events: the forgery does not fit the keyed chain, and the anchored head
    is gone."""
    _seed(sessions)
    _checkpoint(sessions, anchors, keys)
    _cut(sessions, 5)
    for kind in ("finding.remediated", "remediation.verified", "export.created", "scan.completed", "x", "y"):
        _forge(sessions, kind, key=key, version=1 if key is None else 2)
    result = _verify(sessions, anchors, keys)
    assert result.chain.problem is not None and result.chain.problem.seq == 36
    assert result.chain.problem.problem == (
        "unkeyed event after keyed events (the chain was re-written without the audit key)" if key is None
        else "content was edited or the event was forged (HMAC mismatch under the audit key)")
    assert [p.problem[:36] for p in result.anchor_problems] == ["event seq 40 differs from the anchor"]


def test_rechained_with_the_stolen_key_is_caught_by_the_anchor(sessions: sessionmaker[Session], anchors: Path,
                                                                keys: Path) -> None:
    """An attacker who also stole the audit key edits event 10 and re-chains every later event: the chain
    verifies, the checkpoint (signed with the export key, kept elsewhere) does not."""
    _seed(sessions)
    _checkpoint(sessions, anchors, keys)
    with sessions.begin() as s:
        prev = audit.hash_at(s, 9)
        assert prev is not None
        for ev in s.scalars(select(AuditEvent).where(AuditEvent.seq >= 10).order_by(AuditEvent.seq)).all():
            data = {"n": 0, "rewritten": True} if ev.seq == 10 else ev.data
            digest = audit.event_hash(prev, seq=ev.seq, ts=ev.ts, actor=ev.actor, event_type=ev.event_type,
                                      subject_type=ev.subject_type, subject_id=ev.subject_id, data=data, version=2,
                                      key=TEST_AUDIT_KEY)
            s.execute(update(AuditEvent).where(AuditEvent.id == ev.id).values(data=data, prev_hash=prev,
                                                                              hash=digest))
            prev = digest
    result = _verify(sessions, anchors, keys)
    assert result.chain.ok
    [problem] = result.anchor_problems
    assert "event seq 40 differs from the anchor" in problem.problem and "rewritten" in problem.problem


def test_a_checkpoint_forged_for_the_cut_log_is_refused(sessions: sessionmaker[Session], anchors: Path,
                                                        keys: Path, tmp_path: Path) -> None:
    """Cut the tail, then write a checkpoint for the shorter head, signed with a key of one's own."""
    _seed(sessions)
    _checkpoint(sessions, anchors, keys)
    _cut(sessions, 8)
    with sessions() as s:
        write_checkpoint(s, AuditSettings(), anchors, tmp_path / "mallory.key", reason="scan 2 completed")
    result = _verify(sessions, anchors, keys)
    problems = sorted(p.problem for p in result.anchor_problems)
    assert len(problems) == 2
    assert problems[0].startswith("signed by key ") and problems[0].endswith("not by the trusted key")
    assert problems[1].startswith("truncated: the log ends at seq 32")
    # and an edited checkpoint fails its signature
    path = sorted(anchors.glob("checkpoint-*.json"))[-1]  # the genuine one (seq 40)
    doc = json.loads(path.read_text())
    doc["seq"] = 32
    path.write_text(json.dumps(doc))
    assert any("bad signature" in p.problem for p in _verify(sessions, anchors, keys).anchor_problems)
    assert doc["format"] == CHECKPOINT_FORMAT


@pytest.mark.parametrize(
    ("tamper", "seq", "problem"),
    [
        (lambda s: s.execute(update(AuditEvent).where(AuditEvent.seq == 12).values(actor="mallory")), 12, "HMAC"),
        (lambda s: s.execute(update(AuditEvent).where(AuditEvent.seq == 12).values(data={"n": 0})), 12, "HMAC"),
        (lambda s: s.execute(delete(AuditEvent).where(AuditEvent.seq == 12)), 13, "missing or reordered events"),
        (lambda s: s.execute(delete(AuditEvent).where(AuditEvent.seq.in_([12, 13, 14]))), 15, "missing"),
        (lambda s: (s.execute(update(AuditEvent).where(AuditEvent.seq == 12).values(seq=-1)),
                    s.execute(update(AuditEvent).where(AuditEvent.seq == 13).values(seq=12)),
                    s.execute(update(AuditEvent).where(AuditEvent.seq == -1).values(seq=13))), 13, "reordered"),
        (lambda s: s.execute(update(AuditEvent).where(AuditEvent.seq == 12).values(chain_version=1)), 12,
         "unkeyed event after keyed events"),
    ],
    ids=["edit-actor", "edit-data", "delete-one", "delete-three", "reorder", "downgrade"],
)
def test_edits_deletions_reordering_inside_the_log(sessions: sessionmaker[Session], anchors: Path, keys: Path,
                                                   tamper, seq: int, problem: str) -> None:  # type: ignore[no-untyped-def]
    _seed(sessions)
    _checkpoint(sessions, anchors, keys)
    with sessions.begin() as s:
        tamper(s)
    result = _verify(sessions, anchors, keys)
    assert not result.ok and result.chain.problem is not None
    assert result.chain.problem.seq == seq and problem in result.chain.problem.problem


def test_legacy_unkeyed_prefix_still_verifies(migrated_url: str, sessions: sessionmaker[Session], anchors: Path,
                                              keys: Path) -> None:
    """Events written before the chain was keyed (version 1) verify, and keyed events continue the chain."""
    from scanner.store.db import make_engine

    engine = make_engine(migrated_url)
    try:
        _seed(make_sessionmaker(engine), ["scan.completed"] * 3)  # no key: legacy events
    finally:
        engine.dispose()
    _seed(sessions, ["scan.completed"] * 2)
    result = _verify(sessions, anchors, keys)
    assert result.chain.ok and (result.chain.legacy_events, result.chain.keyed_events) == (3, 2)


# --------------------------------------------------------------------------- state of the tables
def _workflow(sessions: sessionmaker[Session]) -> dict[str, int]:
    """A critical finding with a failed action and a verified one, a second finding, an exemption — all
    through the ORM, so the store records their state events."""
    with sessions.begin() as s:
        for fid in ("F1", "F2"):
            s.add(DriveFileRow(id=fid, name=f"{fid}.csv", exposure="anyone_with_link"))
        crit = Finding(fingerprint="a" * 64, rule_id="public-contractor-pii", severity="critical", file_id="F1",
                       exposure="anyone_with_link", status="open")
        other = Finding(fingerprint="b" * 64, rule_id="public-client-confidential", severity="high", file_id="F2",
                        exposure="anyone_with_link", status="open")
        s.add_all([crit, other])
        s.flush()
        failed = RemediationAction(finding_id=crit.id, file_id="F1", action="revoke", mode="enforce", status="planned",
                                   actor="sharescan", permission_id="anyoneWithLink")
        s.add(failed)
        s.flush()
        failed.status, failed.detail = "failed", "403 insufficientFilePermissions"
        done = RemediationAction(finding_id=other.id, file_id="F2", action="downgrade", mode="enforce",
                                 status="verified", actor="sharescan", before={"type": "anyone", "role": "reader"})
        s.add(done)
        s.flush()
        FindingRepo(s, "ciso@tessera-labs.com").add_exemption(reason="press kit", folder_id="0APress",
                                                              permanent=True)
        return {"critical": crit.id, "other": other.id, "failed": failed.id, "done": done.id}


def _state_problems(sessions: sessionmaker[Session], anchors: Path, keys: Path) -> list[str]:
    result = _verify(sessions, anchors, keys)
    assert result.chain.ok
    return [str(p) for p in result.state_problems]


def test_tables_match_their_state_events(sessions: sessionmaker[Session], anchors: Path, keys: Path) -> None:
    _workflow(sessions)
    result = _verify(sessions, anchors, keys)
    assert result.ok and result.rows_checked == 5
    with sessions() as s:
        kinds = [e.event_type for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    assert kinds.count("finding.state") == 2 and kinds.count("action.state") == 3
    assert kinds.count("exemption.state") == 1


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (lambda s, ids: s.execute(update(RemediationAction).where(RemediationAction.id == ids["failed"])
                                  .values(status="verified")),
         "remediation_action {failed}: row differs from its last state event (seq {seq}): "
         'status "verified" in the table, "failed" in the chain'),
        (lambda s, ids: s.execute(update(Finding).where(Finding.id == ids["critical"]).values(status="resolved")),
         "finding {critical}: row differs from its last state event (seq {seq}): "
         'status "resolved" in the table, "open" in the chain'),
        (lambda s, ids: s.execute(update(Finding).where(Finding.id == ids["critical"]).values(severity="low")),
         "finding {critical}: row differs from its last state event (seq {seq}): "
         'severity "low" in the table, "critical" in the chain'),
        (lambda s, ids: s.execute(update(RemediationAction).where(RemediationAction.id == ids["done"])
                                  .values(before={"type": "domain"})),
         "remediation_action {done}: row differs from its last state event (seq {seq}): before_digest"),
        (lambda s, ids: (s.execute(delete(RemediationAction).where(RemediationAction.finding_id == ids["other"])),
                         s.execute(delete(Finding).where(Finding.id == ids["other"]))),
         "remediation_action {done}: row deleted from the table (its last state event is seq {seq})"),
        (lambda s, ids: s.execute(update(Exemption).values(expires_at=None, reason="approved by nobody")),
         "exemption 1: row differs from its last state event (seq {seq}): reason_digest"),
        (lambda s, ids: s.execute(insert(Finding).values(fingerprint="c" * 64, rule_id="x", severity="info",
                                                         file_id="F1", exposure="domain", status="accepted",
                                                         detection_state="active", title="", recurrence_count=0,
                                                         matched_permissions=[], detectors={},
                                                         data_categories=[], first_seen=T0, last_seen=T0,
                                                         status_changed_at=T0)),
         "finding 3: row has no state event in the audit chain (inserted outside sharescan)"),
    ],
    ids=["failed-action-marked-verified", "critical-marked-resolved", "severity-lowered", "acl-before-edited",
         "rows-deleted", "exemption-reason-edited", "finding-inserted"],
)
def test_direct_table_edits_are_reported(sessions: sessionmaker[Session], anchors: Path, keys: Path,
                                         tamper, expected: str) -> None:  # type: ignore[no-untyped-def]
    ids = _workflow(sessions)
    with sessions() as s:
        latest = {(e.subject_type, e.subject_id): e.seq for e in
                  s.scalars(select(AuditEvent).where(AuditEvent.event_type.like("%.state")).order_by(AuditEvent.seq))}
    with sessions.begin() as s:
        tamper(s, ids)  # Core statements: what someone with a SQL prompt does
    problems = _state_problems(sessions, anchors, keys)
    subject = expected.split(":")[0].format(**ids)
    kind, sid = subject.rsplit(" ", 1)
    line = expected.format(**ids, seq=latest.get((kind, sid), 0))
    assert any(p.startswith(line) for p in problems), problems


def test_deletion_through_the_store_is_recorded_not_reported(sessions: sessionmaker[Session], anchors: Path,
                                                            keys: Path) -> None:
    ids = _workflow(sessions)
    with sessions.begin() as s:
        s.delete(s.get_one(RemediationAction, ids["failed"]))
    assert _state_problems(sessions, anchors, keys) == []
    with sessions() as s:
        last = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert last is not None and (last.event_type, last.data["change"]) == ("action.state", "deleted")


# --------------------------------------------------------------------------- concurrency
def test_concurrent_writers_never_fork_the_chain(sessions: sessionmaker[Session], anchors: Path,
                                                 keys: Path) -> None:
    """Four threads, each with its own connection, append 15 events each: one chain, no gaps, no fork."""
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(15):
                with sessions.begin() as s:
                    audit.record(s, "scan.heartbeat", actor=f"worker-{n}", data={"i": i})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = _verify(sessions, anchors, keys)
    assert result.chain.ok and result.chain.events == 60
    with sessions() as s:
        seqs = list(s.scalars(select(AuditEvent.seq).order_by(AuditEvent.id)))
    assert seqs == list(range(1, 61))


def test_other_signer_key_for_anchor(tmp_path: Path) -> None:
    """The helper key used by the forged-checkpoint test is a real Ed25519 key, unlike the installation's."""
    assert isinstance(private_key(tmp_path / "k"), Ed25519PrivateKey)


def test_processes_appending_at_once_never_fork_the_chain(migrated_url: str, sessions: sessionmaker[Session],
                                                         anchors: Path, keys: Path, tmp_path: Path) -> None:
    """Three processes append 10 events each to the same database at the same time."""
    import subprocess
    import sys

    script = tmp_path / "append.py"
    script.write_text(
        "import sys\n"
        "from scanner.store import audit\n"
        "from scanner.store.db import make_engine, make_sessionmaker\n"
        "from tests.conftest import TEST_AUDIT_KEY\n"
        "sessions = make_sessionmaker(make_engine(sys.argv[1]), audit_key=TEST_AUDIT_KEY)\n"
        "for i in range(10):\n"
        "    with sessions.begin() as s:\n"
        "        audit.record(s, 'scan.heartbeat', actor='process-' + sys.argv[2], data={'i': i})\n")
    root = Path(__file__).resolve().parents[2]
    procs = [subprocess.Popen([sys.executable, str(script), migrated_url, str(n)], cwd=root,
                              env={**os.environ, "PYTHONPATH": str(root)}, stderr=subprocess.PIPE, text=True)
             for n in range(3)]
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read() if p.stderr else ""
    result = _verify(sessions, anchors, keys)
    assert result.chain.ok and result.chain.events == 30 and result.chain.keyed_events == 30


def test_checkpoints_also_go_to_a_webhook(sessions: sessionmaker[Session], anchors: Path, keys: Path) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    got: list[dict[str, object]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        _seed(sessions, ["scan.completed"] * 3)
        settings = AuditSettings(anchor_webhook_url=f"http://127.0.0.1:{server.server_address[1]}/anchors")
        with sessions() as s:
            anchor = write_checkpoint(s, settings, anchors, keys, reason="scan 7 completed")
    finally:
        server.shutdown()
        server.server_close()
    assert anchor is not None and len(got) == 1
    assert (got[0]["seq"], got[0]["head_hash"], got[0]["reason"]) == (3, anchor.head_hash, "scan 7 completed")
    assert json.loads(Path(anchor.source).read_text()) == got[0]  # the same signed document
