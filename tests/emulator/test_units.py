"""Unit tests: field masks, the q parser, seeds, persistence, CLI."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from scanner.emulator.errors import ApiError
from scanner.emulator.fields import apply_mask, parse_fields
from scanner.emulator.query import parse_query
from scanner.emulator.seeds import build_seed
from scanner.emulator.seeds.demo import EXPECTED
from scanner.emulator.state.model import DriveFile


def test_field_mask_parser():
    mask = parse_fields("nextPageToken, files(id,name,permissions(id,type)),files/owners")
    assert mask == {"nextPageToken": None,
                    "files": {"id": None, "name": None, "permissions": {"id": None, "type": None}, "owners": None}}
    value = {"nextPageToken": "t", "kind": "k",
             "files": [{"id": "1", "name": "n", "mimeType": "m", "permissions": [{"id": "p", "type": "user",
                                                                                "role": "owner"}]}]}
    assert apply_mask(value, mask) == {"nextPageToken": "t", "files": [
        {"id": "1", "name": "n", "permissions": [{"id": "p", "type": "user"}]}]}
    assert apply_mask(value, parse_fields("*")) == value
    for bad in ("files(id", "files()", ",", "a b"):
        with pytest.raises(ApiError):
            parse_fields(bad)


class _Ctx:
    def owners(self, f):
        return [f.owner] if f.owner else []

    def emails_with_role(self, f, minimum):
        return []

    def visibility(self, f):
        return "anyoneWithLink"

    def shared_with_me(self, f):
        return False

    def full_text(self, f):
        return f.name


def _f(**kw):
    base = dict(id="1", name="Budget 2026", mime_type="text/plain", created_time="2026-01-01T00:00:00.000Z",
                modified_time="2026-02-01T00:00:00.000Z", owner="a@x.com", parents=["P"])
    base.update(kw)
    return DriveFile(**base)


@pytest.mark.parametrize(("q", "expected"), [
    ("name contains 'budget'", True),
    ("not name contains 'budget'", False),
    ("mimeType != 'application/vnd.google-apps.folder' and trashed = false", True),
    ("'P' in parents and ('a@x.com' in owners or trashed = true)", True),
    ("modifiedTime > '2026-01-15T00:00:00' and modifiedTime <= '2026-02-01T00:00:00Z'", True),
    ("visibility = 'anyoneWithLink'", True),
    ("name = 'it\\'s'", False),
    ("trashed = true or not (name contains 'x' or name contains 'y')", True),
])
def test_query_parser(q, expected):
    assert parse_query(q)(_f(), _Ctx()) is expected


def test_query_parent_hint_and_errors():
    assert parse_query("'P' in parents and trashed = false").parent_hint == "P"
    assert parse_query("'P' in parents or trashed = false").parent_hint is None
    for bad in ("name contains", "name ~ 'x'", "(trashed = false", "visibility = 'bogus'", "foo = 'x'"):
        with pytest.raises(ApiError) as err:
            parse_query(bad)
        assert err.value.reason == "invalid"


def test_demo_seed_is_deterministic_and_matches_expected():
    a, b = build_seed("demo"), build_seed("demo")
    assert list(a.files) == list(b.files)
    assert all(x.content == y.content for x, y in zip(a.files.values(), b.files.values(), strict=True))
    for exp in EXPECTED.values():
        assert a.files[exp.file_id].name == exp.name
    assert sum(e.flagged for e in EXPECTED.values()) >= 10


def test_synthetic_seed_100k_is_lazy():
    """No content is built or stored (how fast seeding is belongs to benchmarks, not to a timed test)."""
    ws = build_seed("synthetic:100:100000:7")
    assert len(ws.files) == 100_000
    assert all(f.content is None for f in ws.files.values())
    again = build_seed("synthetic:100:1000:7")
    assert list(again.files)[:10] == list(ws.files)[:10]


def test_cli_serve_help():
    from scanner.cli.emulator import COMMANDS

    result = CliRunner().invoke(COMMANDS[0], ["serve", "--help"])
    assert result.exit_code == 0 and "--seed" in result.output and "--key-file" in result.output


def test_state_roundtrip_keeps_audit_posture_and_labels():
    from scanner.emulator.state import persist

    ws = build_seed("demo")
    again = persist.load(json.loads(json.dumps(persist.dump(ws))))
    assert [a.dump() for a in again.audit.activities] == [a.dump() for a in ws.audit.activities]
    assert again.audit.seq == ws.audit.seq
    assert again.policies.dump() == ws.policies.dump()
    assert again.labels.dump() == ws.labels.dump()


@pytest.mark.parametrize(("perms", "expected"), [
    ([], "private"),
    ([("user", "reader", "a@tessera-labs.com", None, False)], "shared_internally"),
    ([("domain", "reader", None, "tessera-labs.com", False)], "people_within_domain_with_link"),
    ([("domain", "reader", None, "tessera-labs.com", True)], "public_in_the_domain"),
    ([("user", "reader", "x@gmail.com", None, False), ("domain", "reader", None, "tessera-labs.com", True)],
     "shared_externally"),
    ([("domain", "reader", None, "partner.example", False)], "shared_externally"),
    ([("anyone", "reader", None, None, False), ("user", "writer", "x@gmail.com", None, False)], "people_with_link"),
    ([("anyone", "reader", None, None, True)], "public_on_the_web"),
])
def test_audit_visibility_is_the_widest_audience(perms, expected):
    from scanner.emulator.state.audit import Audience, visibility_of

    audiences = [Audience(t, r, e, d, disc) for t, r, e, d, disc in perms]
    assert visibility_of(audiences, frozenset({"tessera-labs.com"})) == expected
