"""The Drive audit log through the Admin SDK Reports API (``activities.list``, ``applicationName=drive``).

Google keeps Drive audit events for 180 days and shows them after a reporting lag (usually minutes,
sometimes hours): readers that poll go back over a window they already read and skip events by their
unique id (``id.time`` + ``id.uniqueQualifier``). Scope: ``admin.reports.audit.readonly``, as an
administrator. This module only calls the API and turns its items into typed records; what the events
mean for a file is :mod:`scanner.exposure_dating`'s business.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from scanner.config import Settings
from scanner.connectors.google.client import CallTally, GoogleClients

#: Google's retention of Drive audit events.
RETENTION = dt.timedelta(days=180)
#: ``maxResults`` upper bound of ``activities.list``.
PAGE_SIZE = 1000
ITEM_FIELDS = "id(time,uniqueQualifier),actor(email,profileId,callerType),ipAddress,events(type,name,parameters)"
FIELDS = f"nextPageToken,items({ITEM_FIELDS})"

ParamValue = str | bool | int | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One event of one Drive audit activity. ``actor_email`` is None for anonymous viewers (Google
    leaves ``actor.email`` empty) and for system changes (``actor_kind`` tells which)."""

    time: dt.datetime
    unique_id: str
    actor_email: str | None
    actor_kind: str  # user | anonymous | system
    type: str
    name: str
    params: tuple[tuple[str, ParamValue], ...]

    def param(self, name: str) -> ParamValue | None:
        for key, value in self.params:
            if key == name:
                return value
        return None

    def text(self, name: str) -> str | None:
        value = self.param(name)
        if value is None:
            return None
        if isinstance(value, tuple):
            return value[0] if value else None
        return str(value).lower() if isinstance(value, bool) else str(value)

    @property
    def doc_id(self) -> str | None:
        return self.text("doc_id")

    @property
    def key(self) -> str:
        """The event's identity across overlapping reads: its time and Google's unique qualifier, plus
        the event name (one activity may hold several events)."""
        return f"{self.time.isoformat()}/{self.unique_id}/{self.name}"


def parse_time(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def rfc3339(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _params(raw: list[dict[str, object]]) -> tuple[tuple[str, ParamValue], ...]:
    out: list[tuple[str, ParamValue]] = []
    for p in raw or []:
        name = str(p.get("name", ""))
        if "boolValue" in p:
            out.append((name, bool(p["boolValue"])))
        elif "multiValue" in p:
            out.append((name, tuple(str(v) for v in p["multiValue"] or ())))  # type: ignore[attr-defined]
        elif "intValue" in p:
            out.append((name, int(str(p["intValue"]))))
        elif "value" in p:
            out.append((name, str(p["value"])))
    return tuple(out)


def records_of(item: dict[str, object]) -> list[AuditRecord]:
    """The events of one ``admin#reports#activity`` as records."""
    ident = item.get("id") or {}
    actor = item.get("actor") or {}
    assert isinstance(ident, dict) and isinstance(actor, dict)
    email = str(actor.get("email") or "").lower() or None
    kind = "user" if email else ("system" if actor.get("callerType") == "KEY" else "anonymous")
    when = parse_time(str(ident.get("time")))
    unique = str(ident.get("uniqueQualifier", ""))
    events = item.get("events") or []
    assert isinstance(events, list)
    return [AuditRecord(time=when, unique_id=unique, actor_email=email, actor_kind=kind,
                        type=str(e.get("type", "")), name=str(e.get("name", "")),
                        params=_params(e.get("parameters") or []))
            for e in events]


@dataclass(frozen=True)
class AuditPage:
    records: list[AuditRecord]
    truncated: bool


class DriveAuditLog:
    """Reads the Drive audit log as the admin subject."""

    def __init__(self, clients: GoogleClients, settings: Settings, tally: CallTally | None = None) -> None:
        self.clients = clients
        self.settings = settings
        self.tally = tally

    def _list(self, *, start: dt.datetime | None, end: dt.datetime | None, filters: str | None,
              max_events: int, event_name: str | None = None) -> AuditPage:
        reports = self.clients.reports(self.settings.google.admin_subject)
        out: list[AuditRecord] = []
        token: str | None = None
        while True:
            kwargs: dict[str, object] = {"userKey": "all", "applicationName": "drive",
                                         "maxResults": min(PAGE_SIZE, max(1, max_events - len(out))),
                                         "fields": FIELDS}
            if self.settings.organisation.customer_id not in ("", "my_customer"):
                kwargs["customerId"] = self.settings.organisation.customer_id
            if start is not None:
                kwargs["startTime"] = rfc3339(start)
            if end is not None:
                kwargs["endTime"] = rfc3339(end)
            if filters:
                kwargs["filters"] = filters
            if event_name:
                kwargs["eventName"] = event_name
            if token:
                kwargs["pageToken"] = token
            page = self.clients.execute(reports.activities().list(**kwargs), tally=self.tally)
            for item in page.get("items", []) or []:
                out.extend(records_of(item))
            token = page.get("nextPageToken")
            if not token:
                return AuditPage(out, truncated=False)
            if len(out) >= max_events:
                return AuditPage(out, truncated=True)

    def for_file(self, file_id: str, *, now: dt.datetime, max_events: int) -> AuditPage:
        """Every retained event of one file (``filters=doc_id==…``), newest first, up to ``max_events``."""
        return self._list(start=now - RETENTION, end=None, filters=f"doc_id=={file_id}", max_events=max_events)

    def window(self, start: dt.datetime, end: dt.datetime | None = None, *, event_names: Sequence[str] = (),
               max_events: int = 100_000) -> AuditPage:
        """The Drive events between ``start`` and ``end`` (the whole domain), newest first: all of them, or
        only ``event_names`` (one query each: ``eventName`` takes one name)."""
        if not event_names:
            return self._list(start=start, end=end, filters=None, max_events=max_events)
        records: list[AuditRecord] = []
        truncated = False
        for name in event_names:
            page = self._list(start=start, end=end, filters=None, max_events=max_events, event_name=name)
            records.extend(page.records)
            truncated = truncated or page.truncated
        records.sort(key=lambda r: (r.time, r.unique_id), reverse=True)
        return AuditPage(records, truncated)
