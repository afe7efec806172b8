"""The ``incident`` seed: Meridian Data (meridian-data.com), where the exposure lives in folders.

A domain with My Drives and two shared drives; a shared-drive folder shared with anyone holding five
sensitive files (one in a subfolder); a My Drive folder shared with anyone holding rosters; published
Docs; a form published for responses; files shared with external users and an external domain; a
shared drive with an outside accountant as a member; a suspended owner's public roster; and plenty of
exposed files with nothing sensitive in them. All people, numbers and keys are fictional.

``EXPECTED`` is the ground truth per file: whether it holds sensitive data, how it is exposed before any
remediation, and whether the default policy fixes that exposure on its own (``auto_fix``: rules with
``auto: true``) — the rest is planned for a person (``auto: false`` rules) and stays exposed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..office import docx_bytes, xlsx_bytes
from ..state.model import DOC, FOLDER, FORM, SHEET, NativeContent, Revision, SharedDrive
from ..state.workspace import Workspace
from .builder import anyone_perm, domain_perm, drive_id, file_id, group_perm, make_file, user_perm
from .demo import CLIENT_BRIEF, FAKE_AWS_KEY, FAKE_AWS_SECRET, ROSTER_HEADER, ROSTER_ROWS

DOMAIN = "meridian-data.com"
SECONDARY = "meridian-labs.com"
ALIAS = "meridiandata.io"
ADMIN = f"admin@{DOMAIN}"
ANA = f"ana.ruiz@{DOMAIN}"         # operations
BEN = f"ben.okafor@{DOMAIN}"       # delivery
CARA = f"cara.holm@{SECONDARY}"    # people team, on the secondary domain
DEV = f"dev.patel@{DOMAIN}"        # engineering
ELI = f"eli.moss@{DOMAIN}"         # left the company: suspended
DELIVERY = f"delivery@{DOMAIN}"
CONSULTANT = "j.marsh.consulting@gmail.com"
ACCOUNTANT = "audit@ledger-partners.example"
PARTNER_DOMAIN = "vantablack-retail.com"

NS = "incident"
CLIENT_PROJECTS = drive_id(NS, "client-projects")
FINANCE = drive_id(NS, "finance")
T0, T1 = "2026-02-02T09:00:00.000Z", "2026-03-09T16:30:00.000Z"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def fid(key: str) -> str:
    return file_id(NS, key)


@dataclass(frozen=True)
class IncidentFile:
    key: str
    file_id: str
    sensitive: bool
    #: public | anyone_with_link | published | external_user | external_domain | domain | internal
    exposure: str
    #: The default policy fixes this exposure on its own (False: planned for a person, or nothing to fix).
    auto_fix: bool
    folder: bool = False


def _roster_csv(rows: list[list[object]]) -> bytes:
    lines = [",".join(ROSTER_HEADER)] + [",".join(str(c) for c in r) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode()


SSN_FORM = ("Contractor onboarding form\nFull name: Marcus Bell\nSSN: 536-22-8411\nStart date: 2026-03-02\n"
            "Payment: weekly\n")
IBAN_SHEET: list[list[Any]] = [["Worker", "Bank", "IBAN", "Amount"],
                               ["Ana Costa", "Millennium", "PT50000201231234567890154", 1200],
                               ["Luca Bianchi", "Intesa", "IT60X0542811101000000123456", 980]]
BENIGN = "The team met to discuss the labelling backlog and agreed to prioritise calibration rounds."


def build() -> Workspace:
    ws = Workspace(org_name="Meridian Data", domain=DOMAIN, customer_id="C07meridian", domains=[DOMAIN, SECONDARY],
                   domain_aliases={ALIAS: DOMAIN})
    ws.add_user(ADMIN, "Iris Lund", is_admin=True, org_unit="/IT")
    ws.add_user(ANA, "Ana Ruiz", org_unit="/Operations")
    ws.add_user(BEN, "Ben Okafor", org_unit="/Delivery")
    ws.add_user(CARA, "Cara Holm", org_unit="/People")
    ws.add_user(DEV, "Dev Patel", org_unit="/Engineering")
    ws.add_user(ELI, "Eli Moss", suspended=True, org_unit="/Former staff")
    ws.add_group(DELIVERY, "Delivery", [BEN, DEV])
    ws.add_drive(SharedDrive(id=CLIENT_PROJECTS, name="Client Projects", created_time=T0,
                             members=[group_perm(ws, DELIVERY, "organizer"), user_perm(ws, BEN, "organizer"),
                                      user_perm(ws, CARA, "reader")]))
    ws.add_drive(SharedDrive(id=FINANCE, name="Finance", created_time=T0,
                             members=[user_perm(ws, ANA, "organizer"), user_perm(ws, ACCOUNTANT, "reader")]))

    def native(key: str, name: str, mime: str, content: NativeContent, **kw: Any) -> None:
        make_file(ws, fid=fid(key), name=name, mime=mime, created=T0, modified=T1, native=content, **kw)

    def binary(key: str, name: str, mime: str, data: bytes, **kw: Any) -> None:
        make_file(ws, fid=fid(key), name=name, mime=mime, created=T0, modified=T1, content=data, **kw)

    # --- shared drive "Client Projects": a handover folder anyone with the link can open ---------------
    make_file(ws, fid=fid("handover"), name="KESTREL handover", mime=FOLDER, drive=CLIENT_PROJECTS,
              parents=[CLIENT_PROJECTS], created=T0, perms=[anyone_perm()])
    inside = {"drive": CLIENT_PROJECTS, "parents": [fid("handover")]}
    binary("handover_roster", "labelers_batch7.csv", "text/csv", _roster_csv(ROSTER_ROWS[:6]), **inside)
    binary("handover_rates", "rates_2026.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           xlsx_bytes([("Rates", [ROSTER_HEADER, *ROSTER_ROWS])]), **inside)
    native("handover_brief", "KESTREL brief (client copy)", DOC, NativeContent(text=CLIENT_BRIEF), **inside)
    binary("handover_sow", "KESTREL SOW.docx", DOCX,
           docx_bytes(["Statement of work — Halcyon Motors, project KESTREL", "Confidential."]), **inside)
    make_file(ws, fid=fid("handover_raw"), name="raw", mime=FOLDER, drive=CLIENT_PROJECTS,
              parents=[fid("handover")], created=T0)
    raw = {"drive": CLIENT_PROJECTS, "parents": [fid("handover_raw")]}
    binary("raw_contacts", "contacts_batch8.csv", "text/csv", _roster_csv(ROSTER_ROWS[2:8]), **raw)
    binary("raw_readme", "README.txt", "text/plain", BENIGN.encode(), **raw)
    binary("handover_guide", "labelling_guide.txt", "text/plain", BENIGN.encode(), **inside)
    make_file(ws, fid=fid("internal_folder"), name="Internal", mime=FOLDER, drive=CLIENT_PROJECTS,
              parents=[CLIENT_PROJECTS], created=T0)
    native("internal_plan", "BLUEFIN plan (internal)", DOC,
           NativeContent(text="Orion Health BLUEFIN plan. Confidential."), drive=CLIENT_PROJECTS,
           parents=[fid("internal_folder")])

    # --- shared drive "Finance": an outside accountant is a member ----------------------------------------
    make_file(ws, fid=fid("payroll_folder"), name="Payroll", mime=FOLDER, drive=FINANCE, parents=[FINANCE],
              created=T0)
    binary("payroll", "payroll_march.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           xlsx_bytes([("Payroll", [ROSTER_HEADER, *ROSTER_ROWS])]), drive=FINANCE, parents=[fid("payroll_folder")])

    # --- Ana's My Drive: a recruiting folder shared with anyone, a published roster, bank details, a form ---
    make_file(ws, fid=fid("recruiting"), name="Recruiting 2026", mime=FOLDER, owner=ANA, created=T0,
              perms=[anyone_perm()])
    mine = {"owner": ANA, "parents": [fid("recruiting")]}
    native("shortlist", "Shortlist", SHEET, NativeContent(sheets=[("Shortlist", [ROSTER_HEADER, *ROSTER_ROWS[:5]])]),
           **mine)
    binary("candidates", "candidates.csv", "text/csv", _roster_csv(ROSTER_ROWS[3:]), **mine)
    native("interview_tips", "Interview tips", DOC, NativeContent(text=BENIGN), **mine)
    native("published_roster", "Contractor directory", DOC,
           NativeContent(text="Contractor directory\n" + "\n".join(f"{r[0]}, {r[1]}, {r[2]}, {r[3]} USD/h"
                                                                 for r in ROSTER_ROWS)), owner=ANA)
    roster_doc = ws.files[fid("published_roster")]
    roster_doc.revisions = [Revision(id="1", modified_time=T0, modifier=ANA),
                            Revision(id="2", modified_time=T1, modifier=ANA, published=True, publish_auto=True,
                                     published_outside_domain=True)]
    native("bank_sheet", "Contractor bank details", SHEET, NativeContent(sheets=[("Bank", IBAN_SHEET)]), owner=ANA,
           perms=[anyone_perm()])
    responders = anyone_perm()
    responders.view, responders.id = "published", responders.id + "Published"
    make_file(ws, fid=fid("signup_form"), name="Contractor sign-up", mime=FORM, owner=ANA, created=T0,
              perms=[responders])

    # --- Ben's My Drive: a published client brief, external collaborators, a key shared outside --------------
    native("brief_published", "KESTREL brief", DOC, NativeContent(text=CLIENT_BRIEF), owner=BEN)
    brief = ws.files[fid("brief_published")]
    brief.revisions = [Revision(id="1", modified_time=T0, modifier=BEN),
                       Revision(id="2", modified_time=T1, modifier=BEN, published=True, publish_auto=True,
                                published_outside_domain=True)]
    native("consultant_notes", "BLUEFIN notes for J. Marsh", DOC,
           NativeContent(text="Orion Health BLUEFIN — notes. Confidential."), owner=BEN,
           perms=[user_perm(ws, CONSULTANT, "writer")])
    native("partner_status", "PEREGRINE status", SHEET,
           NativeContent(sheets=[("Status", [["Client", "Project"], ["Vantablack Retail", "PEREGRINE"]])]),
           owner=BEN, perms=[domain_perm(PARTNER_DOMAIN)])
    binary("deploy_notes", "deploy-notes.txt", "text/plain",
           f"aws_access_key_id = {FAKE_AWS_KEY}\naws_secret_access_key = {FAKE_AWS_SECRET}\n".encode(), owner=BEN,
           perms=[user_perm(ws, CONSULTANT, "reader")])

    # --- Cara (secondary domain): an SSN shared with an outside user; internal sharing across domains -------
    binary("onboarding_form", "onboarding_marcus.docx", DOCX, docx_bytes(SSN_FORM.split("\n")), owner=CARA,
           perms=[user_perm(ws, CONSULTANT, "reader")])
    native("team_roster", "People team roster", SHEET, NativeContent(sheets=[("Team", [ROSTER_HEADER, *ROSTER_ROWS])]),
           owner=CARA, perms=[user_perm(ws, ANA, "writer"), domain_perm(DOMAIN)])

    # --- Dev and Eli: benign public files, a suspended owner's public roster -----------------------------
    native("one_pager", "Meridian one-pager", DOC, NativeContent(text="Meridian Data: data labelling."), owner=DEV,
           perms=[anyone_perm(discover=True)])
    native("recipe", "Offsite recipe", DOC, NativeContent(text="Shakshuka for 12: tomatoes, peppers, eggs."),
           owner=DEV, perms=[anyone_perm()])
    native("old_roster", "Old roster (2024)", SHEET, NativeContent(sheets=[("2024", [ROSTER_HEADER, *ROSTER_ROWS])]),
           owner=ELI, perms=[anyone_perm(), user_perm(ws, ADMIN, "writer")])
    ws.changes.clear()
    return ws


def _expected() -> dict[str, IncidentFile]:
    rows = [
        # key, sensitive, exposure before, auto-fixed by the default policy
        ("handover", False, "anyone_with_link", True, True),
        ("handover_roster", True, "anyone_with_link", True, False),
        ("handover_rates", True, "anyone_with_link", True, False),
        ("handover_brief", True, "anyone_with_link", True, False),
        ("handover_sow", True, "anyone_with_link", True, False),
        ("handover_raw", False, "anyone_with_link", True, True),
        ("raw_contacts", True, "anyone_with_link", True, False),
        ("raw_readme", False, "anyone_with_link", True, False),   # fixed with its folder
        ("handover_guide", False, "anyone_with_link", True, False),
        ("internal_folder", False, "internal", False, True),
        ("internal_plan", True, "internal", False, False),
        ("payroll_folder", False, "external_user", False, True),  # the drive's outside member
        ("payroll", True, "external_user", False, False),          # planned: a person limits the folder
        ("recruiting", False, "anyone_with_link", True, True),
        ("shortlist", True, "anyone_with_link", True, False),
        ("candidates", True, "anyone_with_link", True, False),
        ("interview_tips", False, "anyone_with_link", True, False),
        ("published_roster", True, "published", True, False),
        ("bank_sheet", True, "anyone_with_link", True, False),
        ("signup_form", False, "published", False, False),          # not analysable: inventory only
        ("brief_published", True, "published", True, False),
        ("consultant_notes", True, "external_user", False, False),  # auto: false rules: planned
        ("partner_status", True, "external_domain", False, False),
        ("deploy_notes", True, "external_user", True, False),       # credentials: revoked automatically
        ("onboarding_form", True, "external_user", False, False),
        ("team_roster", True, "domain", False, False),
        ("one_pager", False, "public", False, False),
        ("recipe", False, "anyone_with_link", False, False),
        ("old_roster", True, "anyone_with_link", True, False),
    ]
    return {k: IncidentFile(k, fid(k), sensitive, exposure, auto, folder)
            for k, sensitive, exposure, auto, folder in rows}


EXPECTED: dict[str, IncidentFile] = _expected()
