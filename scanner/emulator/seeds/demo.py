"""The ``demo`` seed: Tessera Labeling (tessera-labs.com), a data-labelling shop with three clients.

Clients (see rules/dictionaries/client_codenames.txt): Halcyon Motors (KESTREL), Orion Health (BLUEFIN),
Vantablack Retail (PEREGRINE). All people, emails, phone numbers and keys here are fictional.

Users: admin@ (admin, /IT), maya.chen@ (runs the contractor programme, /Contractors), liam.novak@
(delivery PM, /Delivery), priya.raman@ (marketing), jonas.weber@ (engineer), sam.ortiz@ (suspended).
Group delivery-team@. Shared drives "Client Delivery" and "Operations". Drive posture per org unit
and the "Confidential" label: :mod:`.demo_posture`; audit history: :mod:`.demo_audit`.

What a scan should find (`EXPECTED`, keyed by a short name; `flagged` = exposed beyond the organisation
AND sensitive, or a folder whose link exposes sensitive files below it):

==========================  ==============================  =========  =======
file                        exposure                        sensitive  flagged
==========================  ==============================  =========  =======
roster_sheet                anyone_with_link                yes        yes
roster_xlsx                 anyone_with_link                yes        yes
roster_csv                  anyone_with_link                yes        yes
recruiting_folder           anyone_with_link                no         yes
candidate_shortlist         anyone_with_link (inherited)    yes        yes
old_roster_suspended        anyone_with_link                yes        yes
client_brief_published      published                       yes        yes
client_brief_internal       internal                        yes        no
bluefin_guidelines          external_user                   yes        yes
peregrine_status            external_domain                 yes        yes
sow_pdf                     anyone_with_link                yes        yes
addendum_docx               external_user                   yes        yes
peregrine_review_pptx       anyone_with_link                yes        yes
deploy_notes_txt            anyone_with_link                yes (key)  yes
marketing_one_pager         public                          no         no
offsite_recipe              anyone_with_link                no         no
blog_draft                  anyone_with_link                no         no
onboarding_guide            anyone_with_link                no         no
allhands_slides             domain                          no         no
one_pager_shortcut          internal (target is public)     no         no
kestrel_folder (drive)      anyone_with_link                no         yes
kestrel_qa_notes (drive)    anyone_with_link (inherited)    yes        yes
kestrel_labels_csv (drive)  anyone_with_link (inherited)    yes        yes
bluefin_kickoff (drive)     internal                        yes        no
payroll_xlsx (drive)        internal                        yes        no
==========================  ==============================  =========  =======
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ..office import docx_bytes, pptx_bytes, xlsx_bytes
from ..pdf import text_pdf
from ..state.model import DOC, FOLDER, SHEET, SHORTCUT, SLIDES, NativeContent, Revision, SharedDrive
from ..state.workspace import Workspace
from .builder import anyone_perm, domain_perm, drive_id, file_id, group_perm, make_file, user_perm
from .demo_audit import seed_history
from .demo_posture import CONTRACTORS_OU, seed_labels, seed_posture

DOMAIN = "tessera-labs.com"
ADMIN = "admin@tessera-labs.com"
MAYA = "maya.chen@tessera-labs.com"
LIAM = "liam.novak@tessera-labs.com"
PRIYA = "priya.raman@tessera-labs.com"
JONAS = "jonas.weber@tessera-labs.com"
SAM = "sam.ortiz@tessera-labs.com"
DELIVERY_GROUP = "delivery-team@tessera-labs.com"
EXTERNAL_USER = "r.alvarez.consult@gmail.com"
EXTERNAL_DOMAIN = "vantablack-retail.com"
FAKE_AWS_KEY = "AKIAZ7QXTESSERA4DEMO"  # pattern-valid, obviously fake
FAKE_AWS_SECRET = "tEsSeRaDeMo/NotARealSecret/0123456789abcd"  # noqa: S105 - fake on purpose

NS = "demo"


def fid(key: str) -> str:
    return file_id(NS, key)


CLIENT_DELIVERY = drive_id(NS, "client-delivery")
OPERATIONS = drive_id(NS, "operations")


@dataclass(frozen=True)
class ExpectedFile:
    key: str
    file_id: str
    name: str
    exposure: str  # public | anyone_with_link | published | external_user | external_domain | domain | internal
    sensitive: bool
    flagged: bool
    inherited: bool = False
    note: str = ""


ROSTER_HEADER = ["Name", "Email", "Phone", "Hourly rate (USD)", "Project"]
ROSTER_ROWS = [
    ["Elena Marchetti", "elena.marchetti@gmail.com", "+1 415 555 0142", 28.50, "KESTREL"],
    ["Tomasz Wojcik", "t.wojcik.labels@outlook.com", "+48 512 555 019", 22.00, "KESTREL"],
    ["Aisha Bello", "aisha.bello.work@gmail.com", "+234 803 555 0177", 19.75, "BLUEFIN"],
    ["Diego Fernández", "diego.fdz@protonmail.com", "+34 612 555 083", 24.00, "BLUEFIN"],
    ["Hannah Lindqvist", "hannah.lindqvist@yahoo.com", "+46 70 555 0126", 31.00, "PEREGRINE"],
    ["Kenji Watanabe", "kenji.w.annotate@gmail.com", "+81 90 5555 0199", 27.25, "PEREGRINE"],
    ["Grace Mwangi", "grace.mwangi.data@gmail.com", "+254 712 555 064", 18.50, "KESTREL"],
    ["Oliver Brandt", "oliver.brandt@gmx.de", "+49 151 5550 1234", 26.00, "BLUEFIN"],
]
CLIENT_BRIEF = (
    "CONFIDENTIAL — Client: Halcyon Motors, Project KESTREL\n"
    "Scope: 2D bounding boxes and lane segmentation for 480,000 dashcam frames (batches 10–22).\n"
    "Commercials: USD 0.11 per frame, volume discount above 300k frames. Contract value USD 52,800.\n"
    "Halcyon Motors contacts: programme lead and data-platform team (see CRM).\n"
    "Do not share outside Tessera Labeling. KESTREL is covered by the Halcyon Motors MNDA."
)


def _roster_csv() -> bytes:
    lines = [",".join(ROSTER_HEADER)] + [",".join(str(c) for c in row) for row in ROSTER_ROWS]
    return ("\r\n".join(lines) + "\r\n").encode()


def build() -> Workspace:
    ws = Workspace(org_name="Tessera Labeling", domain=DOMAIN, customer_id="C03tessera",
                   domains=[DOMAIN, "tessera-labeling.com"])
    ws.add_user(ADMIN, "Amara Okafor", is_admin=True, org_unit="/IT")
    ws.add_user(MAYA, "Maya Chen", org_unit=CONTRACTORS_OU)
    ws.add_user(LIAM, "Liam Novak", org_unit="/Delivery")
    ws.add_user(PRIYA, "Priya Raman", org_unit="/Marketing")
    ws.add_user(JONAS, "Jonas Weber", org_unit="/Engineering")
    ws.add_user(SAM, "Sam Ortiz", suspended=True, org_unit="/Former staff")
    ws.add_group(DELIVERY_GROUP, "Delivery team", [MAYA, LIAM, JONAS])

    ws.add_drive(SharedDrive(id=CLIENT_DELIVERY, name="Client Delivery", created_time="2025-02-03T09:00:00.000Z",
                             members=[group_perm(ws, DELIVERY_GROUP, "organizer"), user_perm(ws, LIAM, "organizer"),
                                      user_perm(ws, PRIYA, "reader")]))
    ws.add_drive(SharedDrive(id=OPERATIONS, name="Operations", created_time="2025-02-04T09:00:00.000Z",
                             members=[user_perm(ws, ADMIN, "organizer"), user_perm(ws, MAYA, "writer")]))

    t0 = "2026-01-12T09:30:00.000Z"
    t1 = "2026-02-20T14:05:00.000Z"
    t2 = "2026-03-02T08:15:00.000Z"

    # --- contractor rosters -------------------------------------------------------------------
    make_file(ws, fid=fid("roster_sheet"), name="Contractor roster — March 2026", mime=SHEET, owner=MAYA,
              created=t0, modified=t2, perms=[anyone_perm()],
              native=NativeContent(sheets=[("Roster", [ROSTER_HEADER, *ROSTER_ROWS]),
                                           ("Notes", [["Rates reviewed quarterly"]])]))
    make_file(ws, fid=fid("roster_xlsx"), name="contractor_rates_2026.xlsx",
              mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", owner=MAYA, created=t0,
              modified=t1, perms=[anyone_perm()],
              content=xlsx_bytes([("Rates", [ROSTER_HEADER, *ROSTER_ROWS])]))
    make_file(ws, fid=fid("roster_csv"), name="contractor_contacts.csv", mime="text/csv", owner=MAYA,
              created=t0, modified=t1, perms=[anyone_perm()], content=_roster_csv())
    make_file(ws, fid=fid("recruiting_folder"), name="Recruiting", mime=FOLDER, owner=MAYA, created=t0,
              perms=[anyone_perm()])
    make_file(ws, fid=fid("candidate_shortlist"), name="Candidate shortlist", mime=SHEET, owner=MAYA,
              parents=[fid("recruiting_folder")], created=t1,
              native=NativeContent(sheets=[("Shortlist", [ROSTER_HEADER, *ROSTER_ROWS[:5]])]))
    make_file(ws, fid=fid("old_roster_suspended"), name="Old roster (2024)", mime=SHEET, owner=SAM,
              created="2024-05-02T10:00:00.000Z", perms=[anyone_perm(), user_perm(ws, ADMIN, "writer")],
              native=NativeContent(sheets=[("2024", [ROSTER_HEADER, *ROSTER_ROWS[3:]])]))

    # --- client briefs --------------------------------------------------------------------------
    published = make_file(ws, fid=fid("client_brief_published"), name="Client brief — KESTREL", mime=DOC,
                          owner=LIAM, created=t0, modified=t1, native=NativeContent(text=CLIENT_BRIEF))
    published.revisions = [
        Revision(id="1", modified_time=t0, modifier=LIAM),
        Revision(id="2", modified_time=t1, modifier=LIAM, published=True, publish_auto=True,
                 published_outside_domain=True),
    ]
    published.version = 2
    make_file(ws, fid=fid("client_brief_internal"), name="Client brief — KESTREL (internal copy)", mime=DOC,
              owner=LIAM, created=t0, modified=t1, perms=[group_perm(ws, DELIVERY_GROUP, "writer")],
              native=NativeContent(text=CLIENT_BRIEF))
    make_file(ws, fid=fid("bluefin_guidelines"), name="Orion Health BLUEFIN — annotation guidelines", mime=DOC,
              owner=LIAM, created=t1, perms=[user_perm(ws, EXTERNAL_USER, "writer")],
              native=NativeContent(text="Orion Health / Project BLUEFIN\nAnnotation guidelines v3 for radiology "
                                        "report de-identification. Confidential to Orion Health."))
    make_file(ws, fid=fid("peregrine_status"), name="Vantablack Retail PEREGRINE — weekly status", mime=SHEET,
              owner=LIAM, created=t1, perms=[domain_perm(EXTERNAL_DOMAIN, "reader")],
              native=NativeContent(sheets=[("Status", [["Week", "Client", "Project", "Frames"],
                                                       ["W09", "Vantablack Retail", "PEREGRINE", 41200],
                                                       ["W10", "Vantablack Retail", "PEREGRINE", 39950]])]))

    # --- one file per extracted format ----------------------------------------------------------
    make_file(ws, fid=fid("sow_pdf"), name="KESTREL_statement_of_work.pdf", mime="application/pdf", owner=LIAM,
              created=t1, perms=[anyone_perm()],
              content=text_pdf("Statement of Work\nClient: Halcyon Motors\nProject KESTREL - lane segmentation"
                               "\nTotal fee: USD 52,800\nConfidential.", "KESTREL SOW"))
    make_file(ws, fid=fid("addendum_docx"), name="BLUEFIN_data_handling_addendum.docx",
              mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document", owner=LIAM,
              created=t1, perms=[user_perm(ws, EXTERNAL_USER, "reader")],
              content=docx_bytes(["Data handling addendum — Orion Health (BLUEFIN)",
                                  "Patient data never leaves the Tessera secure enclave.",
                                  "Confidential: Orion Health and Tessera Labeling only."], "BLUEFIN addendum"))
    make_file(ws, fid=fid("peregrine_review_pptx"), name="PEREGRINE_quarterly_review.pptx",
              mime="application/vnd.openxmlformats-officedocument.presentationml.presentation", owner=PRIYA,
              created=t1, perms=[anyone_perm()],
              content=pptx_bytes(["Vantablack Retail — PEREGRINE Q1 review",
                                  "Shelf-image labelling: 1.2M images, 99.1% QA pass rate"]))
    make_file(ws, fid=fid("deploy_notes_txt"), name="deploy-notes.txt", mime="text/plain", owner=JONAS,
              created=t1, perms=[anyone_perm()],
              content=("Deploy notes for the labelling queue\n"
                       f"aws_access_key_id = {FAKE_AWS_KEY}\n"
                       f"aws_secret_access_key = {FAKE_AWS_SECRET}\n"
                       "region = eu-west-1\n").encode())

    # --- benign exposed files -------------------------------------------------------------------
    make_file(ws, fid=fid("marketing_one_pager"), name="Tessera Labeling — one-pager", mime=DOC, owner=PRIYA,
              created=t0, perms=[anyone_perm(discover=True)],
              native=NativeContent(text="Tessera Labeling: human-in-the-loop data labelling for computer vision "
                                        "and NLP. ISO 27001 certified. Contact hello@tessera-labs.com."))
    make_file(ws, fid=fid("offsite_recipe"), name="Team offsite — shakshuka recipe", mime=DOC, owner=PRIYA,
              created=t0, perms=[anyone_perm()],
              native=NativeContent(text="Shakshuka for 12\n6 tins tomatoes, 4 peppers, 2 onions, cumin, paprika,"
                                        " 18 eggs. Simmer the sauce 20 minutes, add eggs, cover 8 minutes."))
    make_file(ws, fid=fid("blog_draft"), name="Blog draft: quality in data labelling", mime=DOC, owner=PRIYA,
              created=t1, perms=[anyone_perm()],
              native=NativeContent(text="Written by Priya Raman\nQuality in data labelling comes from clear "
                                        "guidelines, calibration rounds and honest feedback loops."))
    make_file(ws, fid=fid("onboarding_guide"), name="API onboarding guide", mime=DOC, owner=JONAS, created=t1,
              perms=[anyone_perm()],
              native=NativeContent(text="Replace user@example.com and +1 555 0100 with your own details.\n"
                                        "Call https://api.example.com/v1/tasks with your token."))
    make_file(ws, fid=fid("allhands_slides"), name="All-hands — March 2026", mime=SLIDES, owner=PRIYA,
              created=t2, perms=[domain_perm(DOMAIN, "reader", discover=True)],
              native=NativeContent(slides=["All-hands March 2026", "Welcome new starters", "Office move in May"]))
    make_file(ws, fid=fid("one_pager_shortcut"), name="Shortcut to one-pager", mime=SHORTCUT, owner=PRIYA,
              created=t2, shortcut_target=fid("marketing_one_pager"))

    # --- shared drive: Client Delivery ----------------------------------------------------------
    make_file(ws, fid=fid("kestrel_folder"), name="KESTREL deliveries", mime=FOLDER, drive=CLIENT_DELIVERY,
              parents=[CLIENT_DELIVERY], created=t0, perms=[anyone_perm()])
    make_file(ws, fid=fid("kestrel_qa_notes"), name="KESTREL batch 14 — QA notes", mime=DOC,
              drive=CLIENT_DELIVERY, parents=[fid("kestrel_folder")], created=t1,
              native=NativeContent(text="Halcyon Motors / KESTREL batch 14\nQA pass rate 98.7%. Re-label frames "
                                        "2201-2260 (occluded lanes)."))
    make_file(ws, fid=fid("kestrel_labels_csv"), name="kestrel_batch14_labels.csv", mime="text/csv",
              drive=CLIENT_DELIVERY, parents=[fid("kestrel_folder")], created=t1,
              content=b"project,frame,label,confidence\r\nKESTREL,frame_0001,car,0.98\r\n"
                      b"KESTREL,frame_0002,lane,0.91\r\n")
    make_file(ws, fid=fid("orion_folder"), name="Orion Health", mime=FOLDER, drive=CLIENT_DELIVERY,
              parents=[CLIENT_DELIVERY], created=t0)
    make_file(ws, fid=fid("bluefin_kickoff"), name="BLUEFIN kickoff notes", mime=DOC, drive=CLIENT_DELIVERY,
              parents=[fid("orion_folder")], created=t1,
              native=NativeContent(text="Orion Health BLUEFIN kickoff. Confidential. Budget USD 140k."))

    # --- shared drive: Operations ---------------------------------------------------------------
    make_file(ws, fid=fid("payroll_xlsx"), name="Contractor payroll Q1 2026.xlsx",
              mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", drive=OPERATIONS,
              parents=[OPERATIONS], created=t2, content=xlsx_bytes([("Payroll", [ROSTER_HEADER, *ROSTER_ROWS])]))
    seed_posture(ws, DELIVERY_GROUP)
    seed_labels(ws, fid, ADMIN)
    seed_history(ws, fid, {"maya": MAYA, "liam": LIAM, "priya": PRIYA, "jonas": JONAS, "sam": SAM,
                           "external": EXTERNAL_USER}, datetime.now(UTC))
    ws.changes.clear()  # seeding is not history
    return ws


def _expected() -> dict[str, ExpectedFile]:
    rows = [
        ("roster_sheet", "Contractor roster — March 2026", "anyone_with_link", True, True, False),
        ("roster_xlsx", "contractor_rates_2026.xlsx", "anyone_with_link", True, True, False),
        ("roster_csv", "contractor_contacts.csv", "anyone_with_link", True, True, False),
        ("recruiting_folder", "Recruiting", "anyone_with_link", False, True, False),
        ("candidate_shortlist", "Candidate shortlist", "anyone_with_link", True, True, True),
        ("old_roster_suspended", "Old roster (2024)", "anyone_with_link", True, True, False),
        ("client_brief_published", "Client brief — KESTREL", "published", True, True, False),
        ("client_brief_internal", "Client brief — KESTREL (internal copy)", "internal", True, False, False),
        ("bluefin_guidelines", "Orion Health BLUEFIN — annotation guidelines", "external_user", True, True, False),
        ("peregrine_status", "Vantablack Retail PEREGRINE — weekly status", "external_domain", True, True, False),
        ("sow_pdf", "KESTREL_statement_of_work.pdf", "anyone_with_link", True, True, False),
        ("addendum_docx", "BLUEFIN_data_handling_addendum.docx", "external_user", True, True, False),
        ("peregrine_review_pptx", "PEREGRINE_quarterly_review.pptx", "anyone_with_link", True, True, False),
        ("deploy_notes_txt", "deploy-notes.txt", "anyone_with_link", True, True, False),
        ("marketing_one_pager", "Tessera Labeling — one-pager", "public", False, False, False),
        ("offsite_recipe", "Team offsite — shakshuka recipe", "anyone_with_link", False, False, False),
        ("blog_draft", "Blog draft: quality in data labelling", "anyone_with_link", False, False, False),
        ("onboarding_guide", "API onboarding guide", "anyone_with_link", False, False, False),
        ("allhands_slides", "All-hands — March 2026", "domain", False, False, False),
        ("one_pager_shortcut", "Shortcut to one-pager", "internal", False, False, False),
        ("kestrel_folder", "KESTREL deliveries", "anyone_with_link", False, True, False),
        ("kestrel_qa_notes", "KESTREL batch 14 — QA notes", "anyone_with_link", True, True, True),
        ("kestrel_labels_csv", "kestrel_batch14_labels.csv", "anyone_with_link", True, True, True),
        ("bluefin_kickoff", "BLUEFIN kickoff notes", "internal", True, False, False),
        ("payroll_xlsx", "Contractor payroll Q1 2026.xlsx", "internal", True, False, False),
    ]
    return {key: ExpectedFile(key, fid(key), name, exposure, sensitive, flagged, inherited)
            for key, name, exposure, sensitive, flagged, inherited in rows}


EXPECTED: dict[str, ExpectedFile] = _expected()
