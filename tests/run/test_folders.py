"""Exposing folders end to end on the demo workspace (real googleapiclient against the emulator): folder
findings and their fixes, descendants re-read when only the folder shows in the Changes feed, over-limit
folder fixes applied by a person, limited access and its exact restore, attribution, quiet nights."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import func, select

from scanner.cli.main import cli
from scanner.emulator.seeds.builder import user_perm
from scanner.emulator.seeds.demo import CLIENT_DELIVERY, FAKE_AWS_KEY, LIAM, MAYA, fid
from scanner.emulator.state import mutate
from scanner.run import ScanOptions, ScanService
from scanner.store.models import AuditEvent, Finding, RemediationAction

RECRUITING, KESTREL = fid("recruiting_folder"), fid("kestrel_folder")
SHORTLIST, QA_NOTES, LABELS = fid("candidate_shortlist"), fid("kestrel_qa_notes"), fid("kestrel_labels_csv")
FOLDER_RULE = "public-folder-sensitive"


def counts(app) -> tuple[int, int]:
    """(remediation action rows, audit events)."""
    with app.sessions() as s:
        return (int(s.scalar(select(func.count()).select_from(RemediationAction)) or 0),
                int(s.scalar(select(func.count()).select_from(AuditEvent)) or 0))


def findings_of(app, file_id: str) -> dict[str, Finding]:
    with app.sessions() as s:
        return {f.rule_id: f for f in s.scalars(select(Finding).where(Finding.file_id == file_id))}


def toml(data: dict, prefix: str = "") -> str:
    """The app's settings as a config file (enough of TOML for them: strings, numbers, booleans, lists)."""
    def value(v: object) -> str:
        return json.dumps(v) if not isinstance(v, bool) else str(v).lower()

    lines = [f"[{prefix}]"] if prefix else []
    lines += [f"{k} = {value(v)}" for k, v in data.items() if not isinstance(v, dict) and v is not None]
    for k, v in data.items():
        if isinstance(v, dict):
            lines.append(toml(v, f"{prefix}.{k}" if prefix else k))
    return "\n".join(lines) + "\n"


def cli_run(app, *args: str, **kw) -> str:
    """A sharescan command with the app's own settings."""
    config = app.settings.evidence_key_path.parent.parent / "cli.toml"  # the test's own directory
    config.write_text(toml(app.settings.model_dump()))
    result = CliRunner().invoke(cli, ["--config", str(config), *args],
                                env={"SHARESCAN_DATABASE_URL": app.settings.database_url}, **kw)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_exposing_folders_are_findings_fixed_with_their_children_then_quiet(make_app, emulator) -> None:
    app = make_app(remediation={"mode": "enforce"})
    first = ScanService(app).run(ScanOptions(full=True))
    assert first.status == "completed" and first.remediation_refused is None
    recruiting, kestrel = findings_of(app, RECRUITING)[FOLDER_RULE], findings_of(app, KESTREL)[FOLDER_RULE]
    # as severe as the worst sensitive file below, with counts and blast radius
    assert (recruiting.severity, kestrel.severity) == ("critical", "high")
    assert recruiting.blast_radius == {"descendants": 1, "sensitive_descendants": 1, "losing_access": 1,
                                       "internal_collaborators": 0}
    assert kestrel.blast_radius == {"descendants": 2, "sensitive_descendants": 2, "losing_access": 2,
                                    "internal_collaborators": 0}
    # fixed on the folder (narrowed to the domain), and the children closed as remediated with it
    assert (recruiting.status, kestrel.status) == ("remediated", "remediated")
    for child in (SHORTLIST, QA_NOTES, LABELS):
        by_rule = findings_of(app, child)
        assert {f.status for f in by_rule.values()} == {"remediated"}, (child, by_rule)
        assert {f.folder_finding_id for f in by_rule.values()} <= {recruiting.id, kestrel.id}
    ws = emulator.workspace
    for folder in (RECRUITING, KESTREL):
        assert {(p.type, p.domain) for p in ws.files[folder].permissions} == {("domain", "tessera-labs.com")}
    # the children's own actions did not touch them: the folder was the fix
    assert not [e for e in emulator.events if e["fileId"] in (SHORTLIST, QA_NOTES, LABELS)]

    shown = json.loads(cli_run(app, "findings", "show", str(kestrel.id), "--format", "json"))
    assert shown["blast_radius"]["sensitive_descendants"] == 2
    before, events = counts(app), len(emulator.events)
    second = ScanService(app).run(ScanOptions(full=False))
    assert second.status == "completed" and second.actions == {}
    assert counts(app) == before, "an unchanged night recorded actions or audit events"
    assert len(emulator.events) == events


def test_a_folder_change_listed_alone_re_evaluates_what_lies_below(make_app, emulator) -> None:
    app = make_app()  # dry-run: the folder is fixed by hand
    ScanService(app).run(ScanOptions(full=True))
    assert {f.status for f in findings_of(app, SHORTLIST).values()} == {"open"}
    ws = emulator.workspace
    with ws.lock:
        ws.report_descendant_changes = False  # the Changes feed will list the folder, not the shortlist
        mutate.delete_permission(ws, RECRUITING, "anyoneWithLink", MAYA)
    result = ScanService(app).run(ScanOptions(full=False))
    assert result.status == "completed" and result.descendants_refreshed == 1
    assert {f.status for f in findings_of(app, SHORTLIST).values()} == {"resolved"}
    assert findings_of(app, RECRUITING)[FOLDER_RULE].status == "resolved"


def test_a_folder_fix_over_the_limit_waits_for_a_person(make_app, emulator, tmp_path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    # only the folder rule and a notify-only file rule: the folder fix is the run's one change
    (rules / "folder.yaml").write_text((RULES / "public-folder-sensitive.yaml").read_text())
    (rules / "notes.yaml").write_text(
        "id: kestrel-notes\ntitle: KESTREL material shared with anyone\nseverity: high\n"
        "when:\n  exposure: [anyone_with_link]\n  shared_drive: true\n"
        "content:\n  any:\n    - detector: client_codename\nactions:\n  - notify: owner\nauto: true\n")
    app = make_app(remediation={"mode": "enforce", "max_actions_per_run": 2},
                   rules={"include_builtin": False, "directories": [str(rules)],
                          "dictionaries": [str(RULES / "dictionaries" / "client_codenames.txt")]})
    ScanService(app).run(ScanOptions(full=True))
    kestrel = findings_of(app, KESTREL)[FOLDER_RULE]
    with app.sessions() as s:
        [held] = s.scalars(select(RemediationAction).where(RemediationAction.finding_id == kestrel.id,
                                                           RemediationAction.action == "downgrade")).all()
    assert held.status == "over_limit" and "changes access to 3 items (2 below it lose access" in held.detail
    assert any(p.type == "anyone" for p in emulator.workspace.files[KESTREL].permissions)  # nothing changed
    ScanService(app).run(ScanOptions(full=False))  # the next night: still held, not recorded again
    with app.sessions() as s:
        assert s.scalar(select(func.count()).select_from(RemediationAction)
                        .where(RemediationAction.status == "over_limit")) == 1
    cli_run(app, "remediate", str(kestrel.id), "--apply")  # a person applies it by name
    assert not any(p.type == "anyone" for p in emulator.workspace.files[KESTREL].permissions)
    assert findings_of(app, KESTREL)[FOLDER_RULE].status == "remediated"
    assert {f.status for f in findings_of(app, QA_NOTES).values()} == {"remediated"}


def test_limited_access_on_a_shared_drive_folder_and_its_exact_restore(make_app, emulator) -> None:
    ws = emulator.workspace
    orion, kickoff = fid("orion_folder"), fid("bluefin_kickoff")
    with ws.lock:  # an outside consultant becomes a member of Client Delivery: everything in it is exposed
        ws.drives[CLIENT_DELIVERY].members.append(user_perm(ws, "r.alvarez.consult@gmail.com", "reader"))
        ws.touch()
    app = make_app()
    ScanService(app).run(ScanOptions(full=True))
    folder = findings_of(app, orion)["external-shared-drive-folder"]
    assert folder.status == "open" and folder.blast_radius is not None
    # the folder and the kickoff notes lose the inherited access; of the members only Priya (a reader) is
    # internal and not an organizer (organizers keep access to limited folders)
    assert folder.blast_radius["losing_access"] == 2 and folder.blast_radius["internal_collaborators"] == 1
    permissions_before = sorted((p.perm.id, p.role) for p in ws.effective_permissions(ws.files[kickoff]))
    cli_run(app, "remediate", str(folder.id), "--apply")
    assert ws.files[orion].inherited_permissions_disabled is True
    assert [e["actor"] for e in emulator.events if e["kind"] == "file.inheritedPermissionsDisabled"] == [LIAM]
    member_ids = {p.perm.id for p in ws.effective_permissions(ws.files[kickoff])}
    assert user_perm(ws, "r.alvarez.consult@gmail.com").id not in member_ids
    assert {f.status for f in findings_of(app, kickoff).values()} == {"remediated"}
    with app.sessions() as s:
        [action] = s.scalars(select(RemediationAction).where(RemediationAction.action == "limit_access",
                                                             RemediationAction.mode == "enforce")).all()
    assert action.status == "verified" and action.target_file_id == orion
    out = cli_run(app, "restore", str(action.id), "--reason", "consultant needs the kickoff notes", "--yes")
    assert "inherits its permissions again" in out
    assert ws.files[orion].inherited_permissions_disabled is False
    assert sorted((p.perm.id, p.role) for p in ws.effective_permissions(ws.files[kickoff])) == permissions_before


def test_a_second_finding_fixed_by_the_same_unpublish_is_remediated_not_resolved(make_app, emulator) -> None:
    brief = fid("client_brief_published")  # KESTREL brief published to the web; now with a key in it too
    with emulator.workspace.lock:
        emulator.workspace.files[brief].native.text += f"\naws_access_key_id = {FAKE_AWS_KEY}\n"
    app = make_app(remediation={"mode": "enforce"})
    ScanService(app).run(ScanOptions(full=True))
    found = findings_of(app, brief)
    assert set(found) == {"exposed-credentials", "public-client-confidential"}
    assert {f.status for f in found.values()} == {"remediated"}
    ScanService(app).run(ScanOptions(full=False))
    assert {f.status for f in findings_of(app, brief).values()} == {"remediated"}
    with app.sessions() as s:
        resolved = s.scalars(select(AuditEvent).where(AuditEvent.event_type == "finding.resolved")).all()
    assert not [e for e in resolved if e.data["file_id"] == brief]


RULES = __import__("pathlib").Path(__file__).resolve().parents[2] / "rules"


def test_a_folder_finding_closes_the_night_its_last_sensitive_file_stops_being_sensitive(make_app, emulator) -> None:
    app = make_app()
    ScanService(app).run(ScanOptions(full=True))
    assert findings_of(app, RECRUITING)[FOLDER_RULE].status == "open"
    with emulator.workspace.lock:  # the shortlist is emptied of names: nothing sensitive below the folder
        mutate.edit_content(emulator.workspace, SHORTLIST, MAYA, sheets=[("Shortlist", [["Role", "Openings"],
                                                                                       ["Labeler", 4]])])
    ScanService(app).run(ScanOptions(full=False))
    assert {f.status for f in findings_of(app, SHORTLIST).values() if f.rule_id != "public-file-inventory"} == {
        "resolved"}
    assert findings_of(app, RECRUITING)[FOLDER_RULE].status == "resolved"
