"""``sharescan scan --estimate``: the quota units and the minimum time of a full and an incremental scan,
forecast from the stored inventory (no Google call is made).

Costs come from the one table in ``scanner.connectors.google.quota``; the time is what the pacer allows
(``[limits]``: the project's budget shared among the runs that share it, and each impersonated
user's limit): ``max(total units / project units per minute, busiest user's units / user units per
minute)``. It is a floor: our own latency and CPU come on top (``benchmarks/bench_scan.py``).

Model, per call Drive makes for us:
- ``files.list``: a full crawl lists each user's My Drive and each shared drive in pages of at most
  1,000, and Drive may return fewer (about 460 with the fields we ask for): ``FILES_PER_PAGE``.
- ``permissions.list``: one per shared-drive item and per form (files.list leaves those out).
- ``revisions.list``: the publish checks ``scanner.core.publish`` asks for; with unchanged revisions,
  Docs editor files never read plus the periodic pass's share (``publish_recheck_per_run``).
- downloads/exports: exposed files whose content is pending, and (incremental) the exposed files that changed.
- ``changes.list``: one per target on an incremental run, plus one page per 1,000 changes.
The incremental forecast is given for an unchanged night and for ``changed_fraction`` of the files changed.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from scanner.config import Settings
from scanner.connectors.google.mime import GOOGLE_EDITOR_TYPES, GOOGLE_FORM
from scanner.connectors.google.quota import MEDIA_METHOD, budget_for, method_cost
from scanner.store.models import CrawlTarget, DriveFileRow

#: Files per files.list page Drive returns in practice for our field mask (pageSize is 1,000).
FILES_PER_PAGE = 460
#: Changes per changes.list page.
CHANGES_PER_PAGE = 1000


@dataclass(frozen=True)
class Forecast:
    """One kind of scan: calls per method, their units, and the minimum time the quota allows."""

    kind: str
    calls: dict[str, int]
    units: dict[str, int]
    total_units: int
    busiest_user_units: int
    minimum_minutes: float

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "calls": self.calls, "units": self.units, "total_units": self.total_units,
                "busiest_user_units": self.busiest_user_units, "minimum_minutes": round(self.minimum_minutes, 2)}


@dataclass(frozen=True)
class ScanEstimate:
    files: int
    users: int
    shared_drives: int
    project_units_per_minute: int
    user_units_per_minute: int
    changed_fraction: float
    forecasts: list[Forecast] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"files": self.files, "users": self.users, "shared_drives": self.shared_drives,
                "project_units_per_minute": self.project_units_per_minute,
                "user_units_per_minute": self.user_units_per_minute, "changed_fraction": self.changed_fraction,
                "forecasts": [f.as_dict() for f in self.forecasts]}


@dataclass
class _Target:
    files: int = 0
    shared_items: int = 0  # shared-drive items and forms: a permissions.list each
    editors: int = 0
    never_read: int = 0
    due: int = 0
    to_fetch: int = 0  # exposed binary files whose content is pending (a download each)
    to_export: int = 0  # the same for Docs editor files (an export each)
    exposed: int = 0


def _calls_units(calls: Counter[str]) -> tuple[dict[str, int], dict[str, int]]:
    units = {m: n * method_cost("drive.files.get" if m == MEDIA_METHOD else m,
                                "alt=media" if m == MEDIA_METHOD else "") for m, n in calls.items()}
    return dict(sorted(calls.items())), dict(sorted(units.items()))


def _inventory(session: Session, settings: Settings, now: dt.datetime) -> dict[tuple[str, str], _Target]:
    days = settings.limits.publish_recheck_days
    due_before = now - dt.timedelta(days=days)
    targets: dict[tuple[str, str], _Target] = {}
    for kind, name in session.execute(select(CrawlTarget.kind, CrawlTarget.key).where(CrawlTarget.active.is_(True))):
        targets[(kind, name.lower() if kind == "user" else name)] = _Target()
    if days == 0:
        state = case((DriveFileRow.publish_checked_at.is_(None), "never"), else_="due")
    else:
        state = case((DriveFileRow.publish_checked_at.is_(None), "never"),
                     (DriveFileRow.publish_checked_at < due_before, "due"), else_="fresh")
    rows = session.execute(
        select(DriveFileRow.owner_email, DriveFileRow.drive_id, DriveFileRow.mime_type, DriveFileRow.exposure,
               DriveFileRow.content_status, state, func.count())
        .where(DriveFileRow.removed_at.is_(None))
        .group_by(DriveFileRow.owner_email, DriveFileRow.drive_id, DriveFileRow.mime_type, DriveFileRow.exposure,
                  DriveFileRow.content_status, state)
    )
    for owner, drive_id, mime, exposure, content_status, publish_state, count in rows:
        key = ("drive", drive_id) if drive_id else ("user", (owner or "").lower())
        t = targets.setdefault(key, _Target())
        t.files += count
        if drive_id or mime == GOOGLE_FORM:
            t.shared_items += count
        if mime in GOOGLE_EDITOR_TYPES:
            t.editors += count
            if publish_state == "never":
                t.never_read += count
            elif publish_state == "due":
                t.due += count
        if exposure != "internal":
            t.exposed += count
            if content_status == "pending":
                if mime in GOOGLE_EDITOR_TYPES:
                    t.to_export += count
                else:
                    t.to_fetch += count
    return targets


def estimate(session: Session, settings: Settings, *, changed_fraction: float = 0.01,
             now: dt.datetime | None = None) -> ScanEstimate:
    """Forecast a full and an incremental scan (unchanged, and ``changed_fraction`` changed) from the store."""
    now = now or dt.datetime.now(dt.UTC)
    budget = budget_for(settings.limits)
    targets = _inventory(session, settings, now)
    users = sum(1 for kind, _ in targets if kind == "user")
    drives = len(targets) - users
    files = sum(t.files for t in targets.values())
    due_left = settings.limits.publish_recheck_per_run

    def forecast(kind: str, per_target: dict[tuple[str, str], Counter[str]], overhead: Counter[str]) -> Forecast:
        total: Counter[str] = Counter(overhead)
        busiest = 0
        for calls in per_target.values():
            total.update(calls)
            busiest = max(busiest, sum(_calls_units(calls)[1].values()))
        calls_out, units_out = _calls_units(total)
        units = sum(units_out.values())
        minutes = max(units / budget.project_units_per_minute, busiest / budget.user_units_per_minute)
        return Forecast(kind=kind, calls=calls_out, units=units_out, total_units=units,
                        busiest_user_units=busiest, minimum_minutes=minutes)

    overhead: Counter[str] = Counter({"directory.users.list": max(1, math.ceil(users / 500)),
                                      "directory.domains.list": 1})
    if drives:
        overhead["drive.drives.list"] = max(1, math.ceil(drives / 100))

    full: dict[tuple[str, str], Counter[str]] = {}
    for key, t in targets.items():
        due = min(t.due, due_left)
        due_left -= due
        c: Counter[str] = Counter({
            "drive.changes.getStartPageToken": 1,
            "drive.files.list": max(1, math.ceil(t.files / FILES_PER_PAGE)),
            "drive.permissions.list": t.shared_items,
            "drive.revisions.list": t.never_read + due,
            MEDIA_METHOD: t.to_fetch,
            "drive.files.export": t.to_export,
        })
        full[key] = +c

    def incremental(fraction: float) -> dict[tuple[str, str], Counter[str]]:
        out: dict[tuple[str, str], Counter[str]] = {}
        for key, t in targets.items():
            changed = math.ceil(t.files * fraction)
            share = changed / t.files if t.files else 0.0
            c = Counter({
                "drive.changes.list": 1 + changed // CHANGES_PER_PAGE,
                "drive.permissions.list": math.ceil(t.shared_items * share),
                "drive.revisions.list": math.ceil(t.editors * share) + t.never_read,
                MEDIA_METHOD: t.to_fetch + math.ceil(t.exposed * share),
                "drive.files.export": t.to_export,
            })
            out[key] = +c
        return out

    forecasts = [forecast("full", full, overhead),
                 forecast("incremental (unchanged)", incremental(0.0), overhead),
                 forecast(f"incremental ({changed_fraction:.1%} changed)", incremental(changed_fraction), overhead)]
    return ScanEstimate(files=files, users=users, shared_drives=drives,
                        project_units_per_minute=budget.project_units_per_minute,
                        user_units_per_minute=budget.user_units_per_minute, changed_fraction=changed_fraction,
                        forecasts=forecasts)
