"""[google] expand_groups: an organisation group with a member outside it (directly or through a nested
group) makes the files shared with it external_group sharing; membership is read once per group per run."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from scanner.core.exposure import classify_permission
from scanner.core.models import Exposure, Permission
from scanner.emulator import Emulator
from scanner.emulator.seeds.builder import group_perm
from scanner.emulator.seeds.demo import DELIVERY_GROUP, MAYA, fid
from scanner.emulator.state import mutate

from .conftest import exposures, full_crawl

ORG = frozenset({"tessera-labs.com"})
VENDORS = "vendors@tessera-labs.com"  # a contractor outside the domain is a member
ALL_STAFF = "all-staff@tessera-labs.com"  # holds the vendors group: external through nesting
INTERNAL_DOC = "client_brief_internal"  # "Client brief — KESTREL (internal copy)", shared with the delivery team


@pytest.mark.parametrize(("email", "outside", "expected"), [
    ("team@tessera-labs.com", frozenset(), Exposure.INTERNAL),
    ("team@tessera-labs.com", frozenset({"team@tessera-labs.com"}), Exposure.EXTERNAL_GROUP),
    ("Team@Tessera-Labs.com", frozenset({"team@tessera-labs.com"}), Exposure.EXTERNAL_GROUP),
    ("club@gmail.com", frozenset(), Exposure.EXTERNAL_GROUP),
])
def test_classify_group_permission(email: str, outside: frozenset[str], expected: Exposure) -> None:
    perm = Permission(id="g", type="group", role="reader", email_address=email)
    assert classify_permission(perm, ORG, outside) is expected


@pytest.fixture()
def groups_with_outsiders(emulator: Emulator) -> None:
    ws = emulator.workspace
    with ws.lock:
        ws.add_group(VENDORS, "Vendors", [MAYA, "labeler.one@partner-studio.example"])
        ws.add_group(ALL_STAFF, "All staff", [DELIVERY_GROUP, VENDORS])
        mutate.add_permission(ws, fid(INTERNAL_DOC), MAYA, group_perm(ws, ALL_STAFF))
        mutate.add_permission(ws, fid("roster_sheet"), MAYA, group_perm(ws, ALL_STAFF))


def test_a_group_with_outside_members_is_external_sharing(
    emulator: Emulator, tmp_path: Path, db: sessionmaker[Session], groups_with_outsiders: None,
) -> None:
    emulator.reset_counters()
    full_crawl(emulator, tmp_path, db, expand_groups=True)
    found = exposures(db)
    assert found[fid(INTERNAL_DOC)] == "external_group"
    # the delivery team itself is all staff: sharing with it stays internal
    assert found[fid("orion_folder")] == "internal"
    # one members.list per organisation group seen on a file, however many files it is on
    assert emulator.counters.get("admin.members.list") == 2  # all-staff and the delivery team


def test_without_expand_groups_organisation_groups_are_internal(
    emulator: Emulator, tmp_path: Path, db: sessionmaker[Session], groups_with_outsiders: None,
) -> None:
    emulator.reset_counters()
    full_crawl(emulator, tmp_path, db)
    found = exposures(db)
    assert found[fid(INTERNAL_DOC)] == "internal"
    assert emulator.counters.get("admin.members.list", 0) == 0
