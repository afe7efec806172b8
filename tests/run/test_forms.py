"""A form published for responses (a responder permission in Drive's ``published`` view) is found with
``permissions.list(includePermissionsForView=published)`` and its responders link can be revoked."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from scanner.emulator.seeds.builder import anyone_perm, make_file
from scanner.emulator.seeds.demo import MAYA, fid
from scanner.emulator.state.model import FORM
from scanner.run import ScanOptions, ScanService
from scanner.store.models import Finding

RULE = """\
id: public-forms
title: Form anyone can respond to
severity: low
when:
  exposure: [published]
  mime_types: [application/vnd.google-apps.form]
actions:
  - revoke: matched
auto: true
"""


def test_a_form_open_to_anyone_is_found_and_closed(make_app, emulator, tmp_path: Path) -> None:
    form = fid("contractor_signup_form")
    ws = emulator.workspace
    with ws.lock:
        responders = anyone_perm()
        responders.view, responders.id = "published", responders.id + "Published"
        make_file(ws, fid=form, name="Contractor sign-up", mime=FORM, owner=MAYA,
                  created="2026-01-01T00:00:00.000Z", perms=[responders])
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "public-forms.yaml").write_text(RULE)
    app = make_app(remediation={"mode": "enforce"}, rules={"include_builtin": False, "directories": [str(rules)]})
    ScanService(app).run(ScanOptions(full=True))
    with app.sessions() as s:
        [finding] = s.scalars(select(Finding).where(Finding.file_id == form)).all()
        assert (finding.exposure, finding.matched_permissions[0]["id"]) == ("published", "anyoneWithLinkPublished")
        assert finding.status == "remediated"
    [deleted] = [e for e in emulator.events if e["kind"] == "permission.deleted"]
    assert (deleted["fileId"], deleted["before"]["view"]) == (form, "published")
    assert not ws.files[form].permissions
