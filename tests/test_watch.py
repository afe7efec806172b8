"""Which Drive audit events make ``sharescan watch`` scan a file (scanner.watch, the pure part)."""

from __future__ import annotations

import datetime as dt

from scanner.connectors.google.reports import AuditRecord, ParamValue
from scanner.watch import exposed_files, is_exposing

T0 = dt.datetime(2026, 11, 29, 10, 0, tzinfo=dt.UTC)


def event(name: str, minutes: int = 0, doc: str = "F", **params: ParamValue) -> AuditRecord:
    base: dict[str, ParamValue] = {"doc_id": doc, "owner": "liam@tessera-labs.com", "owner_is_shared_drive": False}
    base.update(params)
    return AuditRecord(time=T0 + dt.timedelta(minutes=minutes), unique_id=str(minutes), actor_email="liam@x.com",
                       actor_kind="user", type="acl_change", name=name, params=tuple(base.items()))


def test_exposing_changes_trigger_and_others_do_not() -> None:
    assert is_exposing(event("change_document_visibility", visibility="people_with_link", old_visibility="private"))
    assert is_exposing(event("change_user_access", visibility="shared_externally"))
    assert is_exposing(event("change_document_access_scope_hierarchy_reconciled", visibility="public_on_the_web"))
    assert is_exposing(event("publish_change", new_value=("published",)))
    # narrowing, internal sharing, access events, shared-drive membership
    assert not is_exposing(event("change_document_visibility", visibility="private"))
    assert not is_exposing(event("change_user_access", visibility="shared_internally"))
    assert not is_exposing(event("view", visibility="people_with_link"))
    assert not is_exposing(event("publish_change", new_value=("unpublished",)))
    assert not is_exposing(event("change_user_access", visibility="shared_externally", doc_type="shared_drive"))


def test_each_file_once_with_its_owner_or_shared_drive() -> None:
    records = [
        event("change_user_access", 5, visibility="shared_externally"),
        event("change_document_visibility", 1, visibility="people_with_link"),
        event("change_document_visibility", 2, doc="D", visibility="people_with_link", owner="Client Delivery",
              owner_is_shared_drive=True, shared_drive_id="0AD"),
        event("change_document_visibility", 3, doc="P", visibility="private"),
    ]
    out = exposed_files(records)
    assert [(e.file_id, e.owner, e.drive_id) for e in out] == [
        ("F", "liam@tessera-labs.com", None), ("D", None, "0AD")]
    assert out[0].at == T0 + dt.timedelta(minutes=1)  # the first exposing event: the latency starts there
