"""Folder rules, pure: which folder a finding points at, its severity, counts and blast radius."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import pytest

from scanner.connectors.google.drive_api import permission_from_api
from scanner.connectors.google.mime import GOOGLE_FOLDER
from scanner.core.models import DriveFile, ItemKind, Permission
from scanner.policy.evaluate import BlastRadius, StoredExemption
from scanner.policy.folders import Grant, SensitiveFinding, evaluate_folders
from scanner.policy.schema import Rule

ORG = frozenset({"tessera-labs.com"})
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
LINK = "anyoneWithLink"
JONAS = "u-jonas"


def perm(pid: str, *, ptype: str = "anyone", inherited_from: str | None = None, direct: bool = True,
         **data: Any) -> Permission:
    details = ([{"inherited": False}] if direct else []) + ([{"inherited": True, "inheritedFrom": inherited_from}]
                                                             if inherited_from else [])
    return permission_from_api({"id": pid, "type": ptype, "role": data.pop("role", "reader"),
                                "permissionDetails": details, **data})


class Tree:
    """A hand-built folder tree: Clients (link + Jonas) > KESTREL > rates.csv, notes; Clients > brief."""

    def __init__(self, *, my_drive_origin: bool = False) -> None:
        origin = None if my_drive_origin else "F"
        inherited = {"inherited_from": origin or "", "direct": False}
        link_below = perm(LINK, **inherited) if origin else permission_from_api(
            {"id": LINK, "type": "anyone", "role": "reader", "permissionDetails": [{"inherited": True}]})
        jonas_below = perm(JONAS, ptype="user", emailAddress="jonas@tessera-labs.com", **inherited) if origin else \
            permission_from_api({"id": JONAS, "type": "user", "emailAddress": "jonas@tessera-labs.com",
                                 "role": "reader", "permissionDetails": [{"inherited": True}]})
        self.items = {
            "F": (DriveFile(id="F", name="Clients", mime_type=GOOGLE_FOLDER, kind=ItemKind.FOLDER, owner_email="maya@tessera-labs.com",
                            permissions=(perm(LINK), perm(JONAS, ptype="user", emailAddress="jonas@tessera-labs.com"))),
                  ()),
            "S": (DriveFile(id="S", name="KESTREL", mime_type=GOOGLE_FOLDER, kind=ItemKind.FOLDER, parents=("F",),
                            permissions=(link_below, jonas_below)), ("F",)),
            "rates": (DriveFile(id="rates", name="rates.csv", mime_type="text/csv", parents=("S",),
                                permissions=(link_below, jonas_below)), ("S", "F")),
            "notes": (DriveFile(id="notes", name="notes.txt", mime_type="text/plain", parents=("S",),
                                permissions=(link_below,)), ("S", "F")),
            "brief": (DriveFile(id="brief", name="brief", mime_type="text/plain", parents=("F",),
                                permissions=(link_below,)), ("F",)),
        }

    def get(self, item_id: str) -> DriveFile | None:
        found = self.items.get(item_id)
        return found[0] if found else None

    def ancestors(self, item_id: str) -> tuple[str, ...]:
        found = self.items.get(item_id)
        return found[1] if found else ()

    def descendants(self, folder_id: str) -> list[str]:
        return [i for i, (_, up) in self.items.items() if folder_id in up]

    def inherited_holders(self, item_ids: Sequence[str], permission_ids: Iterable[str]) -> set[str]:
        wanted = set(permission_ids)
        return {i for i in item_ids for p in self.items[i][0].permissions if p.id in wanted and p.inherited_only}


def finding(fid: int, file_id: str, severity: str, origin: str | None = "F") -> SensitiveFinding:
    return SensitiveFinding(fid, file_id, severity, (Grant(LINK, "anyone_with_link", True, origin),),
                            categories=("contractor_pii",))


def rule(inherited: str, *actions: Any, severity: str = "low", **when: Any) -> Rule:
    return Rule.model_validate({
        "id": f"folder-{inherited}", "title": "folder rule", "severity": severity, "target": "folder",
        "when": {"exposure": ["public", "anyone_with_link"], "inherited": inherited, **when},
        "actions": list(actions) or [{"downgrade": "domain"}]})


FINDINGS = [finding(1, "rates", "critical"), finding(2, "brief", "medium")]


@pytest.mark.parametrize("my_drive_origin", [False, True])  # Drive names inheritedFrom in shared drives only
def test_the_folder_the_link_is_set_on_is_the_finding(my_drive_origin: bool) -> None:
    sensitive = [finding(1, "rates", "critical", None if my_drive_origin else "F"),
                 finding(2, "brief", "medium", None if my_drive_origin else "F")]
    result = evaluate_folders([rule("direct")], sensitive, Tree(my_drive_origin=my_drive_origin), org_domains=ORG,
                              now=NOW)
    [match] = result.matches
    assert (match.file.id, match.severity, match.covers) == ("F", "critical", (1, 2))
    assert [ep.permission.id for ep in match.permissions] == [LINK]  # the folder's own link, not Jonas (internal)
    # 4 items below; 2 sensitive; all 4 hold the link through the folder; a downgrade takes access from no one
    assert match.blast_radius == BlastRadius(descendants=4, sensitive_descendants=2, losing_access=4,
                                             internal_collaborators=0)
    assert match.categories == ("contractor_pii",)
    assert result.evaluated == {"F"}


def test_limited_access_goes_on_the_folder_above_the_sensitive_files() -> None:
    limit = rule("inherited", "limit_access")
    result = evaluate_folders([limit], FINDINGS, Tree(), org_domains=ORG, now=NOW)
    # brief sits in F, which holds the link itself: limited access cannot help there
    [match] = result.matches
    assert (match.file.id, match.covers, match.severity) == ("S", (1,), "critical")
    assert [ep.permission.id for ep in match.permissions] == [LINK]
    # S and what it holds lose what they inherit (the link, and Jonas: an internal collaborator)
    assert match.blast_radius == BlastRadius(descendants=2, sensitive_descendants=1, losing_access=3,
                                             internal_collaborators=1)


@pytest.mark.parametrize(("floor", "children", "expected"), [
    ("low", ["medium"], "medium"), ("high", ["medium"], "high"), ("low", ["high", "critical"], "critical")])
def test_severity_is_the_worst_descendants_never_below_the_rules(floor: str, children: list[str],
                                                                 expected: str) -> None:
    files = ["rates", "brief"]
    sensitive = [finding(i, files[i], sev) for i, sev in enumerate(children)]
    [match] = evaluate_folders([rule("direct", severity=floor)], sensitive, Tree(), org_domains=ORG,
                               now=NOW).matches
    assert match.severity == expected


def test_no_folder_finding_when_exempt_or_the_link_comes_from_a_shared_drive() -> None:
    exempt = rule("direct").model_copy(update={"exempt": []})
    stored = [StoredExemption(rule_id=exempt.id, folder_id="F", reason="press kit")]
    assert evaluate_folders([exempt], FINDINGS, Tree(), org_domains=ORG, exemptions=stored, now=NOW).matches == ()
    from_drive = [finding(1, "rates", "critical", origin="0ADRIVE")]  # a drive member: not a folder to fix
    assert evaluate_folders([rule("direct")], from_drive, Tree(), org_domains=ORG, now=NOW).matches == ()
    # a file rule's exposure outside what the folder rule wants
    external = [SensitiveFinding(1, "rates", "high", (Grant(JONAS, "external_user", True, "F"),))]
    assert evaluate_folders([rule("direct")], external, Tree(), org_domains=ORG, now=NOW).matches == ()


def test_a_folder_whose_link_is_gone_since_is_evaluated_but_not_a_finding() -> None:
    tree = Tree()
    folder, up = tree.items["F"]
    tree.items["F"] = (DriveFile(id="F", name="Clients", mime_type=GOOGLE_FOLDER, kind=ItemKind.FOLDER, permissions=()), up)
    result = evaluate_folders([rule("direct")], FINDINGS, tree, org_domains=ORG, now=NOW, also_evaluate=["OLD"])
    assert result.matches == () and result.evaluated == {"F", "OLD"}
