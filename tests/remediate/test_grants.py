"""Remediation compares core grants: the live permission the connector read (Drive JSON) and the one the
finding recorded (core's own shape) become ``Permission`` s before they are compared."""

from __future__ import annotations

from scanner.core.models import Permission
from scanner.remediate.actions import differences, grant, is_inherited_only, principal_key

LIVE = {"id": "anyoneWithLink", "type": "anyone", "role": "reader", "allowFileDiscovery": False,
        "permissionDetails": [{"permissionType": "file", "role": "reader", "inherited": False}]}
RECORDED = {"id": "anyoneWithLink", "type": "anyone", "role": "reader", "email_address": None, "domain": None,
            "allow_file_discovery": False, "expiration_time": None, "inherited": False, "inherited_from": None,
            "exposure": "anyone_with_link", "principal": "anyone"}


def test_a_live_permission_matches_what_the_finding_recorded() -> None:
    assert differences(grant(LIVE), Permission.from_record(RECORDED)) == []


def test_each_change_since_the_scan_is_named() -> None:
    recorded = Permission.from_record(RECORDED)
    assert differences(grant({**LIVE, "role": "writer"}), recorded) == ["role reader -> writer"]
    assert differences(grant({**LIVE, "allowFileDiscovery": True}), recorded) == ["allowFileDiscovery False -> True"]
    user = grant({"id": "u", "type": "user", "role": "reader", "emailAddress": "Ann@Example.org"})
    assert principal_key(user) == ("user", "ann@example.org")
    assert differences(user, Permission.from_record({**RECORDED, "type": "user", "email_address": "bob@example.org"})) \
        == ["principal ('user', 'bob@example.org') -> ('user', 'ann@example.org')"]


def test_inherited_only_is_read_from_the_grants_details() -> None:
    inherited = {**LIVE, "permissionDetails": [{"inherited": True, "inheritedFrom": "F0"}]}
    both = {**LIVE, "permissionDetails": [{"inherited": True, "inheritedFrom": "F0"}, {"inherited": False}]}
    assert is_inherited_only(inherited) and grant(inherited).inherited_from == "F0"
    assert not is_inherited_only(both) and not is_inherited_only(LIVE)
    assert not is_inherited_only({"id": "x", "type": "anyone", "role": "reader"})  # no details: set on the item
