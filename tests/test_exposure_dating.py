"""The pure core of exposure dating: which change opened a file, what the window holds, who is who."""

from __future__ import annotations

import datetime as dt

from scanner.connectors.google.reports import RETENTION, AuditRecord, records_of
from scanner.exposure_dating import ActorHasher, ActorKind, DatingSource, date_exposure

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
ORG = ("tessera-labs.com",)
HASHER = ActorHasher(b"k" * 32, ORG)


def sharing(days: float, old: str, new: str, actor: str | None = "maya@tessera-labs.com",
            name: str = "change_document_visibility", uid: str = "1") -> AuditRecord:
    return AuditRecord(time=NOW - dt.timedelta(days=days), unique_id=uid, actor_email=actor,
                       actor_kind="user" if actor else "anonymous", type="acl_change", name=name,
                       params=(("doc_id", "F"), ("visibility", new), ("old_visibility", old)))


def access(days: float, name: str, actor: str | None, uid: str = "2") -> AuditRecord:
    return AuditRecord(time=NOW - dt.timedelta(days=days), unique_id=uid, actor_email=actor,
                       actor_kind="user" if actor else "anonymous", type="access", name=name,
                       params=(("doc_id", "F"), ("visibility", "people_with_link")))


def test_dated_from_the_change_that_opened_it_with_accesses_in_the_window() -> None:
    records = [
        access(50, "view", None),  # before the exposure: not counted
        sharing(40, "private", "people_with_link"),
        access(30, "view", None), access(20, "view", None), access(12, "download", "k.osei@outlook.com"),
        access(11, "view", "k.osei@outlook.com"), access(5, "copy", "liam@tessera-labs.com"),
        sharing(3, "people_with_link", "people_with_link", name="change_document_access_scope"),  # still open
    ]
    d = date_exposure(records, now=NOW, hasher=HASHER, first_seen=NOW)
    assert d.source == DatingSource.AUDIT_LOG
    assert d.exposed_since == NOW - dt.timedelta(days=40)
    assert d.exposed_by is not None and d.exposed_by.kind == ActorKind.INSIDER
    assert d.exposed_by.domain == "tessera-labs.com" and d.exposed_by.email is None
    assert d.exposed_by.hash == HASHER.digest("maya@tessera-labs.com")
    assert d.access["anonymous"] == {"view": 2, "download": 0, "copy": 0}
    assert d.access["outside"] == {"view": 1, "download": 1, "copy": 0}
    assert d.access["insider"] == {"view": 0, "download": 0, "copy": 1}
    assert d.outside_domains == ["outlook.com"] and d.outside_actors == 1
    assert d.outside_total == 4


def test_the_latest_opening_counts_after_a_close_and_reopen() -> None:
    records = [sharing(90, "private", "shared_externally", uid="a"), sharing(60, "shared_externally", "private",
                                                                               uid="b"),
               access(70, "view", "x@client.com"), sharing(10, "private", "public_on_the_web", uid="c")]
    d = date_exposure(records, now=NOW, hasher=HASHER, first_seen=NOW)
    assert d.source == DatingSource.AUDIT_LOG and d.exposed_since == NOW - dt.timedelta(days=10)
    assert d.visibility == "public_on_the_web"
    assert d.outside_total == 0  # the view 70 days ago was in an earlier window


def test_no_opening_change_within_retention_means_since_at_least_the_oldest_day() -> None:
    records = [access(150, "view", None), access(44, "view", None)]
    d = date_exposure(records, now=NOW, hasher=HASHER, first_seen=NOW)
    assert d.source == DatingSource.BEFORE_RETENTION
    assert d.exposed_since == NOW - RETENTION
    assert d.access["anonymous"]["view"] == 2


def test_a_log_that_does_not_show_the_exposure_yet_falls_back_to_first_seen() -> None:
    first = NOW - dt.timedelta(hours=1)
    d = date_exposure([sharing(5, "people_with_link", "private")], now=NOW, hasher=HASHER, first_seen=first)
    assert d.source == DatingSource.FIRST_SEEN and d.exposed_since == first
    assert d.skipped_reason and "lag" in d.skipped_reason


def test_addresses_only_when_the_installation_keeps_them() -> None:
    keep = ActorHasher(b"k" * 32, ORG, keep_emails=True)
    d = date_exposure([sharing(2, "private", "people_with_link", actor="Maya@Tessera-Labs.com")], now=NOW,
                      hasher=keep, first_seen=NOW)
    assert d.exposed_by is not None and d.exposed_by.email == "maya@tessera-labs.com"
    assert HASHER.digest("a@b.com") != ActorHasher(b"j" * 32, ORG).digest("a@b.com")  # keyed


def test_records_of_reads_googles_activity_shape() -> None:
    item = {"kind": "admin#reports#activity",
            "id": {"time": "2026-11-01T10:00:00.123Z", "uniqueQualifier": "-42", "applicationName": "drive"},
            "actor": {"profileId": "105250506097979753968"},
            "events": [{"type": "access", "name": "view", "parameters": [
                {"name": "doc_id", "value": "F"}, {"name": "primary_event", "boolValue": True},
                {"name": "old_value", "multiValue": ["none"]}]}]}
    (r,) = records_of(item)
    assert r.actor_kind == "anonymous" and r.actor_email is None
    assert r.doc_id == "F" and r.param("primary_event") is True and r.text("old_value") == "none"
    assert r.time == dt.datetime(2026, 11, 1, 10, 0, 0, 123000, tzinfo=dt.UTC)
    assert r.key.endswith("/-42/view")
