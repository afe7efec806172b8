"""Drive labels end to end against the emulator, through the real googleapiclient: the crawl asks for the
labels rules name (includeLabels) so `when.labels` matches; the `label` action applies the configured
classification label and field, is verified, and restore removes it exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from scanner.core.errors import RuleError
from scanner.emulator.seeds.demo import EXPECTED
from scanner.emulator.seeds.demo_posture import CHOICE_IDS, CONFIDENTIAL_LABEL, DATA_CATEGORY_FIELD, LABELLED
from scanner.policy.loader import load_configured_rules
from scanner.remediate.restore import Restorer
from scanner.run import ScanOptions, ScanService
from scanner.store.models import DriveFileRow, Finding, RemediationAction

LABELS = {"classification_label": CONFIDENTIAL_LABEL, "field": DATA_CATEGORY_FIELD,
          "choice": CHOICE_IDS["Contractor PII"], "title": "Confidential / Contractor PII"}
LABEL_RULE = f"""\
id: confidential-label-shared-outside
title: A file labelled Confidential is shared outside the organisation
severity: high
when:
  exposure: [public, anyone_with_link, published, external_domain, external_user, external_group]
  labels: [{CONFIDENTIAL_LABEL}]
"""
LABEL_ACTION_RULE = """\
id: label-then-revoke-roster
title: Contractor roster reachable by link gets labelled, then its link removed
severity: critical
when:
  exposure: [anyone_with_link]
content:
  any:
    - detector: contractor_roster
actions:
  - label
  - revoke: matched
auto: true
"""


def _rules_dir(tmp_path: Path, text: str) -> Path:
    d = tmp_path / "myrules"
    d.mkdir(exist_ok=True)
    (d / "rule.yaml").write_text(text)
    return d


def test_a_rule_on_a_label_matches_the_labelled_files(make_app, tmp_path: Path, emulator) -> None:
    app = make_app(labels=LABELS, rules={"directories": [str(_rules_dir(tmp_path, LABEL_RULE))]})
    emulator.reset_counters()
    ScanService(app).run(ScanOptions(full=True))
    with app.sessions() as s:
        labelled = {r.id for r in s.scalars(select(DriveFileRow)) if CONFIDENTIAL_LABEL in (r.labels or [])}
        matched = {f.file_id for f in s.scalars(select(Finding).where(
            Finding.rule_id == "confidential-label-shared-outside"))}
    assert labelled == {EXPECTED[k].file_id for k in LABELLED}
    exposed = {EXPECTED[k].file_id for k in LABELLED if EXPECTED[k].exposure not in ("internal", "domain")}
    assert matched == exposed and matched, (matched, exposed)


def test_without_labels_configured_the_crawl_asks_for_none_and_a_label_rule_is_refused(make_app, tmp_path) -> None:
    app = make_app(rules={"directories": [str(_rules_dir(tmp_path, LABEL_RULE))]})
    with pytest.raises(RuleError) as err:
        load_configured_rules(app.settings)
    assert f"{tmp_path / 'myrules' / 'rule.yaml'}:6: when.labels: names Drive labels" in str(err.value)
    assert "[labels] classification_label" in str(err.value)


def test_the_label_action_is_applied_verified_and_restored_exactly(make_app, tmp_path: Path, emulator) -> None:
    app = make_app(labels=LABELS, rules={"include_builtin": False,
                                         "directories": [str(_rules_dir(tmp_path, LABEL_ACTION_RULE))]},
                   remediation={"mode": "enforce", "max_actions_share": 1.0})
    result = ScanService(app).run(ScanOptions(full=True))
    assert result.actions.get("verified", 0) >= 2, result.actions
    ws = emulator.workspace
    with app.sessions() as s:
        rows = s.scalars(select(RemediationAction).where(RemediationAction.action.in_(("label", "revoke")))
                         .order_by(RemediationAction.id)).all()
        labels = [a for a in rows if a.action == "label"]
        assert labels and all(a.status == "verified" for a in labels), [(a.action, a.status, a.detail) for a in rows]
        revoked = {a.finding_id: a for a in rows if a.action == "revoke" and a.status == "verified"}
        first = next(a for a in labels if a.finding_id in revoked)
        revoke_id = revoked[first.finding_id].id
        assert first.id < revoke_id  # the label was applied before the link was removed
        file_id, action_id, before = first.file_id, first.id, first.before
    applied = ws.labels.on_file(file_id)[CONFIDENTIAL_LABEL]
    assert applied.values[DATA_CATEGORY_FIELD] == [CHOICE_IDS["Contractor PII"]]
    assert before is not None and before["label"] is None

    restored = Restorer(app.settings, app.sessions, "tester").restore(action_id, reason="wrong label")
    assert restored.status == "restored"
    assert CONFIDENTIAL_LABEL not in ws.labels.on_file(file_id)
    # the permission revoke stays revoked: restoring the label put back only the label
    with app.sessions() as s:
        assert s.get(RemediationAction, revoke_id).status == "verified"


RELABEL_RULE = f"""\
id: relabel-confidential-outside
title: A Confidential file shared outside gets the Contractor PII category
severity: high
when:
  exposure: [external_domain, external_user]
  labels: [{CONFIDENTIAL_LABEL}]
actions:
  - label
auto: true
"""


def test_a_label_already_there_is_set_back_exactly_and_a_changed_one_is_not_touched(make_app, tmp_path: Path,
                                                                                    emulator) -> None:
    from scanner.emulator.state import labeling
    from scanner.remediate.restore import RestoreRefused

    app = make_app(labels=LABELS, rules={"include_builtin": False,
                                         "directories": [str(_rules_dir(tmp_path, RELABEL_RULE))]})
    dry = ScanService(app).run(ScanOptions(full=True))  # [remediation] mode dry-run: planned, nothing changed
    assert dry.actions.get("planned", 0) >= 1, dry.actions
    peregrine = EXPECTED["peregrine_status"].file_id
    ws = emulator.workspace
    assert ws.labels.on_file(peregrine)[CONFIDENTIAL_LABEL].values[DATA_CATEGORY_FIELD] == [
        CHOICE_IDS["Client confidential"]]

    ScanService(app).run(ScanOptions(full=True, apply=True))
    assert ws.labels.on_file(peregrine)[CONFIDENTIAL_LABEL].values[DATA_CATEGORY_FIELD] == [
        CHOICE_IDS["Contractor PII"]]
    with app.sessions() as s:
        action = s.scalars(select(RemediationAction).where(RemediationAction.action == "label",
                                                           RemediationAction.file_id == peregrine,
                                                           RemediationAction.status == "verified")).one()
        action_id = action.id
    # a second apply finds the label as wanted: nothing to do
    again = ScanService(app).run(ScanOptions(full=True, apply=True))
    assert again.actions.get("verified", 0) == 0, again.actions

    # someone changed the category since: restore refuses and leaves it as they set it
    labeling.modify(ws, peregrine, "someone@tessera-labs.com", [{
        "labelId": CONFIDENTIAL_LABEL, "fieldModifications": [
            {"fieldId": DATA_CATEGORY_FIELD, "setSelectionValues": [CHOICE_IDS["Internal"]]}]}])
    with pytest.raises(RestoreRefused):
        Restorer(app.settings, app.sessions, "tester").restore(action_id, reason="undo")
    assert ws.labels.on_file(peregrine)[CONFIDENTIAL_LABEL].values[DATA_CATEGORY_FIELD] == [CHOICE_IDS["Internal"]]

    # back as our action left it: restore puts the earlier category back, the label stays
    labeling.modify(ws, peregrine, "someone@tessera-labs.com", [{
        "labelId": CONFIDENTIAL_LABEL, "fieldModifications": [
            {"fieldId": DATA_CATEGORY_FIELD, "setSelectionValues": [CHOICE_IDS["Contractor PII"]]}]}])
    assert Restorer(app.settings, app.sessions, "tester").restore(action_id, reason="undo").status == "restored"
    assert ws.labels.on_file(peregrine)[CONFIDENTIAL_LABEL].values[DATA_CATEGORY_FIELD] == [
        CHOICE_IDS["Client confidential"]]
