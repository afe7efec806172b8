"""The demo's Drive audit history, relative to the moment the workspace is built ("now", the first scan).

- The contractor roster sheet was made "anyone with the link" by Maya 40 days ago, opened by anonymous
  viewers seven times since and downloaded by an outside account (``OUTSIDE_DOWNLOADER``); the CSV and
  XLSX rosters were link-shared the same day (the CSV downloaded anonymously twice).
- The 2024 roster of the suspended Sam Ortiz was link-shared in May 2024, before the 180-day retention
  window: its sharing event is stored but never returned; anonymous views within the window are.
- The BLUEFIN guidelines were shared with an outside consultant 60 days ago (who has edited them since),
  the PEREGRINE status with the client's domain 20 days ago (viewed from there), the deploy notes made
  link-shared 10 days ago, the KESTREL folder of the Client Delivery shared drive 25 days ago (its items
  get ``*_hierarchy_reconciled`` events), the marketing one-pager made public 90 days ago.
- Insiders view internal files now and then.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ..state.audit import ANONYMOUS, Visibility
from ..state.workspace import Workspace

OUTSIDE_DOWNLOADER = "k.osei.recruiting@outlook.com"
PEREGRINE_CLIENT_VIEWER = "ops.lead@vantablack-retail.com"
ROSTER_EXPOSED_DAYS_AGO = 40
ROSTER_ANONYMOUS_VIEWS = 7
OLD_ROSTER_SHARED = datetime.fromisoformat("2024-05-02T10:05:00+00:00")

_ANYONE = {"type": "anyone", "role": "reader", "allowFileDiscovery": False}
_PUBLIC = {"type": "anyone", "role": "reader", "allowFileDiscovery": True}


def seed_history(ws: Workspace, ids: Callable[[str], str], people: dict[str, str], now: datetime) -> None:
    """``ids``: demo file key -> id; ``people``: role -> email (maya, liam, priya, jonas, sam, external)."""
    log = ws.audit

    def ago(days: float, hours: float = 0.0) -> datetime:
        return now - timedelta(days=days, hours=hours)

    def shared(key: str, actor: str, after: dict[str, Any], days: float, old: str, new: str,
               at: datetime | None = None) -> None:
        log.record_sharing(ws, ids(key), actor, before=None, after=after, time=at or ago(days),
                           old_visibility=old, visibility=new)

    def access(key: str, name: str, actor: str, days: float, hours: float = 0.0, visibility: str | None = None,
               ip: str | None = None) -> None:
        log.record_access(ws, ids(key), name, actor, time=ago(days, hours), visibility=visibility, ip=ip,
                          history=True)

    link = str(Visibility.PEOPLE_WITH_LINK)
    with log.bulk():
        # contractor rosters: link-shared 40 days ago
        for key, hours in (("roster_sheet", 9.5), ("roster_xlsx", 9.4), ("roster_csv", 9.3)):
            shared(key, people["maya"], _ANYONE, 0, "private", link, at=ago(ROSTER_EXPOSED_DAYS_AGO, hours))
        for n, (days, hours) in enumerate([(38, 2), (31, 5), (24, 1), (17, 8), (11, 3), (5, 6), (2, 4)]):
            access("roster_sheet", "view", ANONYMOUS, days, hours, link, ip=f"198.18.{n + 10}.{40 + n}")
        access("roster_sheet", "download", OUTSIDE_DOWNLOADER, 12, 7, link, ip="203.0.113.77")
        access("roster_sheet", "view", OUTSIDE_DOWNLOADER, 12, 7.2, link, ip="203.0.113.77")
        access("roster_sheet", "edit", people["maya"], 3, 1, link)
        access("roster_sheet", "view", people["liam"], 6, 2, link)
        access("roster_csv", "download", ANONYMOUS, 21, 3, link, ip="198.18.40.2")
        access("roster_csv", "download", ANONYMOUS, 8, 9, link, ip="198.18.41.7")
        # exposed since before the retention window
        shared("old_roster_suspended", people["sam"], _ANYONE, 0, "shared_internally", link, at=OLD_ROSTER_SHARED)
        access("old_roster_suspended", "view", ANONYMOUS, 150, 2, link, ip="198.18.60.9")
        access("old_roster_suspended", "view", ANONYMOUS, 44, 6, link, ip="198.18.61.3")
        # outside collaborators
        shared("bluefin_guidelines", people["liam"], {"type": "user", "role": "writer",
                                                      "emailAddress": people["external"]},
               60, "private", str(Visibility.SHARED_EXTERNALLY))
        access("bluefin_guidelines", "edit", people["external"], 52, 3, ip="203.0.113.140")
        access("bluefin_guidelines", "view", people["external"], 9, 5, ip="203.0.113.140")
        shared("peregrine_status", people["liam"], {"type": "domain", "role": "reader",
                                                    "domain": "vantablack-retail.com"},
               20, "private", str(Visibility.SHARED_EXTERNALLY))
        access("peregrine_status", "view", PEREGRINE_CLIENT_VIEWER, 18, 1, ip="203.0.113.201")
        # link-shared more recently
        shared("deploy_notes_txt", people["jonas"], _ANYONE, 10, "private", link)
        access("deploy_notes_txt", "view", ANONYMOUS, 4, 7, link, ip="198.18.70.5")
        shared("sow_pdf", people["liam"], _ANYONE, 15, "private", link)
        shared("marketing_one_pager", people["priya"], _PUBLIC, 90, "private", str(Visibility.PUBLIC_ON_THE_WEB))
        for n, days in enumerate((80, 61, 33, 7)):
            access("marketing_one_pager", "view", ANONYMOUS, days, n, str(Visibility.PUBLIC_ON_THE_WEB),
                   ip=f"198.18.80.{n + 1}")
        # the KESTREL folder of the Client Delivery shared drive, and its items by inheritance
        at = ago(25, 4)
        log.record_sharing(ws, ids("kestrel_folder"), people["liam"], before=None, after=_ANYONE, time=at,
                           old_visibility="shared_internally", visibility=link)
        for key in ("kestrel_qa_notes", "kestrel_labels_csv"):
            log.record_sharing(ws, ids(key), people["liam"], before=None, after=_ANYONE, time=at,
                               old_visibility="shared_internally", visibility=link, reconciled=True)
        access("kestrel_qa_notes", "view", ANONYMOUS, 23, 2, link, ip="198.18.90.14")
        # insiders at work
        access("client_brief_internal", "view", people["maya"], 14, 3)
        access("client_brief_internal", "edit", people["liam"], 13, 6)
        access("allhands_slides", "view", people["jonas"], 27, 1)
