"""Drive sharing posture through a real scan: the Cloud Identity Policy API and Directory org units of the
demo workspace, read with the real googleapiclient over HTTP from the emulator."""

from __future__ import annotations

from sqlalchemy import select, update

from scanner.connectors.google.client import POLICY_SCOPE
from scanner.emulator.seeds.demo_posture import CONTRACTORS_OU, FINANCE_OU
from scanner.emulator.state.policies import EXTERNAL_SHARING
from scanner.posture.service import posture_links, settings_to_change
from scanner.run import ScanOptions, ScanService
from scanner.store import audit
from scanner.store.models import AuditEvent, Finding, PostureFinding
from scanner.store.statechain import StateTracker, verify_states


def _postures(app) -> dict[tuple[str, str], PostureFinding]:
    with app.sessions() as s:
        return {(p.check_id, p.org_unit): p for p in s.scalars(select(PostureFinding))}


def test_scan_records_posture_findings_with_cis_and_scuba_ids(make_app) -> None:
    app = make_app()
    result = ScanService(app).run(ScanOptions(full=True))
    assert result.posture is not None and result.posture["status"] == "done", result.posture
    found = _postures(app)
    # the root allows anyone-with-link sharing; /Contractors sets it again explicitly; /Finance forbids it
    link = found[("drive-anyone-with-link-allowed", "/")]
    assert link.compliance == {"cis_gws": ["3.1.2.1.1.2"], "scuba_gws": ["GWS.DRIVEDOCS.1.5"]}
    assert link.severity == "high" and link.status == "open" and link.detection_state == "active"
    assert "/Marketing" in link.applies_to and FINANCE_OU not in link.applies_to
    assert ("drive-anyone-with-link-allowed", CONTRACTORS_OU) in found
    assert ("drive-anyone-with-link-allowed", FINANCE_OU) not in found
    assert found[("drive-no-external-sharing-warning", CONTRACTORS_OU)].observed == {
        "externalSharingMode": "ALLOWED", "warnForExternalSharing": False}
    # /Finance is private by default; /Contractors shares new files by link; the root sets nothing: not judged
    assert ("drive-default-access-not-private", CONTRACTORS_OU) in found
    assert not [k for k in found if k[0] == "drive-default-access-not-private" and k[1] != CONTRACTORS_OU]
    with app.sessions() as s:
        events = {e.event_type for e in s.scalars(select(AuditEvent))}
    assert {"posture_finding.opened", "posture_finding.state"} <= events


def test_file_findings_link_to_the_posture_that_allowed_them(make_app) -> None:
    app = make_app()
    ScanService(app).run(ScanOptions(full=True))
    with app.sessions() as s:
        contractors = s.scalars(select(Finding).where(Finding.org_unit == CONTRACTORS_OU)).all()
        assert contractors, "Maya's findings carry her org unit"
        links = posture_links(s)
        top = settings_to_change(s)
    sentences = [link.sentence for link in links]
    want = [x for x in links if x.org_unit == CONTRACTORS_OU and x.check_id == "drive-anyone-with-link-allowed"]
    assert want, sentences
    assert want[0].set_at == CONTRACTORS_OU
    n = sum(1 for f in contractors if f.exposure == want[0].exposure)
    assert want[0].findings == n
    assert f"{n} anyone-with-link finding" in want[0].sentence
    assert "in OU /Contractors, where anyone-with-link sharing is allowed" in want[0].sentence
    # the ranking: the settings that allowed the most findings first
    assert top[0].prevented >= top[-1].prevented and top[0].prevented > 0


def test_a_fixed_setting_resolves_its_posture_finding_and_a_return_reopens_it(make_app, emulator) -> None:
    app = make_app()
    ScanService(app).run(ScanOptions(full=True))
    store = emulator.workspace.policies
    store.set(EXTERNAL_SHARING, {"externalSharingMode": "ALLOWED", "allowPublishingFiles": False,
                                 "warnForExternalSharing": False}, org_unit=CONTRACTORS_OU)
    ScanService(app).run(ScanOptions())
    row = _postures(app)[("drive-anyone-with-link-allowed", CONTRACTORS_OU)]
    assert (row.status, row.detection_state) == ("resolved", "inactive")
    store.set(EXTERNAL_SHARING, {"externalSharingMode": "ALLOWED", "allowPublishingFiles": True,
                                 "warnForExternalSharing": False}, org_unit=CONTRACTORS_OU)
    ScanService(app).run(ScanOptions())
    row = _postures(app)[("drive-anyone-with-link-allowed", CONTRACTORS_OU)]
    assert (row.status, row.recurrence_count) == ("open", 1)
    # every state change of posture findings is proven by the audit chain; an edit outside the ORM is not
    with app.sessions() as s:
        tracker = StateTracker()
        assert audit.verify_chain(s, on_event=tracker).ok
        problems, checked = verify_states(s, tracker)
        assert problems == [] and checked > 0
    with app.sessions.begin() as s:
        s.execute(update(PostureFinding).where(PostureFinding.id == row.id).values(status="accepted"))
    with app.sessions() as s:
        tracker = StateTracker()
        audit.verify_chain(s, on_event=tracker)
        problems, _ = verify_states(s, tracker)
        assert [p for p in problems if "posture_finding" in str(p)], problems


def test_without_the_policy_scope_posture_is_skipped_and_nothing_is_resolved(make_app, emulator) -> None:
    app = make_app()
    ScanService(app).run(ScanOptions(full=True))
    before = _postures(app)
    emulator.delegation.refuse(POLICY_SCOPE)
    result = ScanService(app).run(ScanOptions())
    assert result.posture is not None and result.posture["status"] == "skipped"
    assert "cloudidentity" in result.posture["reason"] or "scope" in result.posture["reason"].lower() \
        or "unauthorized" in result.posture["reason"], result.posture
    after = _postures(app)
    assert {k: v.status for k, v in after.items()} == {k: v.status for k, v in before.items()}
    assert all(v.detection_state == "active" for v in after.values())
