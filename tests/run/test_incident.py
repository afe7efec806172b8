"""The ``incident`` workspace end to end, judged from the emulator's own state (not sharescan's): an enforce
scan with the default policy leaves no sensitive file exposed that the policy fixes on its own, changes
nothing internal or non-sensitive (folders holding sensitive files aside), and the next, unchanged night
adds no remediation action and no audit event."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from scanner.app import App
from scanner.demo import demo_settings
from scanner.emulator import Emulator
from scanner.emulator.seeds.incident import ADMIN, DOMAIN, EXPECTED, SECONDARY
from scanner.emulator.state.workspace import Workspace
from scanner.run import ScanOptions, ScanService
from scanner.store.models import AuditEvent, RemediationAction


def exposure(ws: Workspace, file_id: str) -> set[str]:
    """How the emulator says a file is exposed beyond the customer's domains (independent of sharescan)."""
    f = ws.files[file_id]
    owned = {*ws.domains, *ws.domain_aliases}
    out = set()
    for ep in ws.effective_permissions(f):
        p = ep.perm
        if p.type == "anyone":
            out.add("public" if p.allow_file_discovery else "anyone_with_link")
        elif p.type == "domain" and (p.domain or "").lower() not in owned:
            out.add("external_domain")
        elif p.type in ("user", "group") and (p.email or "").rpartition("@")[2] not in owned:
            out.add("external_" + p.type)
    if any(p.view == "published" and p.type == "anyone" for p in f.permissions) or any(
            r.published for r in f.revisions[-1:]):
        out.add("published")
    return out


@pytest.fixture()
def incident(sa_key):
    with Emulator(seed="incident", key=sa_key) as emu:
        yield emu


def counts(app: App) -> tuple[int, int]:
    with app.sessions() as s:
        return (int(s.scalar(select(func.count()).select_from(RemediationAction)) or 0),
                int(s.scalar(select(func.count()).select_from(AuditEvent)) or 0))


def test_enforce_fixes_what_policy_fixes_without_over_revoking_then_a_quiet_night(incident, tmp_path: Path,
                                                                                   db_url: str) -> None:
    ws = incident.workspace
    key = tmp_path / "key.json"
    incident.write_key_file(key)
    settings = demo_settings(tmp_path, incident.endpoint, key).with_overrides(
        organisation={"domains": [DOMAIN, SECONDARY]}, google={"admin_subject": ADMIN},
        database={"url": db_url})
    app = App(settings, actor="security@meridian-data.com")
    app.init_database()
    sensitive = {k: e for k, e in EXPECTED.items() if e.sensitive}
    exposed_before = {k for k, e in sensitive.items() if exposure(ws, e.file_id)}
    to_fix = {k for k in exposed_before if sensitive[k].auto_fix}
    assert (len(exposed_before), len(to_fix)) == (16, 12)
    assert {k for k, e in EXPECTED.items() if e.exposure != "internal" and exposure(ws, e.file_id)} == {
        k for k, e in EXPECTED.items() if e.exposure not in ("internal", "domain")}  # the table tells the truth

    try:
        first = ScanService(app).run(ScanOptions(full=True))
        assert first.status == "completed" and first.remediation_refused is None
        assert first.domain_check is not None and first.domain_check["blocked"] is None

        still = {k for k in to_fix if exposure(ws, sensitive[k].file_id)}
        assert still == set(), f"sensitive files the policy fixes are still exposed: {sorted(still)}"
        left = {k for k in exposed_before - to_fix if exposure(ws, sensitive[k].file_id)}
        assert left == {"payroll", "consultant_notes", "partner_status", "onboarding_form"}  # planned for a person

        # over-revocation: every change was on a sensitive file or on a folder holding them, and removed or
        # narrowed only access from outside the organisation
        by_id = {e.file_id: e for e in EXPECTED.values()}
        owned = {*ws.domains, *ws.domain_aliases}
        for event in incident.events:
            changed = by_id[event["fileId"]]
            assert changed.sensitive or (changed.folder and changed.auto_fix), event
            removed = event["before"] if event["kind"] == "permission.deleted" else None
            if removed is not None:
                who = removed.get("domain") or str(removed.get("emailAddress") or "").rpartition("@")[2]
                assert removed["type"] == "anyone" or who not in owned, f"internal access removed: {event}"
        assert {e["kind"] for e in incident.events} <= {"permission.created", "permission.deleted",
                                                        "revision.unpublished"}

        before, events = counts(app), len(incident.events)
        second = ScanService(app).run(ScanOptions(full=False))
        assert second.status == "completed"
        assert counts(app) == before and len(incident.events) == events, "the unchanged night was not quiet"
        assert second.actions_unchanged > 0  # the plans are still there, recorded once
    finally:
        app.close()
