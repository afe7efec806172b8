"""Narrowing the crawl to a user list, org units (with sub-units) or groups (nested groups expanded)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from scanner.core.errors import SharescanError
from scanner.emulator import Emulator
from scanner.emulator.seeds.demo import ADMIN, DELIVERY_GROUP, JONAS, LIAM, MAYA, PRIYA, SAM

from .conftest import full_crawl

LEADS_GROUP = "leads@tessera-labs.com"


@pytest.fixture()
def nested_group(emulator: Emulator) -> str:
    """A group whose members are a nested group (the delivery team), a user and itself (a cycle)."""
    emulator.workspace.add_group(LEADS_GROUP, "Leads", [DELIVERY_GROUP, PRIYA, LEADS_GROUP])
    return LEADS_GROUP


@pytest.mark.parametrize(("selection", "expected"), [
    ({}, {ADMIN, MAYA, LIAM, PRIYA, JONAS, SAM}),
    ({"users": [MAYA.upper()]}, {MAYA}),
    ({"org_units": ["/Delivery"]}, {LIAM}),
    ({"org_units": ["/Former staff", "/IT/"]}, {SAM, ADMIN}),
    ({"groups": [DELIVERY_GROUP]}, {MAYA, LIAM, JONAS}),
    ({"groups": [LEADS_GROUP]}, {MAYA, LIAM, JONAS, PRIYA}),
    ({"users": [ADMIN], "org_units": ["/Marketing"]}, {ADMIN, PRIYA}),
], ids=["everyone", "user-list", "org-unit", "two-units", "group", "nested-group", "any-selector"])
def test_crawl_is_narrowed_to_the_selected_users(
    emulator: Emulator, tmp_path: Path, db: sessionmaker[Session], nested_group: str,
    selection: dict[str, list[str]], expected: set[str],
) -> None:
    summary = full_crawl(emulator, tmp_path, db, **selection)
    assert {t.key for t in summary.targets if t.kind == "user"} == expected
    # shared drives are crawled once whatever the user selection
    assert len([t for t in summary.targets if t.kind == "drive"]) == 2


def test_group_listing_asks_google_to_expand_nested_groups(
    emulator: Emulator, tmp_path: Path, db: sessionmaker[Session], nested_group: str,
) -> None:
    emulator.reset_counters()
    full_crawl(emulator, tmp_path, db, groups=[nested_group])
    assert emulator.counters.get("admin.members.list") == 1


def test_an_unknown_group_is_a_clear_error(emulator: Emulator, tmp_path: Path, db: sessionmaker[Session]) -> None:
    with pytest.raises(SharescanError, match=r"\[google\] groups: no group 'nobody@tessera-labs\.com'"):
        full_crawl(emulator, tmp_path, db, groups=["nobody@tessera-labs.com"])
