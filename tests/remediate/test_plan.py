"""The one place that decides dry-run vs enforce (every combination, with the exact outcome), and how a
skipped inherited permission names the ancestor to fix it on."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from scanner.config import Settings
from scanner.connectors.google.mime import GOOGLE_FOLDER
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
            DriveFileRow(id="F1", name="Recruiting", mime_type=GOOGLE_FOLDER, item_kind="folder"),
            DriveFileRow(id="F2", name="  Client\n work  ", mime_type=GOOGLE_FOLDER, item_kind="folder"),
            DriveFileRow(id="F3", name="", mime_type=GOOGLE_FOLDER, item_kind="folder"),
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


# --------------------------------------------------------------------------- folder fixes, holds, plan keys
import datetime as dt  # noqa: E402

from scanner.remediate.plan import Hold, PlanContext, build_plan  # noqa: E402
from scanner.store.models import Finding  # noqa: E402

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
LINK = {"id": "anyoneWithLink", "type": "anyone", "role": "reader", "exposure": "anyone_with_link",
        "inherited": False, "inherited_from": None}
SETTINGS = Settings.model_validate({"organisation": {"domains": ["tessera-labs.com"]},
                                    "notifications": {"channels": ["webhook"],
                                                      "webhook": {"url": "https://hooks.example.com/x"}},
                                    "remediation": {"mode": "enforce", "max_actions_per_run": 5}})


def a_rule(rule_id: str, *actions: object, auto: bool = True) -> Rule:
    return Rule.model_validate({"id": rule_id, "title": "a rule", "severity": "high", "auto": auto,
                                "when": {"exposure": ["anyone_with_link"]}, "actions": list(actions)})


def a_finding(fid: int, rule_id: str, *, perms: list[dict] | None = None, radius: dict | None = None,
              folder: int | None = None, modified: str = "2026-01-01T00:00:00Z") -> Finding:
    row = DriveFileRow(id=f"file{fid}", name=f"file {fid}", mime_type="text/plain", owner_email="maya@tessera-labs.com",
                       modified_time=modified, exposure_classes=["anyone_with_link"], published=False,
                       inherited_permissions_disabled=False)
    return Finding(id=fid, rule_id=rule_id, severity="high", file_id=row.id, file=row, owner_email=row.owner_email,
                   status="open", detection_state="active", exposure="anyone_with_link",
                   matched_permissions=perms if perms is not None else [LINK], blast_radius=radius,
                   folder_finding_id=folder)


def test_decide_mode_stops_enforcement_when_blocked() -> None:
    decision = decide_mode(SETTINGS, rule(auto=True), apply=True, manual=True, blocked="domain check failed")
    assert (decision.mode, decision.reason) == ("dry-run", "enforcement stopped: domain check failed")
    assert decide_mode(SETTINGS, rule(auto=True), apply=False, manual=True, blocked="x").mode == "dry-run"


@pytest.mark.parametrize(("losing", "explicit", "hold", "weight"), [
    (3, False, None, 4),            # 1 + 3 items below within max_actions_per_run=5
    (9, False, Hold.OVER_LIMIT, 10),
    (9, True, None, 10),            # a person named the finding: applied
])
def test_a_folder_fix_weighs_its_blast_radius(losing: int, explicit: bool, hold: Hold | None, weight: int) -> None:
    folder_rule = a_rule("folder", {"downgrade": "domain"}, {"notify": "owner"})
    radius = {"descendants": 12, "sensitive_descendants": 2, "losing_access": losing, "internal_collaborators": 0}
    plan = build_plan(SETTINGS, [a_finding(7, "folder", radius=radius)], [folder_rule], apply=None, manual=explicit,
                      context=PlanContext(now=NOW, explicit=explicit))
    [downgrade, notify] = plan.actions
    assert (downgrade.hold, downgrade.weight, notify.weight) == (hold, weight, 1)
    assert plan.acting_weight == (0 if hold else weight)
    if hold:
        assert downgrade.status_if_not_acting == "over_limit"
        assert downgrade.skip_reason is not None and "`sharescan remediate --apply 7`" in downgrade.skip_reason


def test_a_child_s_inherited_link_is_fixed_with_its_open_folder_finding() -> None:
    inherited = {**LINK, "inherited": True, "inherited_from": "F"}
    child = a_finding(3, "child", perms=[inherited], folder=9)
    rules = [a_rule("child", {"revoke": "matched"})]
    covered = build_plan(SETTINGS, [child], rules, apply=None, manual=False, fix_on_ancestor=True,
                         context=PlanContext(now=NOW, open_folder_findings=frozenset({9})))
    assert covered.actions[0].skip_reason == "fixed with its folder: finding 9"
    alone = build_plan(SETTINGS, [child], rules, apply=None, manual=False, fix_on_ancestor=True,
                       context=PlanContext(now=NOW))  # folder finding closed: the old behaviour
    assert (alone.actions[0].skip_reason, alone.actions[0].target_file_id) == (None, "F")


def test_justify_asks_first_then_acts_after_the_deadline() -> None:
    justify_rule = a_rule("ask", {"justify": "14d"}, {"revoke": "matched"}, {"notify": "owner"})
    finding = a_finding(4, "ask")

    def plan(deadline: dt.datetime | None) -> list[tuple[str, str | None]]:
        deadlines = {4: deadline} if deadline else {}
        built = build_plan(SETTINGS, [finding], [justify_rule], apply=None, manual=False,
                           context=PlanContext(now=NOW, justify_deadlines=deadlines))
        return [(a.action, a.hold or ("act" if a.will_act else None)) for a in built.actions]

    assert plan(None) == [("justify", None), ("revoke", Hold.AWAITING_OWNER)]  # the request is the notice
    assert plan(NOW + dt.timedelta(days=3)) == [("revoke", Hold.AWAITING_OWNER)]
    assert plan(NOW - dt.timedelta(seconds=1)) == [("revoke", "act"), ("notify", None)]
    # nobody can be asked without a notification channel: the changes are not held for an answer
    silent = build_plan(SETTINGS.with_overrides(notifications={"channels": []}), [finding], [justify_rule],
                        apply=None, manual=False, context=PlanContext(now=NOW))
    assert [(a.action, a.will_act) for a in silent.actions] == [("justify", False), ("revoke", True),
                                                                ("notify", False)]


def test_the_plan_key_changes_with_its_inputs_only() -> None:
    base_rule = a_rule("rr", {"revoke": "matched"}, auto=False)

    def key(finding: Finding, rules: list[Rule] = [base_rule], mode: str = "enforce") -> list[str]:  # noqa: B006
        settings = SETTINGS.with_overrides(remediation={"mode": mode})
        return [a.plan_key for a in build_plan(settings, [finding], rules, apply=None, manual=False,
                                               context=PlanContext(now=NOW)).actions]

    first = key(a_finding(1, "rr"))
    assert first == key(a_finding(1, "rr")) and len(first[0]) == 64  # same inputs, same key
    assert key(a_finding(1, "rr", modified="2026-02-01T00:00:00Z")) != first  # the file's revision
    assert key(a_finding(1, "rr", perms=[{**LINK, "role": "writer"}])) != first  # its sharing
    assert key(a_finding(1, "rr"), [base_rule.model_copy(update={"title": "another"})]) != first  # the rule
    assert key(a_finding(1, "rr"), mode="dry-run") != first  # the mode
