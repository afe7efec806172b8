"""Exposure dating through a real scan: the demo's Drive audit history read over HTTP with the real
googleapiclient from the emulator's Reports API, stored as dates, actors (domain + keyed hash) and counts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from scanner.emulator.seeds.demo import fid
from scanner.emulator.seeds.demo_audit import OUTSIDE_DOWNLOADER, ROSTER_ANONYMOUS_VIEWS, ROSTER_EXPOSED_DAYS_AGO
from scanner.export.collect import ExportData
from scanner.run import ScanOptions, ScanService
from scanner.store.models import ExposureDating, Finding

AUDIT_SCOPE = "https://www.googleapis.com/auth/admin.reports.audit.readonly"


def datings(app) -> dict[str, ExposureDating]:
    with app.sessions() as s:
        rows = list(s.scalars(select(ExposureDating)))
        s.expunge_all()
    return {r.file_id: r for r in rows}


def test_a_scan_dates_the_roster_from_the_audit_log_weeks_before_it_first_saw_it(make_app) -> None:
    app = make_app()
    result = ScanService(app).run(ScanOptions(full=True))
    assert result.status == "completed"
    assert result.exposure_dating["skipped"] is None
    rows = datings(app)
    roster = rows[fid("roster_sheet")]
    now = dt.datetime.now(dt.UTC)
    assert roster.source == "audit_log"
    assert roster.exposed_since is not None
    age = now - roster.exposed_since
    assert dt.timedelta(days=ROSTER_EXPOSED_DAYS_AGO) < age < dt.timedelta(days=ROSTER_EXPOSED_DAYS_AGO + 1)
    assert roster.visibility == "people_with_link"
    assert roster.exposed_by_kind == "insider" and roster.exposed_by_domain == "tessera-labs.com"
    assert roster.exposed_by_email is None and len(roster.exposed_by_hash or "") == 64
    assert roster.access["anonymous"]["view"] == ROSTER_ANONYMOUS_VIEWS
    assert roster.access["outside"]["download"] == 1
    assert roster.outside_domains == [OUTSIDE_DOWNLOADER.rsplit("@", 1)[1]]
    assert roster.outside_total == ROSTER_ANONYMOUS_VIEWS + 2  # 7 anonymous views, one outside view + download
    # exposed since before the 180 days the log keeps
    old = rows[fid("old_roster_suspended")]
    assert old.source == "before_retention"
    assert old.access["anonymous"]["view"] == 2
    # the findings take the audit date: the window no longer starts at the scan
    with app.sessions() as s:
        since = s.scalars(select(Finding.exposed_since).where(Finding.file_id == fid("roster_sheet"))).all()
    assert since and all(v == roster.exposed_since for v in since)


def test_no_actor_address_at_rest_unless_configured(make_app) -> None:
    app = make_app()
    ScanService(app).run(ScanOptions(full=True))
    with app.engine.connect() as conn:
        dumped = " ".join(str(tuple(r)) for r in conn.execute(ExposureDating.__table__.select()))
    assert OUTSIDE_DOWNLOADER not in dumped and "maya.chen@" not in dumped


def test_addresses_are_kept_when_the_installation_chooses_to(make_app) -> None:
    app = make_app(evidence={"store_actor_emails": True})
    ScanService(app).run(ScanOptions(full=True))
    roster = datings(app)[fid("roster_sheet")]
    assert roster.exposed_by_email == "maya.chen@tessera-labs.com"


def test_without_the_audit_scope_the_scan_works_and_says_why_dating_was_skipped(make_app, emulator) -> None:
    emulator.delegation.refuse(AUDIT_SCOPE)
    app = make_app()
    result = ScanService(app).run(ScanOptions(full=True))
    assert result.status == "completed" and result.findings_active
    assert "admin.reports.audit.readonly" in (result.exposure_dating["skipped"] or "")
    roster = datings(app)[fid("roster_sheet")]
    assert roster.source == "first_seen" and "admin.reports.audit.readonly" in (roster.skipped_reason or "")
    # the breach candidate is "unknown: no audit log", not "not reached"
    with app.sessions() as s:
        data = ExportData(s, since=None, statuses=[], now=dt.datetime.now(dt.UTC), breach_deadline_hours=72)
        candidates = list(data.breach_candidates())
    assert candidates and {b.reached_outside for b in candidates} == {"unknown"}


def test_breach_candidates_are_ranked_by_outside_access_and_carry_the_dating(make_app) -> None:
    app = make_app()
    ScanService(app).run(ScanOptions(full=True))
    with app.sessions() as s:
        data = ExportData(s, since=None, statuses=[], now=dt.datetime.now(dt.UTC), breach_deadline_hours=72)
        candidates = list(data.breach_candidates())
    assert candidates
    totals = [b.outside_total for b in candidates]
    assert totals == sorted(totals, reverse=True)
    top = candidates[0]
    assert top.file_id == fid("roster_sheet")
    assert top.exposure_start_source == "audit_log" and top.reached_outside == "yes"
    assert top.anonymous_access["view"] == ROSTER_ANONYMOUS_VIEWS and top.outside_domains == ["outlook.com"]
    assert top.exposed_by and top.exposed_by.startswith("someone@tessera-labs.com (#")
    assert top.exposure_hours > ROSTER_EXPOSED_DAYS_AGO * 24
    assert "no" not in {b.reached_outside for b in candidates}
