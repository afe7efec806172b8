"""Domain sanity before anything is revoked.

Everything external is decided by ``[organisation] domains``: a typo there (``tessera-labs.co``) makes
internal sharing look external, and enforcement would revoke it. At the start of every scan the
configured domains are checked against what the Directory says the customer owns (primary, secondary
domains and aliases), and after the crawl the "external" grants are checked for near-misses of an
internal domain (a small edit distance: ``tessera-labs.co`` next to ``tessera-labs.com``). A configured
domain the customer does not own, a large share of external grants to a near-miss, or a Directory that
could not be read stops enforcement for the run (dry-run still plans and reports); ``scans show``
shows the check, and ``sharescan remediate --apply`` honours the latest scan's verdict.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scanner.connectors.google.directory import CustomerDomains
from scanner.store.models import ScanRun

#: At most this many single-character edits (insert, delete, substitute, swap) make a near-miss...
NEAR_MISS_DISTANCE = 2
#: ...and fewer than a quarter of the length of the internal domain's first label (``tessera-labs`` of
#: ``tessera-labs.com``): short names differ by one letter legitimately.
NEAR_MISS_MAX_FRACTION = 0.25
#: Enforcement stops when near-misses get at least this many external grants and this share of them.
NEAR_MISS_MIN_GRANTS = 3
NEAR_MISS_MIN_SHARE = 0.2


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (Levenshtein plus swaps of neighbouring characters)."""
    rows = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        rows[i][0] = i
    for j in range(len(b) + 1):
        rows[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    return rows[len(a)][len(b)]


@dataclass(frozen=True)
class NearMiss:
    """An external domain that looks like an internal one."""

    domain: str
    looks_like: str
    distance: int
    grants: int


def near_misses(internal: Iterable[str], external: Mapping[str, int]) -> tuple[NearMiss, ...]:
    ours = sorted(set(internal))
    out = []
    for domain, grants in sorted(external.items()):
        if domain in ours:
            continue
        best = min(((edit_distance(domain, i), i) for i in ours), default=None)
        if best is None:
            continue
        distance, looks_like = best
        label = looks_like.split(".", 1)[0]
        if 0 < distance <= NEAR_MISS_DISTANCE and distance < NEAR_MISS_MAX_FRACTION * len(label):
            out.append(NearMiss(domain, looks_like, distance, grants))
    return tuple(out)


@dataclass(frozen=True)
class DomainCheck:
    configured: tuple[str, ...]
    #: What the Directory says the customer owns (empty when it could not be read).
    owned: tuple[str, ...] = ()
    #: Configured but not the customer's: sharing there is external, not internal.
    not_owned: tuple[str, ...] = ()
    #: The customer's, but not configured: sharing there is treated as external (reported, not blocking).
    unconfigured: tuple[str, ...] = ()
    near_misses: tuple[NearMiss, ...] = ()
    external_grants: int = 0
    directory_error: str | None = None

    @property
    def near_miss_grants(self) -> int:
        return sum(n.grants for n in self.near_misses)

    @property
    def blocked(self) -> str | None:
        """Why enforcement must not happen, or None."""
        problems = []
        if self.directory_error:
            problems.append(f"the Directory's domains could not be read ({self.directory_error}), so [organisation] "
                            "domains cannot be checked")
        if self.not_owned:
            problems.append(f"[organisation] domains lists {', '.join(self.not_owned)}, which the customer does not "
                            f"own (the Directory lists {', '.join(self.owned) or 'none'})")
        total, missed = self.external_grants, self.near_miss_grants
        if missed >= NEAR_MISS_MIN_GRANTS and total and missed / total >= NEAR_MISS_MIN_SHARE:
            looks = ", ".join(f"{n.domain} (like {n.looks_like})" for n in self.near_misses)
            problems.append(f"{missed} of {total} external grants go to domains that look like the organisation's: "
                            f"{looks}")
        return "; ".join(problems) or None

    def to_json(self) -> dict[str, Any]:
        return {"configured": list(self.configured), "owned": list(self.owned), "not_owned": list(self.not_owned),
                "unconfigured": list(self.unconfigured), "external_grants": self.external_grants,
                "near_misses": [{"domain": n.domain, "looks_like": n.looks_like, "distance": n.distance,
                                 "grants": n.grants} for n in self.near_misses],
                "directory_error": self.directory_error, "blocked": self.blocked}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DomainCheck:
        return cls(tuple(data.get("configured") or ()), tuple(data.get("owned") or ()),
                   tuple(data.get("not_owned") or ()), tuple(data.get("unconfigured") or ()),
                   tuple(NearMiss(str(n["domain"]), str(n["looks_like"]), int(n["distance"]), int(n["grants"]))
                         for n in data.get("near_misses") or ()),
                   int(data.get("external_grants") or 0), data.get("directory_error"))


def check_domains(configured: Iterable[str], directory: CustomerDomains | None, *,
                  directory_error: str | None = None, external: Mapping[str, int] | None = None) -> DomainCheck:
    """The configured domains against the Directory's, and the external grants against near-misses."""
    mine = tuple(sorted({d.lower() for d in configured}))
    owned = tuple(sorted(directory.owned)) if directory is not None else ()
    grants = dict(external or {})
    return DomainCheck(
        configured=mine, owned=owned,
        not_owned=tuple(d for d in mine if owned and d not in owned),
        unconfigured=tuple(d for d in owned if d not in mine),
        near_misses=near_misses(set(mine) | set(owned), grants), external_grants=sum(grants.values()),
        directory_error=directory_error if directory is None else None)


def latest_check(session: Session) -> DomainCheck | None:
    """The domain check of the latest scan that finished."""
    run = session.scalars(select(ScanRun).where(ScanRun.status.in_(("completed", "partial")))
                          .order_by(ScanRun.id.desc()).limit(1)).first()
    data = (run.stats or {}).get("domain_check") if run is not None else None
    return DomainCheck.from_json(data) if data else None


def enforcement_block(sessions: sessionmaker[Session]) -> str | None:
    """Why enforcement must not happen now, from the latest scan's domain check (None: go ahead)."""
    with sessions() as session:
        check = latest_check(session)
    return check.blocked if check is not None else None
