"""The one place that decides dry-run vs enforce (every combination, with the exact outcome), and how a
skipped inherited permission names the ancestor to fix it on."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from scanner.config import Settings
from scanner.drive.models import GOOGLE_FOLDER
from scanner.policy.schema import Rule
from scanner.remediate.engine import places
from scanner.remediate.plan import decide_mode, inherited_skip
from scanner.store.models import CrawlTarget, DriveFileRow


def rule(*, auto: bool, mode: str | None = None) -> Rule:
    return Rule.model_validate({"id": "test-rule", "title": "a rule", "severity": "high",
                                "when": {"exposure": ["anyone_with_link"]}, "auto": auto, "mode": mode})


@pytest.mark.parametrize(
    ("global_mode", "rule_mode", "auto", "apply", "manual", "expected"),
    [
        ("dry-run", None, True, None, False, "dry-run"),
        ("enforce", None, True, None, False, "enforce"),
        ("enforce", None, False, None, False, "dry-run"),   # auto: false waits for a person
        ("dry-run", None, True, True, False, "enforce"),    # scan --apply
        ("dry-run", None, False, True, False, "dry-run"),   # scan --apply never applies auto: false
        ("dry-run", None, False, True, True, "enforce"),    # sharescan remediate --apply does
        ("enforce", None, True, False, False, "dry-run"),   # --dry-run wins
        ("enforce", "dry-run", True, None, False, "dry-run"),  # the rule's own mode
        ("dry-run", "enforce", True, None, False, "enforce"),
        ("off", None, True, True, True, "off"),             # off means off, even with --apply
        ("enforce", "off", True, True, False, "off"),
    ],
)
def test_decide_mode(global_mode: str, rule_mode: str | None, auto: bool, apply: bool | None, manual: bool,
                     expected: str) -> None:
    settings = Settings.model_validate({"remediation": {"mode": global_mode}})
    decision = decide_mode(settings, rule(auto=auto, mode=rule_mode), apply=apply, manual=manual)
    assert decision.mode == expected, decision.reason


def test_places_name_folders_and_shared_drives_from_the_snapshot(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        session.add_all([
            DriveFileRow(id="F1", name="Recruiting", mime_type=GOOGLE_FOLDER),
            DriveFileRow(id="F2", name="  Client\n work  ", mime_type=GOOGLE_FOLDER),
            DriveFileRow(id="F3", name="", mime_type=GOOGLE_FOLDER),
            DriveFileRow(id="D1", name="Q3 plan", mime_type="application/vnd.google-apps.document"),
            CrawlTarget(kind="drive", key="SD1", name="Clients"),
            CrawlTarget(kind="user", key="F9", name="Not a drive"),
        ])
        session.flush()
        assert places(session, ["F1", "F2", "F3", "D1", "SD1", "F9", "UNKNOWN"]) == {
            "F1": 'folder "Recruiting"', "F2": 'folder "Client work"', "D1": 'file "Q3 plan"',
            "SD1": 'shared drive "Clients"'}
        assert places(session, []) == {}


@pytest.mark.parametrize(("ancestor", "place", "expected"), [
    ("F1", 'folder "Recruiting"', 'inherited from folder "Recruiting": fix on ancestor F1'),
    ("F1", None, "inherited from F1: fix on ancestor F1"),
    (None, None, "inherited: fix on ancestor"),
])
def test_inherited_skip(ancestor: str | None, place: str | None, expected: str) -> None:
    assert inherited_skip(ancestor, place) == expected
