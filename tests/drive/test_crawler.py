"""Full and incremental crawls of the demo workspace against the emulator (real googleapiclient)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from scanner.core.models import FileExposure
from scanner.drive.crawler import CrawlSummary
from scanner.emulator import Emulator
from scanner.emulator.seeds.demo import EXPECTED, SAM, fid
from scanner.emulator.state import mutate
from scanner.emulator.state.workspace import permission_id_for
from scanner.store.models import DriveFileRow, ScanCoverage

from .conftest import exposures

DEMO_EXPOSURE = {e.file_id: e.exposure for e in EXPECTED.values()}
EXTRA_FILES = {fid("orion_folder"): "internal"}  # in the workspace, not in EXPECTED's table


def test_full_crawl_finds_exactly_the_expected_exposure(
    crawl: Callable[..., CrawlSummary], db: sessionmaker[Session]
) -> None:
    seen: list[FileExposure] = []
    summary = crawl(full=True, on_exposed=lambda _s, e: seen.append(e))
    assert exposures(db) == {**DEMO_EXPOSURE, **EXTRA_FILES}
    assert summary.complete
    assert summary.org_domains == ("tessera-labeling.com", "tessera-labs.com")
    statuses = {t.key: t.status for t in summary.targets if t.kind == "user"}
    assert statuses[SAM] == "skipped"
    assert SAM not in summary.covered_owners
    assert summary.covered_owners == {k for k, v in statuses.items() if v == "done"}
    assert len(summary.covered_drives) == 2
    expected_exposed = {e.file_id for e in EXPECTED.values() if e.exposure != "internal"}
    assert {e.file.id for e in seen} == expected_exposed
    assert summary.files_exposed == len(expected_exposed)


def test_inherited_permissions_keep_their_ancestor(
    crawl: Callable[..., CrawlSummary], db: sessionmaker[Session]
) -> None:
    crawl(full=True)
    with db() as s:
        for key in ("kestrel_qa_notes", "kestrel_labels_csv"):
            row = s.get(DriveFileRow, fid(key))
            assert row is not None
            anyone = [p for p in row.permissions if p.type == "anyone"]
            assert [(p.inherited, p.inherited_from, p.exposure) for p in anyone] == [
                (True, fid("kestrel_folder"), "anyone_with_link")]
        row = s.get(DriveFileRow, fid("client_brief_published"))
        assert row is not None and row.published and row.exposed_since is not None


def test_incremental_on_unchanged_domain_costs_one_call_per_target(
    crawl: Callable[..., CrawlSummary], emulator: Emulator, db: sessionmaker[Session]
) -> None:
    full = crawl(full=True)
    emulator.reset_counters()
    summary = crawl(full=False)
    counters = emulator.counters
    targets = sum(1 for t in full.targets if t.status == "done")
    drives = sum(1 for t in full.targets if t.kind == "drive")
    assert counters.get("drive.changes.list") == targets
    assert counters.get("drive.revisions.list", 0) == 1  # the suspended user's one shared Sheet
    # the suspended user's files are re-listed (1 call), drives need one member lookup each
    assert counters.get("drive.files.list") == 1
    assert counters.get("drive.permissions.list") == drives
    assert summary.files_seen == 1 and summary.complete
    assert exposures(db) == {**DEMO_EXPOSURE, **EXTRA_FILES}


def test_incremental_picks_up_exactly_the_changes(
    crawl: Callable[..., CrawlSummary], emulator: Emulator, db: sessionmaker[Session]
) -> None:
    crawl(full=True)
    ws = emulator.workspace
    anyone = permission_id_for("anyone", allow_file_discovery=False)
    with ws.lock:
        # unshare a roster, share an internal brief with the world, trash a csv, publish a doc,
        # share a shared-drive file externally, and make a folder public (its child inherits).
        mutate.delete_permission(ws, fid("roster_csv"), anyone, "maya.chen@tessera-labs.com")
        mutate.add_permission(ws, fid("client_brief_internal"), "liam.novak@tessera-labs.com",
                              mutate.make_permission(ws, {"type": "anyone", "role": "reader"}))
        mutate.set_trashed(ws, fid("roster_xlsx"), "maya.chen@tessera-labs.com")
        mutate.set_published(ws, fid("offsite_recipe"), ws.files[fid("offsite_recipe")].revisions[-1].id,
                             "priya.raman@tessera-labs.com", published=True)
        mutate.add_permission(ws, fid("bluefin_kickoff"), "liam.novak@tessera-labs.com",
                              mutate.make_permission(ws, {"type": "user", "role": "reader",
                                                          "emailAddress": "someone@orion-health.org"}))
        mutate.add_permission(ws, fid("orion_folder"), "liam.novak@tessera-labs.com",
                              mutate.make_permission(ws, {"type": "domain", "role": "reader",
                                                          "domain": "orion-health.org"}))
    changed: dict[str, str] = {}
    summary = crawl(full=False, on_exposed=lambda _s, e: changed.__setitem__(e.file.id, e.widest.value))
    expected = {**DEMO_EXPOSURE, **EXTRA_FILES}
    expected[fid("roster_csv")] = "internal"
    expected[fid("client_brief_internal")] = "anyone_with_link"
    del expected[fid("roster_xlsx")]
    expected[fid("offsite_recipe")] = "published"
    expected[fid("bluefin_kickoff")] = "external_domain"
    expected[fid("orion_folder")] = "external_domain"
    assert exposures(db) == expected
    assert summary.complete
    assert changed == {
        fid("roster_csv"): "internal", fid("client_brief_internal"): "anyone_with_link",
        fid("roster_xlsx"): "internal", fid("offsite_recipe"): "published",
        fid("bluefin_kickoff"): "external_domain", fid("orion_folder"): "external_domain",
        fid("old_roster_suspended"): "anyone_with_link",  # the suspended user's files are re-listed each run
    }
    with db() as s:
        gone = s.get(DriveFileRow, fid("roster_xlsx"))
        assert gone is not None and gone.removed_at is not None and gone.exposed_since is None


def test_full_crawl_notices_deleted_files(
    crawl: Callable[..., CrawlSummary], emulator: Emulator, db: sessionmaker[Session]
) -> None:
    crawl(full=True)
    with emulator.workspace.lock:
        mutate.delete_file(emulator.workspace, fid("sow_pdf"), "liam.novak@tessera-labs.com")
        mutate.delete_file(emulator.workspace, fid("kestrel_labels_csv"), "liam.novak@tessera-labs.com")
    summary = crawl(full=True)
    assert summary.files_removed == 2
    current = exposures(db)
    assert fid("sow_pdf") not in current and fid("kestrel_labels_csv") not in current
    assert len(current) == len(DEMO_EXPOSURE) + len(EXTRA_FILES) - 2


def test_coverage_is_recorded_per_target(crawl: Callable[..., CrawlSummary], db: sessionmaker[Session]) -> None:
    summary = crawl(full=True)
    with db() as s:
        rows = s.query(ScanCoverage).filter(ScanCoverage.run_id == summary.run_id).all()
        assert len(rows) == len(summary.targets) == 8
        by_status = sorted(r.status for r in rows)
        assert by_status == ["done"] * 7 + ["skipped"]
        assert sum(r.files_seen for r in rows) == summary.files_seen == 26
        assert all(r.api_calls > 0 for r in rows)
        # every listed file was classified: nothing skipped or failed (a shared-drive publish check
        # that 404s would show here)
        assert [(r.files_skipped, r.files_failed) for r in rows] == [(0, 0)] * 8
        skipped = next(r for r in rows if r.status == "skipped")
        assert skipped.reasons["target"].startswith("suspended")


def test_a_doc_published_in_a_shared_drive_is_found(
    crawl: Callable[..., CrawlSummary], emulator: Emulator, db: sessionmaker[Session]
) -> None:
    with emulator.workspace.lock:
        doc = emulator.workspace.files[fid("bluefin_kickoff")]
        mutate.set_published(emulator.workspace, doc.id, doc.revisions[-1].id, "liam.novak@tessera-labs.com",
                             published=True, publish_auto=True, published_outside_domain=True)
    crawl(full=True)
    assert exposures(db)[fid("bluefin_kickoff")] == "published"
    with db() as s:
        row = s.get(DriveFileRow, fid("bluefin_kickoff"))
        assert row is not None and row.published and row.drive_id is not None


def test_full_then_incremental_on_every_backend(
    settings: object, clients: object, sessions: sessionmaker[Session], emulator: Emulator
) -> None:
    """The same crawl on SQLite and PostgreSQL (the `sessions` fixture is parametrised)."""
    from scanner.drive.crawler import Crawler

    from .conftest import finish_run, new_run

    for full in (True, False):
        run_id = new_run(sessions, "full" if full else "incremental")
        summary = Crawler(settings, clients, sessions).run(run_id, full=full)  # type: ignore[arg-type]
        finish_run(sessions, run_id)
        assert summary.complete
        if full:
            with emulator.workspace.lock:
                mutate.delete_file(emulator.workspace, fid("deploy_notes_txt"), "jonas.weber@tessera-labs.com")
    expected = {**DEMO_EXPOSURE, **EXTRA_FILES}
    del expected[fid("deploy_notes_txt")]
    assert exposures(sessions) == expected


def test_progress_is_reported(settings: object, clients: object, db: sessionmaker[Session]) -> None:
    from scanner.drive.crawler import Crawler, CrawlProgress, CrawlProgressSnapshot

    from .conftest import new_run

    snaps: list[CrawlProgressSnapshot] = []

    class Collect(CrawlProgress):
        def update(self, snapshot: CrawlProgressSnapshot) -> None:
            snaps.append(snapshot)

    Crawler(settings, clients, db, progress=Collect()).run(new_run(db), full=True)  # type: ignore[arg-type]
    last = snaps[-1]
    assert (last.targets_total, last.targets_done, last.users_done, last.drives_done) == (8, 8, 6, 2)
    assert (last.files_seen, last.files_exposed) == (26, 21) and last.api_calls > 0


def test_shared_drive_permissions_past_the_first_page_are_read(
    crawl: Callable[..., CrawlSummary], emulator: Emulator, db: sessionmaker[Session]
) -> None:
    ws = emulator.workspace
    with ws.lock:
        # 120 internal reviewers, then one outsider: the outsider is on permissions.list page 2
        for i in range(120):
            mutate.add_permission(ws, fid("bluefin_kickoff"), "liam.novak@tessera-labs.com",
                                  mutate.make_permission(ws, {"type": "user", "role": "reader",
                                                              "emailAddress": f"reviewer{i}@tessera-labs.com"}))
        mutate.add_permission(ws, fid("bluefin_kickoff"), "liam.novak@tessera-labs.com",
                              mutate.make_permission(ws, {"type": "user", "role": "reader",
                                                          "emailAddress": "someone@orion-health.org"}))
    summary = crawl(full=True)
    assert summary.complete
    with db() as s:
        row = s.get(DriveFileRow, fid("bluefin_kickoff"))
        assert row is not None
        # 3 inherited drive members + 121 direct: permissions.list pages at 100 in a shared drive
        assert (row.exposure, len(row.permissions)) == ("external_user", 124)


def test_forms_responders_and_limited_access_folders_are_crawled(
    crawl: Callable[..., CrawlSummary], emulator: Emulator, db: sessionmaker[Session]
) -> None:
    from scanner.emulator.seeds.builder import anyone_perm, make_file
    from scanner.emulator.seeds.demo import LIAM, MAYA
    from scanner.emulator.state.model import FOLDER, FORM

    ws = emulator.workspace
    form, limited, inside = fid("crawl_form"), fid("crawl_limited"), fid("crawl_inside")
    with ws.lock:
        responders = anyone_perm()
        responders.view, responders.id = "published", responders.id + "Published"
        make_file(ws, fid=form, name="Sign-up form", mime=FORM, owner=MAYA, created="2026-01-01T00:00:00.000Z",
                  perms=[responders])
        make_file(ws, fid=limited, name="Limited", mime=FOLDER, owner=MAYA, created="2026-01-01T00:00:00.000Z",
                  parents=[fid("recruiting_folder")])
        make_file(ws, fid=inside, name="notes.txt", mime="text/plain", owner=MAYA, content=b"x",
                  created="2026-01-01T00:00:00.000Z", parents=[limited])
        mutate.set_limited_access(ws, limited, LIAM, True)
    emulator.reset_counters()
    crawl(full=True)
    with db() as s:
        row = s.get(DriveFileRow, form)
        assert row is not None and row.exposure == "published"
        assert [(p.permission_id, p.exposure) for p in row.permissions if p.type == "anyone"] == [
            ("anyoneWithLinkPublished", "published")]
        folder, file = s.get(DriveFileRow, limited), s.get(DriveFileRow, inside)
        assert folder is not None and folder.inherited_permissions_disabled and folder.exposure == "internal"
        assert file is not None and file.exposure == "internal"  # Recruiting's anyone link stops at the folder
    # responders are read with permissions.list (files.list never lists them): one call for the one form
    assert emulator.counters.get("drive.permissions.list", 0) >= 1
