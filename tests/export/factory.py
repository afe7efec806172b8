"""Realistic rows for export tests, inserted directly with SQLAlchemy.

The story: Tessera Labeling (tessera-labs.com). Three nightly runs; a contractor roster shared
with anyone with the link (remediated), a payroll sheet published to the web (still open, its
notification deadline passed), a client deck shared with an external domain (accepted risk), a
file whose name is a spreadsheet formula and one whose name is a script tag.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from scanner.store import audit
from scanner.store.models import (
    CrawlTarget,
    DriveFileRow,
    Evidence,
    Exemption,
    Finding,
    PermissionRow,
    RemediationAction,
    ScanCoverage,
    ScanRun,
)

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
FORMULA_NAME = '=HYPERLINK("http://evil.example/x","click me")'
SCRIPT_NAME = "<script>alert('pwned')</script> Q3 roster.xlsx"


def t(days: float, hours: float = 0) -> dt.datetime:
    """A time ``days`` (and hours) before NOW."""
    return NOW - dt.timedelta(days=days, hours=hours)


@dataclass
class Story:
    runs: list[int]
    findings: dict[str, int]


def _file(s: Session, fid: str, name: str, owner: str, exposure: str, classes: list[str],
          exposed_since: dt.datetime | None, content_status: str = "analysed",
          skip: str | None = None) -> DriveFileRow:
    row = DriveFileRow(
        id=fid, name=name, mime_type="application/vnd.google-apps.spreadsheet", owner_email=owner,
        web_view_link=f"https://docs.google.com/spreadsheets/d/{fid}/edit", exposure=exposure,
        exposure_classes=classes, exposed_since=exposed_since, first_seen=t(9), last_seen=t(0, 10),
        content_status=content_status, content_skip_reason=skip, content_revision="r1",
    )
    s.add(row)
    return row


def _evidence(s: Session, fid: str, detector: str, entity: str, count: int, score: float, preview: str,
              categories: list[str]) -> None:
    s.add(Evidence(file_id=fid, revision="r1", detector=detector, entity_type=entity, count=count,
                   distinct_values=count, best_score=score, location="Sheet1!A1:F40", masked_preview=preview,
                   value_hash="ab" * 32, categories=categories))


def build(s: Session) -> Story:
    users = [CrawlTarget(kind="user", key=f"{u}@tessera-labs.com", name=u.title())
             for u in ("maria", "jonas", "li")]
    drive = CrawlTarget(kind="drive", key="0AClientsDrive", name="Clients")
    s.add_all([*users, drive])
    s.flush()

    runs = []
    for i, days in enumerate((3, 2, 1)):
        run = ScanRun(kind="full" if i == 0 else "incremental", status="completed" if i != 1 else "partial",
                      remediation_mode="enforce", started_at=t(days, -2), finished_at=t(days, -3),
                      heartbeat_at=t(days, -3), hostname="scanner-1", pid=4242, stats={"files": 120 + i})
        s.add(run)
        s.flush()
        runs.append(run)
        for target in [*users, drive]:
            failed = i == 1 and target is drive
            s.add(ScanCoverage(
                run_id=run.id, target_id=target.id, status="failed" if failed else "done",
                files_seen=40, files_exposed=5, files_analysed=3 if failed else 5, files_skipped=1 if failed else 0,
                files_failed=1 if failed else 0, api_calls=12,
                reasons={"too_large": 1, "target": "403 insufficientFilePermissions"} if failed else {},
                started_at=t(days, -2), finished_at=t(days, -3)))

    roster = _file(s, "1RosterAAA", SCRIPT_NAME, "maria@tessera-labs.com", "internal", ["internal"], None)
    payroll = _file(s, "1PayrollBBB", FORMULA_NAME, "jonas@tessera-labs.com", "published",
                    ["published", "anyone_with_link"], t(5))
    deck = _file(s, "1DeckCCC", "KESTREL pitch deck.pptx", "li@tessera-labs.com", "external_domain",
                 ["external_domain"], t(20))
    memo = _file(s, "1MemoDDD", "BLUEFIN memo.docx", "maria@tessera-labs.com", "domain", ["domain"], None)
    _file(s, "1VideoEEE", "All-hands recording.mp4", "li@tessera-labs.com", "anyone_with_link",
          ["anyone_with_link"], t(2), content_status="not_analysed", skip="too_large: 2.1 GB > 25 MB")
    # not content gaps: a folder has no content; a domain-only file no rule needed to read
    folder = _file(s, "1FolderFFF", "Recruiting", "li@tessera-labs.com", "anyone_with_link", ["anyone_with_link"],
                   t(2), content_status="not_analysed", skip="not analysed: folder")
    folder.mime_type = "application/vnd.google-apps.folder"
    folder.item_kind = "folder"
    _file(s, "1AllHandsGGG", "All-hands deck", "li@tessera-labs.com", "domain", ["domain"], t(2),
          content_status="pending")
    s.add(PermissionRow(file_id=payroll.id, permission_id="anyoneWithLink", type="anyone", role="reader",
                        allow_file_discovery=False, exposure="anyone_with_link", raw={"type": "anyone"}))

    _evidence(s, roster.id, "contractor_roster", "PERSON", 38, 0.85, "M**** G*****", ["contractor_pii"])
    _evidence(s, roster.id, "contractor_roster", "EMAIL_ADDRESS", 38, 1.0, "m****@g****.com", ["contractor_pii"])
    # the same 38 emails seen by a second detector: counted once per entity type, not twice
    _evidence(s, roster.id, "contractor_pii", "EMAIL_ADDRESS", 38, 1.0, "m****@g****.com", ["contractor_pii"])
    _evidence(s, roster.id, "government_id", "US_SSN", 12, 0.9, "***-**-1234", ["contractor_pii", "government_id"])
    _evidence(s, payroll.id, "bank_data", "IBAN_CODE", 25, 1.0, "DE89 **** **** **** 3000", ["financial"])
    _evidence(s, payroll.id, "pay_data", "PERSON", 25, 0.85, "J**** K****", ["contractor_pii", "financial"])
    _evidence(s, deck.id, "client_codename", "CLIENT_CODENAME", 7, 1.0, "KES****", ["client_confidential"])
    _evidence(s, memo.id, "client_codename", "CLIENT_CODENAME", 2, 1.0, "BLU****", ["client_confidential"])

    f_roster = Finding(
        fingerprint="a" * 64, rule_id="public-contractor-pii", title="Anyone-with-link file holds contractor PII",
        severity="critical", file_id=roster.id, owner_email=roster.owner_email, principal="anyone",
        detection_state="inactive", status="remediated", exposure="anyone_with_link", exposure_after="internal",
        matched_permissions=[{"id": "anyoneWithLink", "type": "anyone", "exposure": "anyone_with_link"}],
        detectors={"contractor_roster": {"count": 76, "best_score": 1.0}},
        data_categories=["contractor_pii", "government_id"], first_seen=t(3, -2), last_seen=t(3, -2),
        exposed_since=t(4), remediated_at=t(3, -2.5), status_changed_at=t(3, -2.5), first_run_id=runs[0].id,
        last_run_id=runs[0].id)
    f_payroll = Finding(
        fingerprint="b" * 64, rule_id="public-government-id-or-bank", title="Published file holds bank data",
        severity="high", file_id=payroll.id, owner_email=payroll.owner_email, principal="anyone",
        status="open", exposure="published", matched_permissions=[], detectors={"bank_data": {"count": 25}},
        data_categories=["contractor_pii", "financial"], first_seen=t(4), last_seen=t(1, -2), exposed_since=t(5),
        status_changed_at=t(4), recurrence_count=2, first_run_id=None, last_run_id=runs[2].id)
    f_deck = Finding(
        fingerprint="c" * 64, rule_id="external-client-confidential", title="Client material shared externally",
        severity="medium", file_id=deck.id, owner_email=deck.owner_email, principal="domain:halcyon-motors.com",
        status="accepted", exposure="external_domain", data_categories=["client_confidential"],
        first_seen=t(2, -2), last_seen=t(1, -2), exposed_since=t(20), status_changed_at=t(2),
        accepted_until=NOW + dt.timedelta(days=30), first_run_id=runs[1].id, last_run_id=runs[2].id)
    f_memo = Finding(
        fingerprint="d" * 64, rule_id="domain-client-confidential", title="Client memo shared with the whole domain",
        severity="low", file_id=memo.id, owner_email=memo.owner_email, status="resolved", exposure="domain",
        data_categories=["client_confidential"], first_seen=t(60), last_seen=t(2), resolved_at=t(1, -2),
        status_changed_at=t(1, -2), recurrence_count=1, first_run_id=runs[0].id, last_run_id=runs[1].id)
    s.add_all([f_roster, f_payroll, f_deck, f_memo])
    s.flush()

    s.add(RemediationAction(
        run_id=runs[0].id, finding_id=f_roster.id, file_id=roster.id, action="revoke", permission_id="anyoneWithLink",
        target_file_id=roster.id, mode="enforce", status="verified",
        before={"permission": {"id": "anyoneWithLink", "type": "anyone", "role": "reader", "allowFileDiscovery": False},
                "file_id": roster.id},
        after={"permission": None}, detail="permission removed", actor="sharescan@scanner-1",
        acted_as="maria@tessera-labs.com",
        created_at=t(3, -2.4), completed_at=t(3, -2.5)))
    s.add(RemediationAction(
        run_id=runs[0].id, finding_id=f_roster.id, file_id=roster.id, action="notify", mode="enforce",
        status="applied", actor="sharescan@scanner-1", created_at=t(3, -2.5), completed_at=t(3, -2.5)))
    s.add(RemediationAction(
        run_id=runs[2].id, finding_id=f_payroll.id, file_id=payroll.id, action="unpublish", mode="dry-run",
        status="planned", before={"published": True}, actor="sharescan@scanner-1", created_at=t(1, -2)))
    s.add(Exemption(finding_id=f_deck.id, reason="Shared with Halcyon under NDA #2026-04 (Legal approved)",
                    actor="ciso@tessera-labs.com", created_at=t(2), expires_at=NOW + dt.timedelta(days=30)))
    s.add(Exemption(folder_id="0APressKit", reason="Press kit", actor="ciso@tessera-labs.com", created_at=t(40),
                    expires_at=t(5)))

    audit.record(s, "scan.completed", actor="sharescan@scanner-1", subject_type="run", subject_id=str(runs[0].id),
                 ts=t(3, -3))
    audit.record(s, "action.verified", actor="sharescan@scanner-1", subject_type="action", subject_id="1",
                 data={"file_id": roster.id}, ts=t(3, -2.5))
    audit.record(s, "finding.accepted", actor="ciso@tessera-labs.com", subject_type="finding",
                 subject_id=str(f_deck.id), ts=t(2))
    s.flush()
    return Story(runs=[r.id for r in runs],
                 findings={"roster": f_roster.id, "payroll": f_payroll.id, "deck": f_deck.id, "memo": f_memo.id})
