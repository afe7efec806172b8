"""kill -9 at each step of a remediation action, then the next scan: the result is what an
uninterrupted run gives — every fix ``remediated`` (never ``resolved``), each change in Drive made
once, each change told to its owner exactly once — and the action rows and the audit log say what
happened.

The scanner runs as a real ``sharescan scan --full --apply`` process; the emulator kills it with
SIGKILL on a chosen request (``kill_before``: the change is not made; ``kill_after``: it is made and
the answer never arrives). The demo's roster sheet is also published to the web first, so its
finding takes two Drive changes (revoke the link, unpublish).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from scanner.app import App
from scanner.demo import demo_settings, webhook_receiver
from scanner.emulator import Emulator, FaultRule, ServiceAccountKey
from scanner.emulator.seeds.demo import fid
from scanner.emulator.state import mutate
from scanner.run import ScanOptions, ScanService
from scanner.store.audit import verify_chain
from scanner.store.models import AuditEvent, Finding, Notification, RemediationAction, RemediationStep

ROSTER = fid("roster_sheet")
NEXT_STEP = fid("deploy_notes_txt")  # the finding remediated right after the roster sheet's
CHANGE_EVENTS = ("permission.deleted", "permission.created", "revision.unpublished")


def publish_roster(emulator: Emulator) -> None:
    ws = emulator.workspace
    with ws.lock:
        f = ws.files[ROSTER]
        mutate.set_published(ws, ROSTER, f.revisions[-1].id, f.owner or "system", published=True,
                             published_outside_domain=True)


def overrides(webhook: str) -> dict[str, dict[str, object]]:
    return {"notifications": {"channels": ["webhook"], "webhook": {"url": webhook}},
            "remediation": {"mode": "dry-run", "max_actions_share": 1.0, "max_actions_per_run": 50},
            "detect": {"nlp": "pattern-only"}, "limits": {"workers": 1, "max_retries": 1}}


@dataclass(frozen=True)
class Outcome:
    statuses: dict[str, str]  # finding fingerprint → workflow status
    told: Counter[tuple[str, str]]  # (file id, change line) → times it was in a notice
    changes: Counter[tuple[str, str]]  # (event kind, file id) → times Drive changed it
    messages: int  # webhook messages received
    notifications: int  # outbox rows


def outcome(app: App, emulator: Emulator, messages: int) -> Outcome:
    with app.sessions() as s:
        statuses = {f.fingerprint: f.status for f in s.scalars(select(Finding))}
        told: Counter[tuple[str, str]] = Counter()
        rows = list(s.scalars(select(Notification)))
        for n in rows:
            for item in n.payload.get("items", []):
                for line in item.get("changes", []):
                    told[(item["file_id"], line)] += 1
    changes = Counter((e["kind"], e["fileId"]) for e in emulator.events if e["kind"] in CHANGE_EVENTS)
    return Outcome(statuses, told, changes, messages, len(rows))


@pytest.fixture(scope="module")
def reference(sa_key: ServiceAccountKey, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    """The same first enforce scan and second scan, never interrupted."""
    tmp = tmp_path_factory.mktemp("reference")
    with Emulator(seed="demo", key=sa_key) as emu, webhook_receiver() as inbox:
        publish_roster(emu)
        key = emu.write_key_file(tmp / "key.json")
        settings = demo_settings(tmp, emu.endpoint, key).with_overrides(**overrides(inbox.url))
        app = App(settings, actor="tester@tessera-labs.com")
        app.init_database()
        try:
            ScanService(app).run(ScanOptions(full=True, apply=True))
            ScanService(app).run(ScanOptions(full=False, apply=True))
            yield outcome(app, emu, len(inbox.messages))
        finally:
            app.close()


def write_config(app: App, path: Path) -> None:
    s = app.settings
    path.write_text(
        "[organisation]\n"
        f'domains = ["{s.organisation.domains[0]}"]\n'
        "[google]\n"
        f'service_account_file = "{s.google.service_account_file}"\n'
        f'remediation_service_account_file = "{s.google.remediation_service_account_file}"\n'
        f'admin_subject = "{s.google.admin_subject}"\nendpoint = "{s.google.endpoint}"\n'
        f'[database]\nurl = "{s.database.url}"\n'
        f'[detect]\nkey_file = "{s.detect.key_file}"\nnlp = "pattern-only"\n'
        f'[audit]\nkey_file = "{s.audit_key_path}"\nanchor_path = "{s.anchor_dir}"\n'
        "[limits]\nworkers = 1\nmax_retries = 1\n"
        "[remediation]\nmode = \"dry-run\"\nmax_actions_share = 1.0\nmax_actions_per_run = 50\n"
        "[notifications]\nchannels = [\"webhook\"]\n"
        f'[notifications.webhook]\nurl = "{s.notifications.webhook.url}"\n',
        encoding="utf-8")


@dataclass(frozen=True)
class KillPoint:
    rule: FaultRule
    #: What reconciliation must have found for the action the kill interrupted (None: no action was).
    reconciled: str | None


def kill_points(pid: int) -> dict[str, KillPoint]:
    roster_perm = f"*/files/{ROSTER}/permissions/*"
    return {
        # The intent is committed; the delete never reaches Drive.
        "after intent": KillPoint(FaultRule("drive.permissions.delete", kind="kill_before", path=roster_perm,
                                            pid=pid), "not_applied"),
        # Drive removed the link; the process never learnt it.
        "after the Drive call": KillPoint(FaultRule("drive.permissions.delete", kind="kill_after",
                                                    path=roster_perm, pid=pid), "applied"),
        # The revoke is recorded verified; the unpublish (2nd action) has not started, the step is open.
        # (The roster's 1st revisions.list is the crawl's publish check, the 2nd the unpublish's re-read.)
        "after recording, before notify": KillPoint(FaultRule("drive.revisions.list", sequence=["ok", "kill_before"],
                                                              path=f"*/files/{ROSTER}/revisions*", pid=pid), None),
        # The roster's step is finished (remediated, notice queued); the next finding's re-read is killed.
        "between actions": KillPoint(FaultRule("drive.permissions.get", kind="kill_before",
                                               path=f"*/files/{NEXT_STEP}/permissions/*", pid=pid), None),
    }


@pytest.mark.parametrize("point", ["after intent", "after the Drive call", "after recording, before notify",
                                   "between actions"])
def test_kill_9_at_each_step_of_an_action_ends_as_an_uninterrupted_run(
        make_app, emulator: Emulator, tmp_path: Path, reference: Outcome, point: str) -> None:
    with webhook_receiver() as inbox:
        publish_roster(emulator)
        app = make_app(**overrides(inbox.url))
        config = tmp_path / "sharescan.toml"
        write_config(app, config)
        proc = subprocess.Popen([sys.executable, "-m", "scanner.cli.main", "--config", str(config), "scan", "--full",
                                 "--apply", "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env={**os.environ, "SHARESCAN_DATA_DIR": str(tmp_path / "data")})
        kill = kill_points(proc.pid)[point]
        emulator.set_faults([kill.rule])
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == -9, (proc.returncode, out.decode(), err.decode()[-3000:])
        assert kill.rule.fired >= 1
        emulator.set_faults([])
        with app.sessions() as s:
            assert s.scalars(select(RemediationStep).where(RemediationStep.status == "started")).first() is not None
        assert not inbox.messages  # the killed run never reached delivery

        second = ScanService(app).run(ScanOptions(full=False, apply=True))
        assert second.status == "completed"
        got = outcome(app, emulator, len(inbox.messages))

    with app.sessions() as s:
        assert not s.scalars(select(RemediationAction).where(RemediationAction.status == "started")).all()
        assert not s.scalars(select(RemediationStep).where(RemediationStep.status == "started")).all()
        reconciled = [e.data for e in s.scalars(select(AuditEvent).where(
            AuditEvent.event_type == "remediation.reconciled").order_by(AuditEvent.id))]
        assert verify_chain(s).ok
        assert all(n.status == "sent" and n.attempts == 1 for n in s.scalars(select(Notification)))
    assert [(e["file_id"], e["outcome"]) for e in reconciled] == (
        [(ROSTER, kill.reconciled)] if kill.reconciled else [])
    assert second.reconciled == ({kill.reconciled: 1} if kill.reconciled else {})
    # The same end as an uninterrupted run: every fix remediated (none resolved), each change made in
    # Drive once, each change told to its owner exactly once, every message delivered once.
    assert got.statuses == reference.statuses
    assert got.changes == reference.changes
    assert set(got.told) == set(reference.told)
    assert max(got.told.values()) == 1, got.told
    assert got.messages == got.notifications
