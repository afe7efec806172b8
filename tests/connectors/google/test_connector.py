"""GoogleConnector through the Connector protocol, against the emulator (real googleapiclient over HTTP)."""

from __future__ import annotations

from scanner.config import Settings
from scanner.connectors.base import Capability, Connector, Target
from scanner.connectors.google.client import GoogleClients
from scanner.connectors.google.connector import GoogleConnector
from scanner.core.models import GOOGLE
from scanner.core.unread import ReadFailure
from scanner.emulator import Emulator
from scanner.emulator.seeds.demo import ADMIN, LIAM, MAYA, PRIYA, SAM, fid
from scanner.emulator.state import mutate
from scanner.emulator.state.workspace import permission_id_for


def _connector(settings: Settings, clients: GoogleClients) -> GoogleConnector:
    return GoogleConnector(settings, clients)


def _owned(emulator: Emulator, owner: str) -> set[str]:
    ws = emulator.workspace
    with ws.lock:
        return {f.id for f in ws.files.values() if f.owner == owner and not f.trashed and not f.drive_id}


def test_it_is_a_connector_with_googles_capabilities(settings: Settings, clients: GoogleClients) -> None:
    connector = _connector(settings, clients)
    assert isinstance(connector, Connector)
    assert connector.provider == GOOGLE
    assert Capability.PUBLISH_TO_WEB in connector.capabilities
    assert Capability.CHANGE_FEED in connector.capabilities


def test_discover_targets_lists_users_with_skip_reasons_and_shared_drives(
        settings: Settings, clients: GoogleClients, emulator: Emulator) -> None:
    targets = _connector(settings, clients).discover_targets()
    users = {t.key: t for t in targets if t.kind == "user"}
    drives = {t.key for t in targets if t.kind == "drive"}
    assert {MAYA, LIAM, PRIYA, SAM} <= set(users)
    assert users[SAM].skip_reason == "suspended"
    assert users[MAYA].skip_reason is None
    with emulator.workspace.lock:
        assert drives == set(emulator.workspace.drives)


def test_crawl_gives_every_owned_item_with_its_grants_and_resumes_from_a_cursor(
        settings: Settings, clients: GoogleClients, emulator: Emulator) -> None:
    connector = _connector(settings, clients)
    pages = list(connector.crawl(Target("user", MAYA, MAYA), None))
    items = {i.id: i for page in pages for i in page.items}
    assert set(items) == _owned(emulator, MAYA)
    assert pages[-1].next_cursor is None
    assert all(i.provider == GOOGLE for i in items.values())
    assert "anyone" in {p.principal for p in items[fid("roster_csv")].permissions}


def test_shared_drive_items_get_their_grants_from_permissions_list(
        settings: Settings, clients: GoogleClients, emulator: Emulator) -> None:
    connector = _connector(settings, clients)
    drive_id = emulator.workspace.files[fid("bluefin_kickoff")].drive_id
    assert drive_id is not None
    items = {i.id: i for page in connector.crawl(Target("drive", drive_id), None) for i in page.items}
    assert fid("bluefin_kickoff") in items
    assert items[fid("bluefin_kickoff")].drive_id == drive_id
    assert items[fid("bluefin_kickoff")].permissions  # the drive's members, read with permissions.list


def test_change_feed_reports_changed_items_as_they_are_now_and_removals(
        settings: Settings, clients: GoogleClients, emulator: Emulator) -> None:
    connector = _connector(settings, clients)
    target = Target("user", MAYA, MAYA)
    cursor = connector.change_cursor(target)
    ws = emulator.workspace
    with ws.lock:
        mutate.delete_permission(ws, fid("roster_csv"), permission_id_for("anyone", allow_file_discovery=False), MAYA)
        mutate.set_trashed(ws, fid("roster_xlsx"), MAYA)
    pages = list(connector.changes(target, cursor))
    changes = {c.item_id: c for p in pages for c in p.changes}
    assert changes[fid("roster_xlsx")].removed
    roster = changes[fid("roster_csv")].item
    assert roster is not None and "anyone" not in {p.principal for p in roster.permissions}
    assert pages[-1].new_start_cursor
    assert list(connector.changes(target, pages[-1].new_start_cursor))[0].changes == ()


def test_crawl_reads_the_publish_state_of_editor_files(
        settings: Settings, clients: GoogleClients, emulator: Emulator) -> None:
    ws = emulator.workspace
    doc = ws.files[fid("offsite_recipe")]
    owner = doc.owner
    assert owner is not None
    connector = _connector(settings, clients)

    def published() -> bool:
        items = {i.id: i for p in connector.crawl(Target("user", owner, owner), None) for i in p.items}
        return items[doc.id].published

    assert not published()
    with ws.lock:
        mutate.set_published(ws, doc.id, doc.revisions[-1].id, owner, published=True)
    assert published()


def test_identities_and_content(settings: Settings, clients: GoogleClients, emulator: Emulator) -> None:
    connector = _connector(settings, clients)
    roster = next(i for p in connector.crawl(Target("user", MAYA, MAYA), None) for i in p.items
                  if i.id == fid("roster_csv"))
    assert list(connector.identities_for(roster)) == [MAYA, ADMIN]
    whole = connector.fetch_content(roster, as_identity=MAYA, max_bytes=1 << 20)
    assert whole.ok and whole.data == emulator.workspace.files[roster.id].content and not whole.truncated
    capped = connector.fetch_content(roster, as_identity=MAYA, max_bytes=10)
    assert capped.truncated and capped.data == whole.data[:10]
    stranger = connector.fetch_content(roster, as_identity=SAM, max_bytes=100)  # suspended: cannot act as
    assert not stranger.ok and stranger.denied and stranger.failure is ReadFailure.NO_READER


def test_sharing_on_neutral_grants(settings: Settings, clients: GoogleClients, emulator: Emulator) -> None:
    ops = _connector(settings, clients).sharing(MAYA)
    file_id = fid("roster_csv")
    grants = {g.principal: g for g in ops.list_grants(file_id)}
    anyone = grants["anyone"]
    assert anyone.role == "reader"
    assert ops.set_role(file_id, anyone.id, "commenter").role == "commenter"
    assert ops.remove_grant(file_id, anyone.id) is True
    assert ops.remove_grant(file_id, anyone.id) is False  # already gone
    assert "anyone" not in {g.principal for g in ops.list_grants(file_id)}
    with emulator.workspace.lock:
        assert all(p.type != "anyone" for p in emulator.workspace.files[file_id].permissions)
