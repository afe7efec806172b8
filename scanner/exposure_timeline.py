"""A finding's file timeline: exposed by whom and when, who reached it from outside, what sharescan saw and
did (remediated, restored), in time order. Built from the database only (the exposure dating the scans
stored from the Drive audit log, the finding and its actions): ``sharescan findings show`` prints it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scanner.store.models import ExposureDating, Finding, RemediationAction

SOURCE_WORDS = {"audit_log": "Drive audit log", "before_retention": "before the audit log's 180 days",
                "first_seen": "first seen by sharescan (no audit log)"}


@dataclass(frozen=True)
class TimelineEntry:
    time: dt.datetime | None
    event: str
    who: str
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"time": self.time, "event": self.event, "who": self.who, "detail": self.detail}


def actor_label(kind: str | None, domain: str | None, digest: str | None, email: str | None) -> str:
    if kind in ("anonymous", "system"):
        return kind
    if email:
        return email
    if domain:
        return f"someone@{domain} (#{(digest or '')[:8]})"
    return ""


def access_words(access: dict[str, Any]) -> str:
    parts = []
    for who, label in (("anonymous", "anonymous"), ("outside", "outside accounts"), ("insider", "insiders")):
        counts = access.get(who) or {}
        done = [f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in counts.items() if n]
        if done:
            parts.append(f"{label}: {', '.join(done)}")
    return "; ".join(parts) or "no views, downloads or copies"


def exposure_detail(d: ExposureDating | None) -> dict[str, Any] | None:
    """The stored dating as a plain record (``findings show --format json``)."""
    if d is None:
        return None
    dated = d.source != "first_seen"
    return {"source": d.source, "exposed_since": d.exposed_since, "visibility": d.visibility,
            "exposed_by": actor_label(d.exposed_by_kind, d.exposed_by_domain, d.exposed_by_hash, d.exposed_by_email)
            or None,
            "reached_outside": ("yes" if d.outside_total else "no") if dated else "unknown",
            "access": d.access, "outside_total": d.outside_total, "outside_domains": d.outside_domains,
            "outside_actors": d.outside_actors, "window_start": d.window_start, "window_end": d.window_end,
            "truncated": d.truncated, "skipped_reason": d.skipped_reason, "dated_at": d.dated_at}


def timeline(session: Session, finding: Finding) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = []
    d = session.get(ExposureDating, finding.file_id)
    if d is not None:
        by = actor_label(d.exposed_by_kind, d.exposed_by_domain, d.exposed_by_hash, d.exposed_by_email)
        if d.source == "audit_log":
            entries.append(TimelineEntry(d.exposed_since, "exposed", by, f"sharing set to {d.visibility or '?'} "
                                         "(Drive audit log)"))
        elif d.source == "before_retention":
            entries.append(TimelineEntry(d.exposed_since, "exposed (since at least)", "",
                                         "exposed before the audit log's 180-day retention"))
        else:
            entries.append(TimelineEntry(d.exposed_since, "exposed (first seen)", "",
                                         d.skipped_reason or SOURCE_WORDS["first_seen"]))
        if d.source != "first_seen":
            domains = f" from {', '.join(d.outside_domains)}" if d.outside_domains else ""
            more = " (at least: the event bound was reached)" if d.truncated else ""
            entries.append(TimelineEntry(d.window_end, "access while exposed", "",
                                         access_words(d.access or {}) + domains + more))
    entries.append(TimelineEntry(finding.first_seen, "detected by sharescan", "",
                                 f"rule {finding.rule_id} (exposure {finding.exposure})"))
    actions = session.scalars(select(RemediationAction).where(RemediationAction.finding_id == finding.id)
                              .order_by(RemediationAction.id))
    for a in actions:
        if a.action == "notify" or a.status in ("planned", "skipped", "unchanged"):
            continue
        what = "restored by sharescan" if a.restores_action_id else f"{a.action} by sharescan"
        if a.mode != "enforce":
            what = f"{a.action} planned ({a.mode})"
        who = a.actor + (f" as {a.acted_as}" if a.acted_as else "")
        entries.append(TimelineEntry(a.completed_at or a.created_at, what, who,
                                     f"action {a.id}: {a.status}" + (f" — {a.detail}" if a.detail else "")))
    if finding.remediated_at:
        entries.append(TimelineEntry(finding.remediated_at, "remediated", "", "the risky sharing is gone"))
    if finding.resolved_at:
        entries.append(TimelineEntry(finding.resolved_at, "resolved", "", "the condition was gone at a later scan"))
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    return sorted(entries, key=lambda e: e.time or epoch)
