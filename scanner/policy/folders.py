"""Folder rules: a folder whose sharing exposes descendants with sensitive findings is a finding of its own.

Pure: the tree is read through :class:`FolderTree` (the store implements it), no clock unless given.

Drive applies a folder's sharing to everything below it and an inherited permission cannot be
removed on the item that inherits it; the fix is on the folder the sharing is set on (``when.inherited:
direct``: remove or narrow the link there) or on the folder just above the sensitive files, by turning
it into a folder with limited access (``when.inherited: inherited``). A folder finding carries the
worst severity of its sensitive descendants (never less than the rule's), counts of its descendants,
and its blast radius: the items that lose access through the fix and the organisation's people or
groups who do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from scanner.core.exposure import classify, email_domain
from scanner.core.models import DriveFile, ExposedPermission, Permission
from scanner.policy.evaluate import (
    BlastRadius,
    DetectorMatch,
    FileContext,
    Match,
    StoredExemption,
    metadata_matches,
    rule_exemption,
    stored_exemption,
)
from scanner.policy.schema import SEVERITY_RANK, Rule

#: Who keeps reaching a folder with limited access: a shared drive's organizers.
KEEPS_LIMITED_ACCESS = frozenset({"organizer"})


@dataclass(frozen=True)
class Grant:
    """One permission a finding matched, as the finding stored it."""

    permission_id: str
    exposure: str
    inherited: bool
    inherited_from: str | None = None


@dataclass(frozen=True)
class SensitiveFinding:
    """An open, active finding of a file rule that found sensitive content."""

    finding_id: int
    file_id: str
    severity: str
    grants: tuple[Grant, ...]
    detectors: tuple[DetectorMatch, ...] = ()
    categories: tuple[str, ...] = ()


class FolderTree(Protocol):
    """The stored snapshot of the folder tree."""

    def get(self, item_id: str) -> DriveFile | None:
        """A live file or folder with its permissions (None: unknown, removed, or a shared drive)."""

    def ancestors(self, item_id: str) -> tuple[str, ...]:
        """Parents, their parents... nearest first, up to the root or the shared drive."""

    def descendants(self, folder_id: str) -> Sequence[str]:
        """Every live item below the folder."""

    def inherited_holders(self, item_ids: Sequence[str], permission_ids: Iterable[str]) -> set[str]:
        """The items among ``item_ids`` that hold one of these permissions only by inheritance."""


@dataclass
class _Anchor:
    permission_ids: set[str] = field(default_factory=set)
    findings: dict[int, SensitiveFinding] = field(default_factory=dict)


def _direct_on(item: DriveFile | None, permission_id: str) -> bool:
    return item is not None and any(p.id == permission_id and not p.inherited_only for p in item.permissions)


def _inherits(item: DriveFile | None, permission_id: str) -> bool:
    return item is not None and any(p.id == permission_id and p.inherited_only for p in item.permissions)


def origin_folder(tree: FolderTree, finding: SensitiveFinding, grant: Grant) -> str | None:
    """The folder the inherited grant is set on: Drive's ``inheritedFrom`` when it names a folder, else
    the nearest ancestor holding it directly (My Drive items may not say); None for a shared drive."""
    if grant.inherited_from:
        named = tree.get(grant.inherited_from)
        return grant.inherited_from if named is not None and named.is_folder else None
    for ancestor in tree.ancestors(finding.file_id):
        item = tree.get(ancestor)
        if _direct_on(item, grant.permission_id):
            return ancestor if item is not None and item.is_folder else None
    return None


def anchor_for(rule: Rule, tree: FolderTree, finding: SensitiveFinding, grant: Grant) -> str | None:
    """Where the rule fixes this grant: the origin folder (``direct``), or the folder just above the file
    when it inherits the grant from higher up (``inherited``)."""
    if rule.when.inherited == "direct":
        return origin_folder(tree, finding, grant)
    parents = tree.ancestors(finding.file_id)
    if not parents:
        return None
    parent = tree.get(parents[0])
    if parent is None or not parent.is_folder or not _inherits(parent, grant.permission_id):
        return None
    return parents[0]


def _worst(severities: Iterable[str]) -> str:
    return min(severities, key=lambda s: SEVERITY_RANK.get(s, len(SEVERITY_RANK)))


def _detectors(findings: Iterable[SensitiveFinding]) -> tuple[DetectorMatch, ...]:
    merged: dict[str, DetectorMatch] = {}
    for f in findings:
        for d in f.detectors:
            prev = merged.get(d.detector)
            merged[d.detector] = d if prev is None else DetectorMatch(
                d.detector, prev.count + d.count, max(prev.best_score, d.best_score),
                tuple(sorted(set(prev.categories) | set(d.categories))))
    return tuple(merged[k] for k in sorted(merged))


def _internal(perm: Permission, org_domains: frozenset[str]) -> bool:
    if perm.type == "domain":
        return (perm.domain or "").lower() in org_domains
    return perm.type in ("user", "group") and email_domain(perm.email_address) in org_domains


def blast_radius(rule: Rule, tree: FolderTree, folder: DriveFile, fixed: Sequence[ExposedPermission],
                 sensitive: int, org_domains: frozenset[str]) -> BlastRadius:
    """Who loses access when the rule fixes ``folder``.

    Removing or narrowing a link set on the folder: every item below that holds it only through the
    folder, and no named person (links are anonymous; an organisation domain grant counts as one).
    Limited access: the folder and every item below it that holds a grant inherited from above it,
    and the organisation's users, groups or domain among those grants (organizers keep access)."""
    below = list(tree.descendants(folder.id))
    if any(a.kind == "limit_access" for a in rule.actions):
        cut = [p for p in folder.permissions if p.inherited_only and p.role not in KEEPS_LIMITED_ACCESS
               and not p.deleted]
        losing = tree.inherited_holders(below, {p.id for p in cut})
        people = {p.principal for p in cut if _internal(p, org_domains)}
        return BlastRadius(len(below), sensitive, len(losing) + (1 if cut else 0), len(people))
    changes_only_link = all(a.kind in ("downgrade", "notify", "justify") for a in rule.actions)
    losing = tree.inherited_holders(below, {ep.permission.id for ep in fixed})
    people = set() if changes_only_link else {ep.permission.principal for ep in fixed
                                              if _internal(ep.permission, org_domains)}
    return BlastRadius(len(below), sensitive, len(losing), len(people))


@dataclass(frozen=True)
class FolderEvaluation:
    """The folder findings of a run, and every folder that was looked at (a folder finding that is not
    in ``matches`` but whose folder is in ``evaluated`` no longer holds)."""

    matches: tuple[Match, ...]
    evaluated: frozenset[str]


def evaluate_folders(rules: Iterable[Rule], findings: Iterable[SensitiveFinding], tree: FolderTree, *,
                     org_domains: frozenset[str], exemptions: Iterable[StoredExemption] = (),
                     now: dt.datetime | None = None,
                     also_evaluate: Iterable[str] = ()) -> FolderEvaluation:
    """Every folder finding the sensitive findings call for.

    ``also_evaluate``: folders to count as looked at even when no sensitive finding points at them any
    more (those with an active folder finding), so their findings close."""
    when = now or dt.datetime.now(dt.UTC)
    stored = tuple(exemptions)
    sensitive = list(findings)
    # inherited-mode rules first: a descendant's pointer ends on the direct-mode folder when both hold
    folder_rules = sorted((r for r in rules if r.target == "folder"), key=lambda r: r.when.inherited != "inherited")
    matches: list[Match] = []
    evaluated: set[str] = set(also_evaluate)
    for rule in folder_rules:
        wanted = set(rule.when.exposure)
        anchors: dict[str, _Anchor] = {}
        for finding in sensitive:
            for grant in finding.grants:
                if grant.exposure not in wanted or not grant.inherited:
                    continue
                anchor = anchor_for(rule, tree, finding, grant)
                if anchor is None:
                    continue
                entry = anchors.setdefault(anchor, _Anchor())
                entry.permission_ids.add(grant.permission_id)
                entry.findings[finding.finding_id] = finding
        evaluated.update(anchors)
        for anchor_id, entry in sorted(anchors.items()):
            match = _match(rule, tree, anchor_id, entry, org_domains, stored, when)
            if match is not None:
                matches.append(match)
    return FolderEvaluation(tuple(matches), frozenset(evaluated))


def _match(rule: Rule, tree: FolderTree, anchor_id: str, entry: _Anchor, org_domains: frozenset[str],
           exemptions: Sequence[StoredExemption], now: dt.datetime) -> Match | None:
    folder = tree.get(anchor_id)
    if folder is None or not folder.is_folder:
        return None
    ctx = FileContext(ancestors=tree.ancestors(anchor_id), now=now)
    # a folder exemption covers the folder itself as well as everything below it
    with_self = FileContext(ancestors=(anchor_id, *ctx.ancestors), now=now)
    if not metadata_matches(rule, folder, ctx) or rule_exemption(rule, folder, with_self) is not None \
            or stored_exemption(rule, folder, with_self, exemptions) is not None:
        return None
    direct = rule.when.inherited == "direct"
    exposed = tuple(ep for ep in classify(folder, org_domains).exposed
                    if ep.permission.id in entry.permission_ids and ep.permission.inherited_only != direct)
    if not exposed:
        return None  # the folder's own sharing changed since its descendants were evaluated
    children = sorted(entry.findings.values(), key=lambda f: f.finding_id)
    files = {f.file_id for f in children}
    radius = blast_radius(rule, tree, folder, exposed, len(files), org_domains)
    severity = _worst([rule.severity, *(f.severity for f in children)])
    categories = tuple(sorted({c for f in children for c in f.categories} | set(rule.categories)))
    return Match(rule, folder, exposed, False, _detectors(children), categories,
                 severity_override=severity if severity != rule.severity else None, blast_radius=radius,
                 covers=tuple(f.finding_id for f in children))


def grants_from_json(matched: Sequence[Mapping[str, object]]) -> tuple[Grant, ...]:
    """A finding's stored ``matched_permissions`` as grants."""
    return tuple(Grant(str(p.get("id") or ""), str(p.get("exposure") or ""), bool(p.get("inherited")),
                       str(p["inherited_from"]) if p.get("inherited_from") else None) for p in matched)
