"""Finding fingerprints: Google's never change; other providers put the provider first."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from scanner.core.fingerprint import finding_fingerprint
from scanner.core.models import DriveFile, Permission
from scanner.policy.evaluate import Match
from scanner.policy.schema import Rule


def reference(*parts: str) -> str:
    """The documented construction: sha256 over length-prefixed parts after the version tag."""
    h = hashlib.sha256()
    for part in ("v1", *parts):
        data = part.encode()
        h.update(len(data).to_bytes(4, "big") + data)
    return h.hexdigest()


@pytest.mark.parametrize("principal", [None, "User:Ann@Example.com"])
def test_google_fingerprint_has_no_provider(principal: str | None) -> None:
    tail = () if principal is None else (principal.lower(),)
    assert finding_fingerprint("r1", "F1", principal) == reference("r1", "F1", *tail)
    assert finding_fingerprint("r1", "F1", principal, provider="google") == reference("r1", "F1", *tail)


@pytest.mark.parametrize("principal", [None, "anyone"])
def test_other_providers_put_the_provider_first(principal: str | None) -> None:
    tail = () if principal is None else (principal,)
    fp = finding_fingerprint("r1", "F1", principal, provider="box")
    assert fp == reference("box", "r1", "F1", *tail)
    assert fp != finding_fingerprint("r1", "F1", principal)
    assert fp != finding_fingerprint("r1", "F1", principal, provider="dropbox")


def test_match_fingerprint_follows_the_files_provider() -> None:
    rule = Rule.model_validate({"id": "r1", "title": "Public file", "severity": "high", "when": {"exposure": ["public"]}})
    perm = Permission(id="anyone", type="anyone", role="reader", allow_file_discovery=True)
    file = DriveFile(id="F1", name="f", mime_type="text/plain", permissions=(perm,))
    match = Match(rule=rule, file=file, permissions=(), published=False, detectors=(), categories=())
    assert file.provider == "google"
    assert match.fingerprint == reference("r1", "F1")
    other = replace(match, file=replace(file, provider="box"))
    assert other.fingerprint == reference("box", "r1", "F1")
