"""rule × file (exposure, metadata, content) → :class:`Match`. Pure: no I/O, no clock unless given.

The orchestrator calls :meth:`PolicyEngine.candidates` before content analysis (cheap: exposure,
metadata, exemptions) to know whether a file needs reading at all, then
:meth:`PolicyEngine.evaluate` with the :class:`ContentResult`.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from scanner.core.findings import StoredExemption
from scanner.core.fingerprint import finding_fingerprint
from scanner.core.models import DriveFile, ExposedPermission, Exposure, FileExposure
from scanner.detect.models import ContentResult, DetectorHit
from scanner.policy.schema import DetectorCondition, ExemptEntry, Rule

PUBLISHED_PRINCIPAL = "published"


@dataclass(frozen=True)
class FileContext:
    """What the policy needs beyond the Drive metadata: folder ancestry and the time of evaluation."""

    #: Folder ids above the file (parents, their parents, ... up to the root / shared drive).
    ancestors: tuple[str, ...] = ()
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


@dataclass(frozen=True)
class DetectorMatch:
    detector: str
    count: int
    best_score: float
    categories: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "best_score": round(self.best_score, 4), "categories": list(self.categories)}


@dataclass(frozen=True)
class BlastRadius:
    """What fixing a folder touches: its live descendants, those with sensitive findings, the items
    that lose access through the fix, and the organisation's people or groups who lose access."""

    descendants: int
    sensitive_descendants: int
    losing_access: int
    internal_collaborators: int

    def to_json(self) -> dict[str, int]:
        return {"descendants": self.descendants, "sensitive_descendants": self.sensitive_descendants,
                "losing_access": self.losing_access, "internal_collaborators": self.internal_collaborators}


@dataclass(frozen=True)
class Match:
    """A rule matched a file: what is exposed, what was found, how bad."""

    rule: Rule
    file: DriveFile
    #: The exposed permissions the rule matched (what revoke acts on).
    permissions: tuple[ExposedPermission, ...]
    #: The file's head revision is published to the web and the rule cares about it.
    published: bool
    detectors: tuple[DetectorMatch, ...]
    categories: tuple[str, ...]
    #: Per-permission rules: who the matched permission grants access to ("anyone", "user:x@y", "published").
    principal: str | None = None
    #: Folder rules: the worst sensitive descendant's severity when above the rule's.
    severity_override: str | None = None
    #: Folder rules: descendants, sensitive descendants, and who loses access when the folder is fixed.
    blast_radius: BlastRadius | None = None
    #: Folder rules: the descendants' finding ids this folder's finding covers.
    covers: tuple[int, ...] = ()

    @property
    def rule_id(self) -> str:
        return self.rule.id

    @property
    def title(self) -> str:
        return self.rule.title

    @property
    def severity(self) -> str:
        return self.severity_override or self.rule.severity

    @property
    def exposures(self) -> tuple[Exposure, ...]:
        out = {p.exposure for p in self.permissions}
        if self.published:
            out.add(Exposure.PUBLISHED)
        return tuple(sorted(out, key=lambda e: e.rank))

    @property
    def exposure(self) -> Exposure:
        """The widest exposure among what matched."""
        return self.exposures[0]

    @property
    def fingerprint(self) -> str:
        return finding_fingerprint(self.rule.id, self.file.id, self.principal if self.rule.per_permission else None,
                                   provider=self.file.provider)

    def matched_permissions_json(self) -> list[dict[str, Any]]:
        """What the finding stores: enough to act on and to explain, no display names."""
        out = []
        for ep in self.permissions:
            p = ep.permission
            out.append({
                "id": p.id, "type": p.type, "role": p.role, "email_address": p.email_address, "domain": p.domain,
                "allow_file_discovery": p.allow_file_discovery, "expiration_time": p.expiration_time,
                "inherited": p.inherited, "inherited_from": p.inherited_from, "exposure": ep.exposure.value,
                "principal": p.principal,
            })
        return out

    def detectors_json(self) -> dict[str, Any]:
        return {d.detector: d.to_json() for d in self.detectors}


# --------------------------------------------------------------------------- conditions
def _glob_any(value: str | None, patterns: Sequence[str]) -> bool:
    if value is None:
        return False
    v = value.lower()
    return any(fnmatch.fnmatchcase(v, p.lower()) for p in patterns)


def _parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def folder_chain(file: DriveFile, ctx: FileContext) -> frozenset[str]:
    return frozenset((*file.parents, *ctx.ancestors))


def metadata_matches(rule: Rule, file: DriveFile, ctx: FileContext) -> bool:
    w = rule.when
    if w.owners and not _glob_any(file.owner_email, w.owners):
        return False
    if w.not_owners and _glob_any(file.owner_email, w.not_owners):
        return False
    folders = folder_chain(file, ctx)
    if w.folders and not folders.intersection(w.folders):
        return False
    if w.not_folders and folders.intersection(w.not_folders):
        return False
    if w.shared_drive is True and file.drive_id is None:
        return False
    if w.shared_drive is False and file.drive_id is not None:
        return False
    if isinstance(w.shared_drive, list) and file.drive_id not in w.shared_drive:
        return False
    if w.mime_types and not _glob_any(file.mime_type, w.mime_types):
        return False
    if w.not_mime_types and _glob_any(file.mime_type, w.not_mime_types):
        return False
    if w.labels and not set(file.labels).intersection(w.labels):
        return False
    if w.min_age_days is not None or w.max_age_days is not None:
        created = _parse_time(file.created_time)
        if created is None:
            return False
        age_days = (ctx.now - created).total_seconds() / 86400
        if w.min_age_days is not None and age_days < w.min_age_days:
            return False
        if w.max_age_days is not None and age_days > w.max_age_days:
            return False
    return True


def matched_permissions(rule: Rule, exposure: FileExposure) -> tuple[ExposedPermission, ...]:
    wanted = set(rule.when.exposure)
    out = []
    for ep in exposure.exposed:
        if ep.exposure.value not in wanted:
            continue
        if rule.when.inherited == "direct" and ep.permission.inherited:
            continue
        if rule.when.inherited == "inherited" and not ep.permission.inherited:
            continue
        out.append(ep)
    return tuple(out)


def published_matches(rule: Rule, file: DriveFile) -> bool:
    return file.published and "published" in rule.when.exposure and rule.when.inherited != "inherited"


def rule_exemption(rule: Rule, file: DriveFile, ctx: FileContext) -> ExemptEntry | None:
    """The rule's own active exemption covering this file, if any."""
    today = ctx.now.date()
    folders = folder_chain(file, ctx)
    for entry in rule.exempt:
        if not entry.active(today):
            continue
        if entry.file is not None and entry.file == file.id:
            return entry
        if entry.folder is not None and entry.folder in folders:
            return entry
        if entry.owner is not None and _glob_any(file.owner_email, [entry.owner]):
            return entry
    return None


def stored_exemption(rule: Rule, file: DriveFile, ctx: FileContext,
                     exemptions: Iterable[StoredExemption]) -> StoredExemption | None:
    folders = folder_chain(file, ctx)
    for ex in exemptions:
        if ex.rule_id is not None and ex.rule_id != rule.id:
            continue
        if ex.file_id is not None and ex.file_id != file.id:
            continue
        if ex.folder_id is not None and ex.folder_id not in folders:
            continue
        if ex.rule_id is None and ex.file_id is None and ex.folder_id is None:
            continue  # an empty exemption exempts nothing
        return ex
    return None


def _satisfied(cond: DetectorCondition, content: ContentResult) -> DetectorHit | None:
    hit = content.hit(cond.detector)
    if hit is None or hit.count < cond.min_count or hit.best_score < cond.min_score:
        return None
    return hit


def content_matches(rule: Rule, content: ContentResult | None) -> tuple[bool, tuple[DetectorMatch, ...]]:
    """Whether the rule's content conditions hold, and the detectors that made them hold."""
    spec = rule.content
    if spec is None:
        return True, ()
    analysed = content is not None and content.analysed
    fired: dict[str, DetectorHit] = {}
    if spec.any or spec.all:
        if not analysed:
            return False, ()
        assert content is not None
        if spec.any:
            any_hits = [h for h in (_satisfied(c, content) for c in spec.any) if h is not None]
            if not any_hits:
                return False, ()
            fired.update((h.detector, h) for h in any_hits)
        for cond in spec.all:
            hit = _satisfied(cond, content)
            if hit is None:
                return False, ()
            fired[hit.detector] = hit
    if spec.none and analysed:
        assert content is not None
        if any(content.hit(name) is not None for name in spec.none):
            return False, ()
    return True, tuple(
        DetectorMatch(h.detector, h.count, h.best_score, tuple(h.categories)) for h in sorted(fired.values(),
                                                                                               key=lambda h: h.detector)
    )


# --------------------------------------------------------------------------- engine
class PolicyEngine:
    """File rules against one file (folder rules: :mod:`scanner.policy.folders`)."""

    def __init__(self, rules: Iterable[Rule], exemptions: Iterable[StoredExemption] = ()) -> None:
        self.rules = tuple(r for r in rules if r.target == "file")
        self.exemptions = tuple(exemptions)

    def _applies(self, rule: Rule, exposure: FileExposure, ctx: FileContext) -> bool:
        if not (matched_permissions(rule, exposure) or published_matches(rule, exposure.file)):
            return False
        if not metadata_matches(rule, exposure.file, ctx):
            return False
        if rule_exemption(rule, exposure.file, ctx) is not None:
            return False
        return stored_exemption(rule, exposure.file, ctx, self.exemptions) is None

    def candidates(self, exposure: FileExposure, ctx: FileContext | None = None) -> list[Rule]:
        """Rules that could match this file before its content is known (exposure, metadata, exemptions)."""
        ctx = ctx or FileContext()
        return [r for r in self.rules if self._applies(r, exposure, ctx)]

    def needs_content(self, exposure: FileExposure, ctx: FileContext | None = None) -> bool:
        return any(r.content is not None for r in self.candidates(exposure, ctx))

    def evaluate(self, exposure: FileExposure, content: ContentResult | None,
                 ctx: FileContext | None = None) -> list[Match]:
        ctx = ctx or FileContext()
        out: list[Match] = []
        for rule in self.candidates(exposure, ctx):
            ok, detectors = content_matches(rule, content)
            if not ok:
                continue
            perms = matched_permissions(rule, exposure)
            published = published_matches(rule, exposure.file)
            categories = tuple(sorted({c for d in detectors for c in d.categories} | set(rule.categories)))
            if not rule.per_permission:
                out.append(Match(rule, exposure.file, perms, published, detectors, categories))
                continue
            for ep in perms:
                out.append(Match(rule, exposure.file, (ep,), False, detectors, categories, ep.permission.principal))
            if published:
                out.append(Match(rule, exposure.file, (), True, detectors, categories, PUBLISHED_PRINCIPAL))
        return out
