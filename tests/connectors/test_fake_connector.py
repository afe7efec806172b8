"""A provider other than Google, in memory: the scan phases work through the Connector protocol alone.

``MemoryConnector`` is the smallest connector there is (two users' files, grants, bytes). Its targets
are crawled into the snapshot (``scanner.scan.connector_crawl``), its exposed files analysed through
``identities_for`` / ``fetch_content`` (``scanner.scan.analysis``), and the findings carry its provider,
in their column and in their fingerprint; Google's fingerprints stay without it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import select

from scanner.app import App
from scanner.config import Settings
from scanner.connectors.base import Capability, ChangePage, Connector, Content, Page, SharingOps, Target
from scanner.core.fingerprint import finding_fingerprint
from scanner.core.models import DriveFile, Permission
from scanner.core.unread import ReadFailure
from scanner.detect.pipeline import ContentPipeline, DetectConfig
from scanner.keys import ensure_key
from scanner.policy.loader import load_configured_rules
from scanner.scan.analysis import AnalysisContext, analyse_file, candidate_ids
from scanner.scan.connector_crawl import crawl_connector_target
from scanner.scan.units import OutcomeKind
from scanner.store.models import DriveFileRow, Finding, PendingRead, ScanCoverage, ScanRun

PROVIDER = "memstore"
DOMAIN = "example.org"
ANN, BOB = f"ann@{DOMAIN}", f"bob@{DOMAIN}"
NOW = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)
LINK = Permission(id="p-link", type="anyone", role="reader", allow_file_discovery=False)


def _item(item_id: str, owner: str, *grants: Permission, name: str = "notes.txt") -> DriveFile:
    owner_grant = Permission(id=f"o-{owner}", type="user", role="owner", email_address=owner)
    return DriveFile(id=item_id, name=name, mime_type="text/plain", owner_email=owner, md5_checksum=f"md5-{item_id}",
                     size=100, permissions=(owner_grant, *grants), provider=PROVIDER)


class MemoryConnector:
    """Items by owner, a page size of one (so cursors matter), content by item id."""

    provider = PROVIDER
    capabilities = frozenset({Capability.GRANT_EXPIRY})

    def __init__(self) -> None:
        self.items = {ANN: [_item("m-recipe", ANN, LINK, name="recipe.txt"), _item("m-private", ANN)],
                      BOB: [_item("m-broken", BOB, LINK)]}
        self.content = {"m-recipe": b"Lemon cake: butter, sugar, flour, three lemons. Bake for 40 minutes.",
                        "m-private": b"nothing to see"}
        #: who may read what (the owner may not read m-recipe: the next identity must be tried)
        self.refused = {("m-recipe", ANN)}
        self.fetched_as: list[tuple[str, str]] = []

    def discover_targets(self) -> Sequence[Target]:
        return [Target("user", owner, owner) for owner in sorted(self.items)]

    def crawl(self, target: Target, cursor: str | None) -> Iterator[Page]:
        items = self.items[target.key]
        start = int(cursor or 0)
        for i in range(start, len(items)):
            yield Page(items=(items[i],), next_cursor=str(i + 1) if i + 1 < len(items) else None)

    def change_cursor(self, target: Target) -> str:
        return "0"

    def changes(self, target: Target, cursor: str) -> Iterator[ChangePage]:
        yield ChangePage(new_start_cursor=cursor)

    def identities_for(self, item: DriveFile) -> Sequence[str]:
        return [i for i in (item.owner_email, "reader@example.org") if i]

    def fetch_content(self, item: DriveFile, *, as_identity: str, max_bytes: int) -> Content:
        self.fetched_as.append((item.id, as_identity))
        if (item.id, as_identity) in self.refused:
            return Content(skip_reason="403 refused", denied=True, failure=ReadFailure.NO_READER)
        if item.id not in self.content:
            return Content(skip_reason="503 unavailable", failure=ReadFailure.DOWNLOAD_FAILED)
        data = self.content[item.id]
        return Content(data=data[:max_bytes], mime_type="text/plain", truncated=len(data) > max_bytes)

    def sharing(self, identity: str) -> SharingOps:
        raise NotImplementedError


@pytest.fixture()
def app(tmp_path: Path) -> Iterator[App]:
    settings = Settings.model_validate({
        "organisation": {"domains": [DOMAIN]},
        "database": {"url": f"sqlite:///{tmp_path / 'sharescan.db'}"},
        "detect": {"key_file": str(tmp_path / "evidence.key")},
        "audit": {"key_file": str(tmp_path / "audit.key"), "anchor_path": str(tmp_path / "anchors")},
    })
    application = App(settings, actor="tester@example.org")
    application.init_database()
    yield application
    application.close()


def test_the_memory_connector_is_a_connector() -> None:
    assert isinstance(MemoryConnector(), Connector)


def test_the_phases_crawl_analyse_and_fingerprint_a_non_google_provider(app: App) -> None:
    connector = MemoryConnector()
    with app.sessions.begin() as s:
        run = ScanRun(kind="full", status="running", remediation_mode="dry-run")
        s.add(run)
        s.flush()
        run_id = run.id
    domains = frozenset({DOMAIN})
    results = [crawl_connector_target(app.sessions, connector, t, run_id=run_id, org_domains=domains,
                                      clock=lambda: NOW) for t in connector.discover_targets()]
    assert [(r.key, r.status, r.files_seen, r.files_exposed) for r in results] == [(ANN, "done", 2, 1),
                                                                                    (BOB, "done", 1, 1)]
    again = crawl_connector_target(app.sessions, connector, Target("user", ANN, ANN), run_id=run_id,
                                   org_domains=domains, clock=lambda: NOW)
    assert again.files_seen == 2  # a unit done twice: not crawled again
    with app.sessions() as s:
        assert {r.id: (r.provider, r.exposure) for r in s.scalars(select(DriveFileRow))} == {
            "m-recipe": (PROVIDER, "anyone_with_link"), "m-private": (PROVIDER, "internal"),
            "m-broken": (PROVIDER, "anyone_with_link")}
        assert {c.status for c in s.scalars(select(ScanCoverage))} == {"done"}

    key = ensure_key(app.settings.evidence_key_path)
    pipeline = ContentPipeline(DetectConfig.from_settings(app.settings), hmac_key=key)
    ctx = AnalysisContext.build(app.settings, app.sessions, app.actor, None, load_configured_rules(app.settings).rules,
                                run_id=run_id, org_domains=domains, clock=lambda: NOW, connector=connector)
    ids = candidate_ids(app.sessions, run_id)
    assert ids == ["m-broken", "m-recipe"]  # the exposed ones
    outcomes = {i: analyse_file(ctx, i, pipeline.analyze_bytes) for i in ids}
    assert outcomes["m-recipe"].kind is OutcomeKind.ANALYSED
    # the owner was refused: the next identity read it
    assert [f for f in connector.fetched_as if f[0] == "m-recipe"] == [("m-recipe", ANN), ("m-recipe", "reader@example.org")]
    # content that could not be read is a pending read, not clean content
    assert outcomes["m-broken"].kind is OutcomeKind.UNREAD and not outcomes["m-broken"].evaluated
    with app.sessions() as s:
        findings = {(f.rule_id, f.file_id): f for f in s.scalars(select(Finding))}
        pending = {p.file_id: p.aspect for p in s.scalars(select(PendingRead))}
    inventory = findings[("public-file-inventory", "m-recipe")]
    assert inventory.provider == PROVIDER
    assert inventory.fingerprint == finding_fingerprint("public-file-inventory", "m-recipe", provider=PROVIDER)
    assert inventory.fingerprint != finding_fingerprint("public-file-inventory", "m-recipe")
    assert ("public-file-inventory", "m-broken") not in findings
    assert pending == {"m-broken": "content"}
