"""Document families: each makes one abstract document and its categories.

Sensitive: rosters with headers, headerless name lists, key-value HR forms, contact details in
prose, payroll exports, credentials (prefixed names, PEM keys), client-confidential briefs,
invoices with bank data, spreadsheets with PII on a second/hidden sheet or in a hidden column,
and >= 1 MB documents with the roster near the end. Clean: benign prose, blank templates,
product docs full of capitalised names, public figures, obvious sample data, look-alike secrets
and markings, agendas with names but no contact data.
"""

from __future__ import annotations

import base64
import random
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from tests.data.synth import text as T
from tests.data.synth.people import Person, PersonFactory, bank_account, card, iban, nino, passport, routing, ssn
from tests.data.synth.pools import Pools, reserve
from tests.data.synth.writers import Doc, Para, Sheet, Table

CPII, CONF, CRED, FIN, GOV = "contractor_pii", "client_confidential", "credentials", "financial", "government_id"
CATEGORIES = (CPII, CONF, CRED, FIN, GOV)


@dataclass
class Made:
    doc: Doc
    categories: frozenset[str]
    kind: str


@dataclass
class Gen:
    p: Pools
    people: PersonFactory
    fmt: str

    @property
    def rng(self) -> random.Random:
        return self.p.rng


def _persons(g: Gen, n: int) -> list[Person]:
    return [g.people.person() for _ in range(n)]


def _count(g: Gen) -> int:
    r = g.rng.random()
    if r < 0.2:
        return g.rng.randint(3, 5)
    if r < 0.85:
        return g.rng.randint(6, 40)
    return g.rng.randint(41, 250)


def _intro(g: Gen, options: list[str]) -> list[Para | Table]:
    return [Para(g.p.pick(options), heading=True)] if g.p.chance(0.7) else []


# ---------------------------------------------------------------------------------------------- rosters

NAME_HEADERS = reserve(["Name", "Full name", "Contractor", "Annotator", "Employee", "Full Name", "Worker", "Labeler",
                        "Freelancer", "Team member", "Resource", "Vendor contact", "Person", "Assignee",
                        "Contributor", "Staff name", "NAME", "Rater", "Collaborator"],
                       v2=["Tasker", "Crowd worker", "Member name", "Specialist", "Nombre", "Consultant"])
SPLIT_NAME_HEADERS = reserve([("First name", "Last name"), ("Given name", "Surname"), ("First", "Last"),
                              ("Forename", "Family name"), ("FIRST_NAME", "LAST_NAME"), ("Vorname", "Nachname"),
                              ("first_name", "last_name"), ("Prénom", "Nom")],
                             v2=[("Given names", "Family names"), ("Nombre", "Apellidos"), ("fname", "lname")])
EMAIL_HEADERS = reserve(["Email", "E-mail", "Email address", "Personal email", "Work email", "Contact email", "Mail",
                         "Contact", "email_addr", "Gmail", "EMAIL", "Login", "Emails"],
                        v2=["Correo", "e-mail address", "Account email", "User"])
PHONE_HEADERS = reserve(["Phone", "Mobile", "Tel", "Phone number", "Cell", "Mobile number", "WhatsApp", "Contact no.",
                         "phone_num", "Tel.", "MSISDN"],
                        v2=["Handy", "Teléfono", "Cellphone", "Phone (mobile)"])
RATE_HEADERS = reserve(["Rate", "Hourly rate", "Pay rate", "Rate (USD)", "Day rate", "Rate/hr", "Comp", "Fee/hr",
                        "$/hr", "Hourly", "Unit price", "Payout", "Wage", "Per task"],
                       v2=["Salary", "Tarif", "Price/hour", "Hourly fee", "Stipend"])
ROSTER_TITLES = ["Contractor roster", "Annotator list - Q3", "Active labelers", "Vendor team contacts",
                 "Team directory", "Onboarding batch", "Freelancer pool", "Project staffing", "Shift roster",
                 "Labeling crew", "Workforce export", "People on the account"]


def roster_header(g: Gen) -> Made:
    rng, p = g.rng, g.p
    people = _persons(g, _count(g))
    split = p.chance(0.3)
    cols: list[tuple[str, Callable[[Person], str]]] = []
    if p.chance(0.3):
        cols.append((p.pick(["ID", "Worker ID", "#", "Ref", "Emp no", "Badge"]), lambda q: str(rng.randint(1000, 99999))))
    if split:
        fh, lh = p.pick(SPLIT_NAME_HEADERS)
        cols += [(fh, lambda q: q.first), (lh, lambda q: q.last)]
    else:
        style = p.pick(reserve(["first last", "last, first", "first last", "LAST first", "first m. last", "lower",
                                "last first", "LAST, first", "FIRST LAST", "first LAST"], v2=["First LAST", "last, f."]))
        cols.append((p.pick(NAME_HEADERS), lambda q, s=style: g.people.styled(q, s)))
    has_email = p.chance(0.85)
    has_phone = not has_email or p.chance(0.4)
    has_rate = p.chance(0.45)
    if has_email:
        cols.append((p.pick(EMAIL_HEADERS), lambda q: q.email))
    if has_phone:
        cols.append((p.pick(PHONE_HEADERS), lambda q: q.phone))
    if has_rate:
        cols.append((p.pick(RATE_HEADERS), lambda q: q.rate))
    for extra in p.sample(["Country", "Start date", "Project", "Team", "Status", "Timezone", "Language", "Shift"],
                          rng.randint(0, 3)):
        cols.append((extra, lambda q, e=extra: _extra(rng, e)))
    rng.shuffle(cols) if p.chance(0.2) else None
    rows = [[h for h, _ in cols]] + [[f(q) for _, f in cols] for q in people]
    layout = p.shared(["comma", "tab", "semicolon", "pipe", "spaces"]) if g.fmt == "txt" else "tab"
    table = Table(rows, layout=layout, as_text=g.fmt in ("docx", "pdf") and p.chance(0.25))
    blocks = _intro(g, ROSTER_TITLES)
    if blocks and g.fmt == "txt" and layout in ("comma", "tab", "semicolon"):
        blocks = []  # a CSV export has no title line
    cats = {CPII} | ({FIN} if has_rate else set())
    return Made(Doc([*blocks, table]), frozenset(cats), "roster_header")


def _extra(rng: random.Random, name: str) -> str:
    if name == "Country":
        return rng.choice(["US", "UK", "DE", "NG", "IN", "PH", "BR", "KE", "PL", "MX"])
    if name == "Start date":
        return f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if name == "Project":
        return rng.choice(["Atlas", "Nimbus", "Delta", "Mercury", "Saturn"])
    if name == "Team":
        return rng.choice(["NLP", "Vision", "Audio", "QA", "Ops"])
    if name == "Status":
        return rng.choice(["active", "paused", "onboarding", "offboarded"])
    if name == "Timezone":
        return rng.choice(["UTC", "UTC+1", "UTC+5:30", "UTC-5", "UTC+8"])
    if name == "Language":
        return rng.choice(["English", "Spanish", "Yoruba", "Hindi", "Polish"])
    return rng.choice(["AM", "PM", "Night"])


# ---------------------------------------------------------------------------------------------- headerless lists

LIST_LINES = [
    # (name style, cells) - cells use n=name, e=email, p=phone, r=rate; cellular lines become table rows
    ("last, first", "n e r"), ("LAST first", "n e"), ("f. last", "n e p"), ("lower", "n e p"),
    ("first", "n e"), ("first last", "e n p"), ("last, first", "n r e"), ("first last", "n p r"),
    ("last first", "n e r"), ("first m. last", "n e"),
    # held-back
    ("LAST, first", "n p e r"), ("last f.", "e n"), ("f.m. last", "n e p"), ("first", "e p"),
    ("FIRST LAST", "n e"), ("last, f.", "p n"), ("first LAST", "e n r"), ("last first", "r n e"),
]
LIST_LINES = reserve(LIST_LINES, v2=[("First LAST", "n p"), ("last, first", "e r n"), ("f. last", "p e n"),
                                     ("FIRST LAST", "n r p")])
TEXT_LINES = [
    "{n} <{e}>", "{i}. {n} ({e})", "{n} - {e}", "{n}: {e}, {p}", "{n} | {e} | {r}", "{e} ({n})",
    "{n} -- {p}", "* {n}, {e}",
    # held-back
    "{n} — {p} — {e}", "{i}) {n} / {e} / {r}", "{n} [{e}]", "{n}\u00a0· {e}",
    "{e}\t{n}", "{n} ~ {p}", "- {n} ({p})", "{i}: {n}; {e}; {r}",
]
TEXT_LINES = reserve(TEXT_LINES, v2=["{n} <{e}>, {p}", "{i}. {e} — {n}", "{n} :: {e}", "• {n} / {p}"])
LIST_TITLES = ["Vendor export 2024-05", "Payroll batch", "contractors (do not edit)", "Labelers - wave 3",
               "Export", "Invite list", "Pilot participants", "Raters", "Batch 7 assignees"]


def headerless_list(g: Gen) -> Made:
    _rng, p = g.rng, g.p
    people = _persons(g, _count(g))
    has_rate = False
    if p.chance(0.12):  # a directory of contact cards: one field per line, a blank line between people
        return _contact_cards(g, people)
    if p.chance(0.55):
        style, cells = p.pick(LIST_LINES)
        fields = cells.split()
        has_rate = "r" in fields
        rows = [[_field(g, q, f, style) for f in fields] for q in people]
        layout = p.shared(["tab", "comma", "semicolon", "pipe", "spaces"])
        table = Table(rows, layout=layout, as_text=g.fmt in ("docx", "pdf", "pptx") and p.chance(0.6), header=False)
        blocks: list[Para | Table] = [] if g.fmt == "txt" and layout in ("tab", "comma", "semicolon") else \
            _intro(g, LIST_TITLES)
        blocks.append(table)
    else:
        template = p.pick(TEXT_LINES)
        style = p.pick(reserve(["first last", "last, first", "LAST first", "f. last", "lower", "first", "first m. last",
                                "LAST, first", "last f.", "FIRST LAST", "first LAST"], v2=["First LAST", "last, f."]))
        has_rate = "{r}" in template
        lines = [template.format(i=i + 1, n=g.people.styled(q, style), e=q.email, p=q.phone, r=q.rate)
                 for i, q in enumerate(people)]
        blocks = [*_intro(g, LIST_TITLES), Para("\n".join(lines))]
    cats = {CPII} | ({FIN} if has_rate else set())
    return Made(Doc(blocks), frozenset(cats), "headerless_list")


CARD_LAYOUTS = reserve(["{n}\n{e}\n{p}", "{n}\n{p}", "{n}\nEmail: {e}\nPhone: {p}", "{n} ({r})\n{e}"],
                       v2=["{n}\nMobile: {p}\nRate: {r}", "{e}\n{n}"])


def _contact_cards(g: Gen, people: list[Person]) -> Made:
    p = g.p
    layout = p.pick(CARD_LAYOUTS)
    style = p.pick(["first last", "LAST first", "last, first", "first last"])
    cards = [layout.format(n=g.people.styled(q, style), e=q.email, p=q.phone, r=q.rate) for q in people]
    cats = {CPII} | ({FIN} if "{r}" in layout else set())
    return Made(Doc([*_intro(g, LIST_TITLES), Para("\n\n".join(cards))]), frozenset(cats), "headerless_list")


def _field(g: Gen, q: Person, f: str, style: str) -> str:
    return {"n": lambda: g.people.styled(q, style), "e": lambda: q.email, "p": lambda: q.phone,
            "r": lambda: q.rate}[f]()


# ---------------------------------------------------------------------------------------------- key-value forms

KV_LABELS = {
    "name": ["Name", "Full name", "Employee name", "Contractor name", "Legal name", "Full legal name",
             "Name of contractor", "Applicant", "Worker", "Payee", "Candidate name"],
    "email": ["Email", "E-mail", "Personal email", "Email address", "Contact email", "Mail", "Private e-mail"],
    "phone": ["Phone", "Mobile", "Phone number", "Mobile phone", "Telephone", "Cell phone", "Contact number"],
    "dob": ["Date of birth", "DOB", "Birth date", "D.O.B.", "Birthday", "Born", "Date of Birth (DD/MM/YYYY)"],
    "address": ["Home address", "Address", "Street address", "Residential address", "Mailing address",
                "Current address"],
    "ssn": ["SSN", "Social Security Number", "SSN/ITIN", "Social security no.", "Taxpayer ID (SSN)"],
    "nino": ["National Insurance number", "NI number", "NINO", "NI No."],
    "passport": ["Passport number", "Passport no.", "Passport", "Passport ID"],
    "bank": ["Bank account", "Account number", "Bank account number", "Acct no.", "Checking account"],
    "routing": ["Routing number", "ABA routing", "Routing (ABA)", "ABA"],
    "iban": ["IBAN", "Bank (IBAN)", "IBAN for payments", "Payout IBAN"],
    "rate": ["Hourly rate", "Rate", "Agreed rate", "Pay rate", "Compensation"],
    "start": ["Start date", "First day", "Contract start"],
    "role": ["Role", "Position", "Job title"],
}
_KV_MORE = {  # (tuning-visible additions, held-back v2 only)
    "name": (["Contractor", "Name (as on ID)", "Surname, first name", "Full name of payee"],
             ["Legal full name", "Your name", "Person", "Annotator name"]),
    "email": (["E-mail address", "Email (personal)", "Preferred email"], ["Correspondence email", "Email for invoices"]),
    "phone": (["Mobile no.", "Tel.", "Phone (mobile)", "WhatsApp number"], ["Cell", "Telephone number", "Best number"]),
    "dob": (["Date of birth (MM/DD/YYYY)", "Birthdate"], ["Geburtsdatum", "DoB"]),
    "address": (["Postal address", "Home"], ["Permanent address", "Address line"]),
    "ssn": (["Social Security #", "SSN (last 9)"], ["US SSN", "Soc. Sec. No."]),
    "nino": (["NI no"], ["National insurance no."]),
    "passport": (["Passport No", "Travel document no."], ["Passport #"]),
    "bank": (["Account no.", "Bank acct"], ["Savings account", "Account #"]),
    "routing": (["Bank routing number"], ["Routing #"]),
    "iban": (["IBAN (payments)"], ["IBAN number"]),
    "rate": (["Rate per hour", "Hourly wage", "Payout rate"], ["Agreed hourly fee", "Rate (USD/h)", "Salary"]),
    "start": (["Start"], ["Contract begins"]),
    "role": (["Title"], ["Function"]),
}
KV_LABELS = {k: reserve(v + _KV_MORE[k][0], v2=_KV_MORE[k][1]) for k, v in KV_LABELS.items()}
KV_LAYOUTS = reserve(["{l}: {v}", "{l}:\t{v}", "{l} - {v}", "{L}: {v}", "{l}\n{v}", "{l} ..... {v}", "{l} = {v}",
                      "{l} > {v}", "{l}\t{v}", "{l} : {v}", "[{l}] {v}", "{l}: \n{v}"],
                     v2=["{l} — {v}", "{l}:  {v}", "{L}\n{v}", "{l} | {v}"])
FORM_TITLES = reserve(["Contractor onboarding form", "New hire details", "Vendor registration", "Annotator intake form",
                       "Payment details", "HR record", "Personal details sheet", "Payroll setup", "Worker profile",
                       "Direct deposit form", "Emergency contact"],
                      v2=["Supplier set-up form", "Contributor application", "Tax & payment details"])
STREETS = ["Elm Street", "Oak Avenue", "Maple Road", "High Street", "Station Road", "Church Lane", "Park Drive",
           "Victoria Road", "Mill Lane", "Cedar Court", "Lagos Close", "Harbour Way"]


def address(rng: random.Random) -> str:
    return (f"{rng.randint(1, 980)} {rng.choice(STREETS)}, {rng.choice(['Springfield', 'Leeds', 'Austin', 'Ikeja', 'Pune', 'Kraków'])}"
            f" {rng.randint(10000, 99999)}")


def _dob(g: Gen, q: Person) -> str:
    d = q.dob
    return g.p.pick([f"{d:%d/%m/%Y}", f"{d:%m/%d/%Y}", f"{d:%Y-%m-%d}", f"{d.day} {d:%B %Y}", f"{d:%B} {d.day}, {d.year}",
                     f"{d:%d.%m.%Y}", f"{d.day} {d:%b} {d.year}"])


def kv_form(g: Gen) -> Made:
    rng, p = g.rng, g.p
    q = g.people.person()
    optional = ["email", "phone", "dob", "address", "ssn", "nino", "passport", "bank", "routing", "iban", "rate",
                "start", "role"]
    chosen = rng.sample(optional, rng.randint(2, 6))
    if not {"email", "phone", "dob", "address", "ssn", "nino", "passport", "bank", "iban", "rate"} & set(chosen):
        chosen.append("email")
    fields = ["name", *chosen] if p.chance(0.8) else [*chosen[:1], "name", *chosen[1:]]
    values = {
        "name": g.people.styled(q, p.pick(reserve(["first last", "first last", "last, first", "first m. last",
                                                   "LAST first", "FIRST LAST"], v2=["First LAST", "lower"]))),
        "email": q.email, "phone": q.phone, "dob": _dob(g, q), "address": address(rng), "ssn": ssn(rng),
        "nino": nino(rng), "passport": passport(rng), "bank": bank_account(rng), "routing": routing(rng),
        "iban": iban(rng), "rate": q.rate, "start": f"{rng.randint(1, 28)}/{rng.randint(1, 12)}/2024",
        "role": rng.choice(["Annotator", "QA reviewer", "Linguist", "Data labeler"]),
    }
    pairs = [(p.pick(KV_LABELS[f]), values[f]) for f in fields]
    blocks = _kv_blocks(g, pairs, FORM_TITLES)
    cats = {CPII}
    if {"ssn", "nino", "passport"} & set(fields):
        cats.add(GOV)
    if {"bank", "routing", "iban", "rate"} & set(fields):
        cats.add(FIN)
    return Made(Doc(blocks), frozenset(cats), "kv_form")


def _kv_blocks(g: Gen, pairs: list[tuple[str, str]], titles: list[str]) -> list[Para | Table]:
    p = g.p
    blocks: list[Para | Table] = [Para(p.pick(titles), heading=True)] if p.chance(0.8) else []
    if p.chance(0.2):
        blocks.append(Para(T.prose(p, g.rng.randint(80, 400))))
    if g.fmt == "xlsx" or p.chance(0.35):
        blocks.append(Table([[label, value] for label, value in pairs], layout="tab", header=False))
    else:
        layout = p.pick(KV_LAYOUTS)
        lines = [layout.format(l=label, L=label.upper(), v=value) for label, value in pairs]
        blocks.append(Para("\n".join(lines)))
    if p.chance(0.25):
        blocks.append(Para(p.pick(["Signature: ____________", "Please return this form to HR.",
                                   "Submitted via the onboarding portal.", "Reviewed by payroll."])))
    return blocks


# ---------------------------------------------------------------------------------------------- prose

PROSE_CONTACT = [
    "For vendor escalations please contact {n} at {e} or {p}.",
    "You can reach {n} on {p} any weekday.",
    "{n}'s personal email is {e}; use it only for contract matters.",
    "Send the signed contract to {n} ({e}).",
    "If {f} is unavailable, call her mobile {p}.",
    "Our new QA lead is {n} - {e}.",
    "{n} moved to {a}; please update payroll.",
    "Backup contact: {n}, {p}, {e}.",
    # held-back
    "Ping {f} directly ({e}) if the queue stalls.",
    "Our point of contact at the vendor is {n}, mobile {p}.",
    "Reach out to {n} — {e} — about onboarding.",
    "Invoices go to {n} at {a}.",
    "Please add {n} ({p}) to the on-call rota.",
    "{n} can be reached at {e} until the end of the pilot.",
    "The signed NDA came back from {n}, {e}, yesterday.",
    "{n} lives at {a} and prefers post to email.",
]
PROSE_CONTACT = reserve(PROSE_CONTACT, v2=[
    "Escalate blocked tasks to {n} via WhatsApp on {p}.",
    "{n} changed her number to {p} last week.",
    "Forward the payout query to {n} <{e}>.",
    "Courier the laptop to {n}, {a}.",
])


def prose_contact(g: Gen) -> Made:
    rng, p = g.rng, g.p
    q = g.people.person()
    line = p.pick(PROSE_CONTACT).format(n=q.full, f=q.first, e=q.email, p=q.phone, a=address(rng))
    paras = T.prose(p, rng.randint(300, 12000)).split("\n\n")
    paras.insert(rng.randrange(len(paras) + 1), line)
    heading = p.pick(["Vendor handbook", "Weekly update", "Project notes", "Ops runbook", "Handover notes",
                      "Team news", "Escalation guide", "Partner brief", "Status report"])
    return Made(Doc([Para(heading, heading=True), *[Para(x) for x in paras]]), frozenset({CPII}), "prose_contact")


# ---------------------------------------------------------------------------------------------- payroll

PAYROLL_NAME = reserve(["Contractor", "Name", "Payee", "Worker", "Employee", "Beneficiary", "Recipient", "Annotator"],
                       v2=["Vendor", "Paid to", "Freelancer"])
PAYROLL_QTY = reserve(["Hours", "Hrs", "Qty", "Tasks", "Units"], v2=["Time (h)", "Hours worked"])
PAYROLL_RATE = reserve(["Rate", "Hourly rate", "Pay rate", "Rate/hr", "Unit price", "Price", "Per hour"],
                       v2=["Unit rate", "Tarifa", "Wage/h"])
PAYROLL_TOTAL = reserve(["Amount", "Total", "Gross pay", "Net pay", "Payout", "Due", "To pay"],
                        v2=["Gross", "Transfer", "Amount due"])


def payroll(g: Gen) -> Made:
    rng, p = g.rng, g.p
    people = _persons(g, _count(g))
    style = p.pick(["last, first", "first last", "LAST first", "f. last", "first last", "last first", "FIRST LAST",
                    "LAST, first", "first m. last"])
    header = p.chance(0.5)
    rows = []
    if header:
        rows.append([p.pick(PAYROLL_NAME), p.pick(PAYROLL_QTY), p.pick(PAYROLL_RATE), p.pick(PAYROLL_TOTAL)])
    for q in people:
        hours = rng.randint(5, 160)
        rows.append([g.people.styled(q, style), str(hours), q.rate, f"${hours * rng.randint(15, 90):,}.00"])
    layout = p.shared(["tab", "comma", "spaces", "pipe", "semicolon"]) if g.fmt == "txt" else "tab"
    title = [] if g.fmt == "txt" and layout in ("tab", "comma", "semicolon") else \
        _intro(g, ["Payroll - May", "Contractor payments", "Pay run 2024-06", "Invoices approved", "Payout batch"])
    table = Table(rows, layout=layout, header=header, as_text=g.fmt in ("docx", "pdf") and p.chance(0.4))
    return Made(Doc([*title, table]), frozenset({CPII, FIN}), "payroll")


# ---------------------------------------------------------------------------------------------- credentials

SECRET_NAMES = ["LABEL_STUDIO_API_KEY", "OPENAI_API_KEY", "STRIPE_SECRET_KEY", "DATABASE_PASSWORD",
                "SENTRY_AUTH_TOKEN", "HF_TOKEN", "SLACK_BOT_TOKEN", "AWS_SECRET_ACCESS_KEY", "MAILGUN_API_KEY",
                "TWILIO_AUTH_TOKEN", "JWT_SECRET", "REDIS_PASSWORD", "GITHUB_TOKEN", "POSTGRES_PASSWORD",
                # held-back
                "ANTHROPIC_API_KEY", "FOO_SECRET_TOKEN", "SCALE_API_KEY", "AZURE_CLIENT_SECRET", "DD_API_KEY",
                "SENDGRID_API_KEY", "NPM_TOKEN", "LABELBOX_API_KEY", "CLIENT_SECRET", "DB_PASS", "API_TOKEN",
                "WEBHOOK_SECRET", "PRIVATE_TOKEN"]
SECRET_NAMES = reserve(SECRET_NAMES, v2=["ACCESS_TOKEN", "MINIO_SECRET_KEY", "SMTP_PASSWORD", "APP_SECRET",
                                         "CF_API_TOKEN", "WANDB_API_KEY"],
                       more=["CLIENT_SECRET_VALUE", "AUTH_TOKEN", "API_KEY", "SIGNING_KEY", "ENCRYPTION_KEY",
                             "SERVICE_PASSWORD", "PUSHER_APP_SECRET", "COHERE_API_KEY"],
                       v3=["GCP_SA_KEY", "OKTA_API_TOKEN", "PAT", "MASTER_KEY", "ADMIN_PASSWD", "DEEPGRAM_API_SECRET",
                           "APPSIGNAL_PUSH_API_KEY"],
                       # added after v3 was scored (tuning and v4 draw them)
                       more2=["GITLAB_PAT", "ROOT_PWD", "SESSION_KEY", "BASIC_AUTH", "SAS_TOKEN", "DB_CONN_STRING",
                              "LDAP_BIND_PASS", "PRIVATE_KEY_PASSPHRASE_SECRET", "APP_MASTER_KEY", "HMAC_KEY"],
                       v4=["VAULT_ROOT_TOKEN", "SIGNING_SECRET", "GH_PAT", "ADMIN_PWD", "STORAGE_ACCOUNT_KEY",
                           "SERVICE_BUS_CONNECTION_STRING", "SMTP_PASS", "ENCRYPTION_PASSPHRASE_KEY", "CIRCLE_TOKEN",
                           "KEYCLOAK_ADMIN_PASSWORD"])
ASSIGN = ["{k}={v}", "{k}: {v}", "export {k}={v}", '{k} = "{v}"', '"{lk}": "{v}"', "{lk}: {v}", "{k}='{v}'",
          # held-back
          "set {k}={v}", "$env:{k} = '{v}'", "{lk} => '{v}',",
          # config syntaxes: TOML, YAML (nested), JSON, PHP / Ruby arrays, shell, Python, docker, k8s
          '{lk} = "{v}"', '  {lk}: "{v}"', '    "{k}": "{v}",', "'{lk}' => '{v}',", "{lk}: '{v}',",
          "ENV['{k}'] = '{v}'", "docker run -e {k}={v} labeler:latest", 'os.environ["{k}"] = "{v}"',
          "- name: {k}\n  value: {v}", "setx {k} \"{v}\"", "{lk}={v}"]
ASSIGN = reserve(ASSIGN, v2=["$config['{lk}'] = '{v}';", ':{lk} => "{v}",', "set -x {k} {v}", "{k} := {v}",
                             "<add key=\"{k}\" value=\"{v}\" />", "heroku config:set {k}={v}"])
CRED_TITLES = ["Deploy notes", "Staging setup", "Runbook: labeling platform", ".env for the demo",
               "Integration checklist", "How to run the exporter", "Ops handover", "Local dev setup",
               "CI secrets (temporary)"]


def _rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def secret_value(rng: random.Random, name: str) -> str:
    alnum = string.ascii_letters + string.digits
    if "OPENAI" in name:
        return "sk-" + rng.choice(["", "proj-"]) + _rand(rng, alnum, 48)
    if "ANTHROPIC" in name:
        return "sk-ant-api03-" + _rand(rng, alnum + "-_", 80)
    if "STRIPE" in name:
        return "sk_live_" + _rand(rng, alnum, 40)
    if name == "HF_TOKEN":
        return "hf_" + _rand(rng, string.ascii_letters, 34)
    if "SLACK" in name:
        return f"xoxb-{rng.randint(10**10, 10**11)}-{rng.randint(10**12, 10**13)}-{_rand(rng, alnum, 24)}"
    if name == "GITHUB_TOKEN":
        return "ghp_" + _rand(rng, alnum, 36)
    if "SENDGRID" in name:
        return "SG." + _rand(rng, alnum + "-_", 22) + "." + _rand(rng, alnum + "-_", 43)
    if name == "NPM_TOKEN":
        return "npm_" + _rand(rng, alnum, 36)
    if "PASSWORD" in name:
        return _rand(rng, alnum + "!#%&*", rng.randint(14, 24))
    if "AWS_SECRET" in name:
        return _rand(rng, alnum + "/+", 40)
    return rng.choice([_rand(rng, "0123456789abcdef", rng.choice([32, 40, 64])), _rand(rng, alnum, 40),
                       base64.b64encode(rng.randbytes(30)).decode()])


def pem_block(rng: random.Random, kind: str) -> list[str]:
    body = base64.b64encode(rng.randbytes(rng.choice([600, 900, 1190]))).decode()
    return [f"-----BEGIN {kind}PRIVATE KEY-----", *[body[i:i + 64] for i in range(0, len(body), 64)],
            f"-----END {kind}PRIVATE KEY-----"]


# Whole config files (added after v2 was scored: the tuning part and v3 draw them, v1/v2 never):
# a header, one line per secret (``{k}`` NAME, ``{lk}`` name, ``{dk}`` dashed-name, ``{ck}``
# camelCase, ``{v}`` value, ``{pw}`` a password, ``{u}`` a user), a footer.
CONFIG_FILES = reserve([], more=[
    ("<configuration>\n  <appSettings>", '    <add key="{k}" value="{v}" />', "  </appSettings>\n</configuration>"),
    ("<settings>", "  <{ck}>{v}</{ck}>", "</settings>"),
    ("# ~/.config/fish/config.fish", "set -gx {k} {v}", ""),
    ("# ~/.config/fish/config.fish", "set -Ux {k} '{v}'", ""),
    ("# profile.ps1", '$env:{k} = "{v}"', ""),
    ("# setup.ps1", '[Environment]::SetEnvironmentVariable("{k}", "{v}", "User")', ""),
    ("@echo off", 'set "{k}={v}"', "call run.bat"),
    ("services:\n  app:\n    image: labeler:latest\n    environment:", "      - {k}={v}", "    ports:\n      - 8080:8080"),
    ("services:\n  worker:\n    environment:", "      {k}: {v}", "    restart: always"),
    ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: app-secrets\ntype: Opaque\nstringData:", "  {dk}: {v}", ""),
    ("apiVersion: v1\nkind: Secret\nstringData:", '  {lk}: "{v}"', ""),
    ("registry=https://registry.npmjs.org/", "//registry.npmjs.org/:_authToken={v}", "always-auth=true"),
    ("[default]\nregion = eu-west-1", "{lk} = {v}", ""),
    ("[api]\nbase_url = \"https://api.internal\"", '{lk} = "{v}"', "timeout = 30"),
    ('{\n  "service": "exporter",\n  "auth": {', '    "{ck}": "{v}",', '    "retries": 3\n  }\n}'),
    ("exporter:\n  auth:", "    {lk}: {v}", "  retries: 3"),
    ("# connection strings", "DATABASE_URL=postgres://{u}:{pw}@db.internal:5432/labels", ""),
    ("# mirror the repo", "git clone https://{u}:{v}@git.internal.example/labels/exporter.git", ""),
    ("# queue", "BROKER_URL=amqp://{u}:{pw}@rabbit.internal:5672/", ""),
], v3=[
    ("<connectionStrings>", '  <add name="Main" connectionString="Server=tcp:sql01;User ID={u};Password={pw};" />',
     "</connectionStrings>"),
    ("# ~/.netrc", "machine api.labels.internal login {u} password {pw}", ""),
    ("# spring", "spring.datasource.{lk}={v}", "spring.jpa.show-sql=false"),
    ('resource "azurerm_key_vault_secret" "app" {', '  {lk} = "{v}"', "}"),
    ("# PowerShell", '${ck} = "{v}"', "Invoke-RestMethod -Uri $url -Headers $headers"),
    ("<Credentials>", "  <{ck}>{v}</{ck}>", "</Credentials>"),
    ("# cache", "REDIS_URL=redis://:{pw}@cache.internal:6379/0", ""),
    ("# curl", 'curl -u {u}:{pw} https://api.labels.internal/v1/export', ""),
])
USERS = ["app", "svc_export", "labeler", "deploy", "etl", "admin_ro", "bot"]

# Credential forms added after v3 was scored: command lines, connection strings, headers, config
# files of many tools, tokens in prose. ``{k}``/``{lk}``/``{ck}`` a secret name, ``{v}`` its value,
# ``{pw}`` a password, ``{spw}`` a short one (8-11), ``{u}`` a user, ``{tok}`` a service token,
# ``{b64}`` a base64 key. Each is (title, lines): one document holds one or two of them.
CRED_FORMS = reserve([], more2=[
    ("curl", "curl -u {u}:{pw} https://api.labels.internal/v1/export"),
    ("curl", "curl -s -X POST https://api.labels.internal/v1/jobs --user '{u}:{spw}' -d @job.json"),
    ("curl", 'curl -H "Authorization: Bearer {v}" https://api.labels.internal/v1/tasks'),
    ("curl", 'curl -H "X-Api-Key: {v}" https://api.labels.internal/v1/tasks'),
    ("mysql", "mysql -h db01.internal -u {u} -p{spw} labels < export.sql"),
    ("mysql", "mysqldump -u {u} -p'{pw}' --single-transaction labels > labels.sql"),
    ("ssh", "sshpass -p '{spw}' ssh {u}@bastion.internal"),
    ("cli", "./exporter --user {u} --password={spw} --out s3://labels-export/"),
    ("cli", "labelctl login --token {v}"),
    (".NET", 'Server=tcp:sql01.internal,1433;Initial Catalog=labels;User ID={u};Password={spw};Encrypt=True;'),
    ("JDBC", "spring.datasource.url=jdbc:postgresql://db01:5432/labels?user={u}&password={spw}&ssl=true"),
    ("Mongo", "MONGO_URI=mongodb+srv://{u}:{pw}@cluster0.x7k2p.mongodb.net/labels?retryWrites=true"),
    ("Azure", "DefaultEndpointsProtocol=https;AccountName=labelsdata;AccountKey={b64};EndpointSuffix=core.windows.net"),
    ("Azure", "https://labelsdata.blob.core.windows.net/exports?sv=2022-11-02&ss=b&srt=co&sp=rl&sig={sig}"),
    ("pgpass", "# ~/.pgpass\ndb01.internal:5432:labels:{u}:{pw}"),
    ("aws", "# ~/.aws/credentials\n[default]\naws_access_key_id = AKIA{akid}\naws_secret_access_key = {aws}"),
    ("java", "# application.properties\nserver.port=8080\napp.datasource.{lk}={v}"),
    ("spring", "spring:\n  datasource:\n    username: {u}\n    password: {pw}"),
    ("ansible", "# group_vars/prod.yml\nansible_user: {u}\nansible_become_password: {pw}"),
    ("helm", "# values.yaml\nauth:\n  rootPassword: {pw}\n  {ck}: {v}"),
    ("actions", "jobs:\n  deploy:\n    runs-on: ubuntu-latest\n    env:\n      {k}: {v}"),
    ("json", '{{\n  "endpoint": "https://api.labels.internal",\n  "{ck}": "{v}"\n}}'),
    ("ps", '${ck} = "{v}"'),
    ("ruby", ':{lk} => "{v}",'),
    ("prose", "I dropped the bot token in the channel for now: {tok} - rotate it after the demo."),
    ("prose", "Heads up, the key {tok} still works, please revoke it."),
], v4=[
    ("redis", "redis-cli -h cache.internal -a {pw} --no-auth-warning"),
    ("docker", "docker login registry.labels.internal -u {u} -p {pw}"),
    ("psql", "PGPASSWORD={pw} psql -h db01 -U {u} labels"),
    (".NET", "Data Source=sql02;Initial Catalog=payroll;User Id={u};Pwd={spw};"),
    ("js", 'xhr.setRequestHeader("Authorization", "Bearer {v}");'),
    ("js", "headers: {{ 'x-auth-token': '{v}' }},"),
    ("yaml", "vault:\n  addr: https://vault.internal:8200\n  {ck}: {v}"),
    ("k8s", "apiVersion: v1\nkind: Secret\ndata:\n  {lk}: {b64}"),
    ("pgpass", "*:*:*:{u}:{pw}"),
    ("ini", "[smtp]\nhost = smtp.internal\nuser = {u}\n{lk} = {v}"),
    ("wget", "wget --user={u} --password={pw} https://files.labels.internal/export.zip"),
    ("prose", "Stripe live key for the payout job is {tok}, do not share outside ops."),
])


def _short_password(rng: random.Random) -> str:
    return _rand(rng, string.ascii_letters, 1) + _rand(rng, string.ascii_letters + string.digits, rng.randint(6, 9)) \
        + rng.choice(string.digits)


def _service_token(rng: random.Random) -> str:
    alnum = string.ascii_letters + string.digits
    return rng.choice([f"xoxb-{rng.randint(10**10, 10**11)}-{rng.randint(10**12, 10**13)}-{_rand(rng, alnum, 24)}",
                       "sk_live_" + _rand(rng, alnum, 32), "ghp_" + _rand(rng, alnum, 36),
                       "glpat-" + _rand(rng, alnum + "-_", 20)])


def _cred_form(g: Gen) -> Made:
    """One or two credential forms added after v3 (command lines, connection strings, headers...)."""
    rng, p = g.rng, g.p
    forms = p.sample(CRED_FORMS, rng.randint(1, 2))
    lines = []
    for _, form in forms:
        k = p.pick(SECRET_NAMES)
        tok = _service_token(rng)
        if "Stripe" in form:
            tok = "sk_live_" + _rand(rng, string.ascii_letters + string.digits, 32)
        lines.append(form.format(k=k, lk=k.lower(), ck=_camel(k), v=secret_value(rng, k), pw=_password(rng),
                                 spw=_short_password(rng), u=p.pick(USERS), tok=tok,
                                 b64=base64.b64encode(rng.randbytes(48)).decode(),
                                 sig=base64.b64encode(rng.randbytes(32)).decode().replace("+", "%2B")
                                 .replace("/", "%2F").replace("=", "%3D"),
                                 akid=_rand(rng, string.ascii_uppercase + "234567", 16),
                                 aws=_rand(rng, string.ascii_letters + string.digits + "/+", 40)))
    blocks: list[Para | Table] = [Para(p.pick(CRED_TITLES), heading=True)]
    if p.chance(0.6):
        blocks.append(Para(T.prose(p, rng.randint(100, 1500))))
    blocks.append(Para("\n".join(lines)))
    if p.chance(0.4):
        blocks.append(Para(T.prose(p, rng.randint(100, 1200))))
    return Made(Doc(blocks), frozenset({CRED}), "credentials")


def _camel(name: str) -> str:
    head, *rest = name.lower().split("_")
    return head + "".join(w.capitalize() for w in rest)


def _password(rng: random.Random) -> str:
    return _rand(rng, string.ascii_letters + string.digits, rng.randint(12, 20))


def _config_file(g: Gen) -> Made:
    rng, p = g.rng, g.p
    head, line, foot = p.pick(CONFIG_FILES)
    names = p.sample(SECRET_NAMES, rng.randint(1, 3)) if "{v}" in line else ["DB_PASSWORD"]
    body = [line.format(k=k, lk=k.lower(), dk=k.lower().replace("_", "-"), ck=_camel(k), v=secret_value(rng, k),
                        pw=_password(rng), u=p.pick(USERS)) for k in names]
    text = "\n".join(x for x in (head, *body, foot) if x)
    blocks: list[Para | Table] = [Para(p.pick(CRED_TITLES), heading=True)]
    if p.chance(0.5):
        blocks.append(Para(T.prose(p, rng.randint(100, 1200))))
    blocks.append(Para(text))
    return Made(Doc(blocks), frozenset({CRED}), "credentials")


def credentials(g: Gen) -> Made:
    rng, p = g.rng, g.p
    if p.fresh2 and p.chance(0.4):
        return _cred_form(g)
    if p.fresh and p.chance(0.45):
        return _config_file(g)
    blocks: list[Para | Table] = [Para(p.pick(CRED_TITLES), heading=True)]
    if p.chance(0.6):
        blocks.append(Para(T.prose(p, rng.randint(100, 1500))))
    narrow = 0.0
    if p.chance(0.3):
        kind = p.pick(["RSA ", "", "OPENSSH ", "EC ", "ENCRYPTED ", "DSA "])
        lines = pem_block(rng, kind)
        intro = p.pick(["Service account key:", "Deploy key (rotate after the demo):", "ssh key for the bastion",
                        "private key below", "Key for the SFTP drop:"])
        if g.fmt == "pdf" and p.chance(0.6):  # pasted as one paragraph: the PDF wraps it anywhere
            blocks.append(Para(intro + " " + " ".join(lines)))
            narrow = rng.choice([60.0, 80.0, 95.0])
        else:
            blocks.append(Para(intro))
            blocks.append(Para("\n".join(lines)))
    else:
        assignment = p.pick(ASSIGN)
        names = p.sample(SECRET_NAMES, rng.randint(1, 4))
        pairs = [(name, secret_value(rng, name)) for name in names]
        if p.chance(0.6):
            pairs = [("APP_ENV", rng.choice(["production", "staging"])), *pairs, ("LOG_LEVEL", "info")]
        lines = [assignment.format(k=k, lk=k.lower(), v=v) for k, v in pairs]
        if g.fmt == "xlsx" and p.chance(0.5):  # a sheet of NAME | value rows
            blocks.append(Table([[k if p.chance(0.7) else k.lower(), v] for k, v in pairs], header=False))
        else:
            blocks.append(Para("\n".join(lines)))
    if p.chance(0.4):
        blocks.append(Para(T.prose(p, rng.randint(100, 1200))))
    return Made(Doc(blocks, pdf_width=narrow), frozenset({CRED}), "credentials")


# ---------------------------------------------------------------------------------------------- client confidential

CODENAMES = ["KESTREL", "BLUEFIN", "PEREGRINE", "Halcyon Motors", "Orion Health", "Vantablack Retail"]
CONF_LINES = [
    "CONFIDENTIAL", "Strictly confidential - {c} engagement", "For internal use only", "Do not distribute",
    "Client: {c}", "This document is shared under NDA with {c}.", "Confidential: prepared for {c}",
    "Project {c}: scope and pricing",
    # held-back
    "Privileged & Confidential", "Commercially confidential", "Covered by our mutual non-disclosure agreement",
    "Customer: {c} - do not forward",
    "Confidential and proprietary", "CONFIDENTIAL - NOT FOR DISTRIBUTION", "Internal - do not share outside {c}",
    "Restricted: {c} project team only", "Attorney-client privileged", "Proprietary & confidential information of {c}",
    "Not for external distribution", "Confidential — {c}", "Private and confidential",
]
CONF_LINES = reserve(CONF_LINES, v2=[
    "Highly confidential", "Sensitive - {c} eyes only", "Privileged and confidential: prepared at the request of counsel",
    "Company confidential", "Confidential information of {c}. Do not copy.", "Internal only - {c} account",
])


def client_confidential(g: Gen) -> Made:
    rng, p = g.rng, g.p
    client = p.shared(CODENAMES)
    marker = p.pick(CONF_LINES).format(c=client)
    body = T.prose(p, rng.randint(400, 8000))
    title = p.pick(["Client brief", "Statement of work", "Pricing proposal", "Kickoff deck", "Pilot results",
                    "Account plan", "QBR notes", "Delivery plan", "Renewal memo"])
    if p.chance(0.5):
        paras = body.split("\n\n")
        paras.insert(rng.randrange(len(paras) + 1), f"The {client} team asked for weekly calibration sessions.")
        body = "\n\n".join(paras)
    placement = rng.random()
    blocks: list[Para | Table] = [Para(title, heading=True)]
    if placement < 0.5:
        blocks += [Para(marker), Para(body)]
    else:
        blocks += [Para(body), Para(marker)]
    return Made(Doc(blocks), frozenset({CONF}), "client_confidential")


# ---------------------------------------------------------------------------------------------- gov ids

def gov_id_list(g: Gen) -> Made:
    rng, p = g.rng, g.p
    people = _persons(g, rng.randint(2, 25))
    kind = p.pick(["ssn", "nino", "passport", "ssn", "itin"])
    value = {"ssn": lambda: ssn(rng), "nino": lambda: nino(rng), "passport": lambda: passport(rng),
             "itin": lambda: f"9{rng.randint(10, 99)}-{rng.choice([70, 78, 83, 90])}-{rng.randint(1000, 9999)}"}[kind]
    header = {"ssn": "SSN", "nino": "NI number", "passport": "Passport no.", "itin": "ITIN"}[kind]
    style = p.pick(["first last", "last, first", "LAST first", "first last"])
    rows = [[p.pick(["Name", "Employee", "Contractor", "Payee", "Taxpayer"]), header]]
    rows += [[g.people.styled(q, style), value()] for q in people]
    layout = p.shared(["comma", "tab", "pipe"]) if g.fmt == "txt" else "tab"
    title = [] if g.fmt == "txt" and layout != "pipe" else \
        _intro(g, ["1099 prep", "Tax ids for payroll", "Right-to-work checks", "Background check batch"])
    return Made(Doc([*title, Table(rows, layout=layout)]), frozenset({CPII, GOV}), "gov_id_list")


# ---------------------------------------------------------------------------------------------- invoices

def invoice(g: Gen) -> Made:
    rng, p = g.rng, g.p
    individual = p.chance(0.4)
    q = g.people.person()
    lines = [f"Invoice {p.pick(['#', 'No. ', 'INV-', 'Ref '])}{rng.randint(1000, 99999)}",
             f"Date: 2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"]
    if individual:
        lines += [f"From: {q.full}", address(rng), f"Email: {q.email}"]
    else:
        lines += [f"From: {rng.choice(['Northwind Data Ltd', 'Blue Harbor Labeling GmbH', 'Quanta Annotations SRL', 'Ardent Ops LLC'])}",
                  f"Billing: {rng.choice(['billing', 'accounts', 'invoices'])}@{rng.choice(['northwind-data.io', 'blueharbor.de', 'quanta-ann.ro'])}"]
    items = [[p.pick(["Description", "Item", "Service"]), "Qty", "Unit", "Total"]]
    for _ in range(rng.randint(1, 6)):
        qty = rng.randint(1, 400)
        unit = rng.randint(1, 90)
        items.append([rng.choice(["Annotation hours", "QA review", "Project management", "Tooling fee"]),
                      str(qty), f"{unit}.00", f"{qty * unit:,}.00"])
    pay_kind = p.pick(["iban", "bank", "card", "iban", "bank_uk"])
    if pay_kind == "iban":
        pay = [f"{p.pick(['IBAN', 'Bank IBAN', 'Pay to IBAN'])}: {iban(rng)}", f"BIC: {_rand(rng, string.ascii_uppercase, 6)}XX"]
    elif pay_kind == "bank":
        pay = [f"Bank account: {bank_account(rng)}", f"Routing number: {routing(rng)}"]
    elif pay_kind == "card":
        pay = [f"{p.pick(['Card on file', 'Paid by card', 'Credit card'])}: {card(rng)}, exp {rng.randint(1, 12):02d}/{rng.randint(25, 30)}"]
    else:
        pay = [f"Sort code: {rng.randint(10, 99)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}",
               f"Account number: {rng.randint(10_000_000, 99_999_999)}"]
    blocks: list[Para | Table] = [Para("\n".join(lines)), Table(items, layout="spaces"),
                                  Para(p.pick(["Payment details", "Please pay to", "Remittance", "Bank details"]) +
                                       "\n" + "\n".join(pay))]
    cats = {FIN} | ({CPII} if individual else set())
    return Made(Doc(blocks), frozenset(cats), "invoice")


# ---------------------------------------------------------------------------------------------- sheets / appendix

def second_sheet(g: Gen) -> Made:
    """PII on a second (maybe hidden) sheet or in a hidden column; other formats: an appendix at the end."""
    rng, p = g.rng, g.p
    roster = roster_header(g)
    table = roster.doc.blocks[-1]
    assert isinstance(table, Table)
    report = T.report_rows(p, rng.randint(10, 200))
    if g.fmt == "xlsx":
        mode = p.pick(["second", "hidden_sheet", "hidden_col", "second", "hidden_col", "third"])
        if mode == "hidden_col":
            header = ["Project", "Status", "Hours"] + table.rows[0]
            rows = [header] + [[rng.choice(["Atlas", "Nimbus"]), "active", str(rng.randint(1, 90))] + r
                               for r in table.rows[1:]]
            contact_cols = tuple(i for i, h in enumerate(header) if i >= 3 and h not in ("Country", "Team", "Status"))
            sheets = [Sheet("Tracker", rows, hidden_cols=contact_cols[1:] or contact_cols)]
        else:
            sheets = [Sheet("Summary", report)]
            if mode == "third":
                sheets.append(Sheet("Notes", [[T.sentence(p)] for _ in range(5)]))
            sheets.append(Sheet(p.pick(["People", "Sheet2", "contacts", "Team", "raw", "lookup"]), table.rows,
                                hidden=mode == "hidden_sheet"))
        return Made(Doc([], sheets=sheets), roster.categories, "second_sheet")
    blocks: list[Para | Table] = [Para(p.pick(["Quarterly report", "Ops review", "Delivery metrics"]), heading=True),
                                  Para(T.prose(p, rng.randint(2000, 20000))), Table(report),
                                  Para(p.pick(["Appendix B: contacts", "Appendix: team", "Annex 2"]), heading=True),
                                  table]
    return Made(Doc(blocks), roster.categories, "second_sheet")


def long_document(g: Gen) -> Made:
    """>= 1 MB of text with the one roster near the end."""
    rng, p = g.rng, g.p
    inner = p.pick(reserve([roster_header, headerless_list, roster_header, headerless_list, payroll],
                           v2=[kv_form]))(g)
    size = rng.randint(1_050_000, 1_300_000)
    if g.fmt == "xlsx":
        filler = T.report_rows(p, size // 40)
        tables = [b for b in inner.doc.blocks if isinstance(b, Table)]
        table = tables[-1] if tables else inner.doc.blocks[-1]
        rows = table.rows if isinstance(table, Table) else [[x] for x in table.text.split("\n")]
        return Made(Doc([], sheets=[Sheet("Data", filler), Sheet("Contacts", rows)]), inner.categories,
                    "long_document")
    body = T.prose(p, size)
    tail = T.prose(p, rng.randint(2000, 20000))
    blocks: list[Para | Table] = [Para("Annual operations handbook", heading=True), Para(body), *inner.doc.blocks,
                                  Para(tail)]
    return Made(Doc(blocks), inner.categories, "long_document")


# ---------------------------------------------------------------------------------------------- clean families

def benign(g: Gen) -> Made:
    rng, p = g.rng, g.p
    kind = p.shared(["policy", "notes", "changelog", "report", "marketing", "notes_full"])
    size = rng.randint(400, 30000)
    if kind == "policy":
        blocks: list[Para | Table] = [Para(p.pick(["Acceptable use policy", "Travel policy", "Leave policy",
                                                   "Quality guidelines", "Annotation guide"]), heading=True),
                                      Para(T.prose(p, size))]
    elif kind == "notes":
        blocks = [Para(T.meeting_notes(p, size))]
    elif kind == "notes_full":  # full names of colleagues, no contact data
        names = [q.full for q in _persons(g, 6)]
        blocks = [Para(T.meeting_notes(p, size, names))]
    elif kind == "changelog":
        blocks = [Para(T.changelog(p, size))]
    elif kind == "report":
        blocks = [Para(T.prose(p, size // 2)), Table(T.report_rows(p, rng.randint(5, 60)))]
    else:
        blocks = [Para(p.pick(["Why better labels make better models", "Our 2024 in review", "Customer story"]),
                       heading=True), Para(T.prose(p, size)),
                  Para(f"Questions? Write to {p.pick(['hello', 'info', 'support', 'sales', 'press', 'careers'])}@"
                       f"{p.pick(['tessera-labs.com', 'northwind-data.io', 'labelhub.ai', 'quanta-ann.ro'])}.")]
    return Made(Doc(blocks), frozenset(), "benign")


BLANKS = {
    "name": ["", "____________", "[Full name]", "Your Name", "<name>", "First Last", "Name Surname", "(print name)",
             "Your full name here", "N/A", "TBD"],
    "email": ["", "____@____", "name@example.com", "you@yourcompany.com", "[email]", "<email>", "jane.doe@example.org",
              "email@domain.com", "first.last@company.com"],
    "phone": ["", "(___) ___-____", "+1 555 0100", "555-0123", "000-000-0000", "[phone]", "+44 (0)20 7946 0000",
              "(555) 555-0199"],
    "dob": ["DD/MM/YYYY", "MM/DD/YYYY", "", "__/__/____", "YYYY-MM-DD", "dd.mm.yyyy"],
    "ssn": ["XXX-XX-XXXX", "", "___-__-____", "000-00-0000", "123-45-6789"],
    "bank": ["", "________________", "XXXXXXXX", "00000000", "[account number]"],
    "iban": ["", "GB00 XXXX 0000 0000 0000 00", "[IBAN]", "DE89 3704 0044 0532 0130 00"],
    "rate": ["0.00", "$0.00", "", "$__.__", "[rate]", "0.00 USD"],
    "address": ["", "[street, city, postcode]", "123 Main Street, Anytown", "_______________________"],
}
_BLANKS_V2 = {"name": ["Name of applicant", "(Surname, Given names)"], "email": ["user@example.net", "___________@"],
              "phone": ["+1 (555) 010-0000", "__________"], "rate": ["USD 0.00", "€0,00"],
              "bank": ["XXXX XXXX XXXX"], "address": ["Street / City / ZIP"]}
BLANKS = {k: reserve(v, v2=_BLANKS_V2.get(k, [])) for k, v in BLANKS.items()}


def blank_template(g: Gen) -> Made:
    rng, p = g.rng, g.p
    fields = ["name", *rng.sample([k for k in BLANKS if k != "name"], rng.randint(2, 6))]
    pairs = [(p.pick(KV_LABELS[f]), p.pick(BLANKS[f])) for f in fields]
    blocks = _kv_blocks(g, pairs, ["Contractor onboarding form (template)", "New hire form", "Vendor registration",
                                   "Blank intake form", "TEMPLATE - copy before use", "Form W-x (blank)"])
    if p.chance(0.5):
        blocks.insert(1, Para(p.pick(["Fill in every field and return it to HR.", "Instructions: complete in block capitals.",
                                      "Replace the placeholders with your details.", "Do not include real data in this template."])))
    return Made(Doc(blocks), frozenset(), "blank_template")


def product_doc(g: Gen) -> Made:
    rng, p = g.rng, g.p
    prods = p.sample(T.PRODUCTS, rng.randint(5, 12))
    lines = [f"{a} integrates with {b} and {c} out of the box." for a, b, c in
             (rng.sample(prods, 3) for _ in range(rng.randint(4, 12)))]
    table = [["Product", "Version", "Seats", "Price"]] + [[x, f"{rng.randint(1, 12)}.{rng.randint(0, 9)}",
                                                            str(rng.randint(5, 500)), f"${rng.randint(9, 99)}.00"]
                                                           for x in prods]
    blocks: list[Para | Table] = [Para(p.pick(["Tooling overview", "Integrations", "Vendor comparison",
                                               "Product catalogue", "Stack review"]), heading=True),
                                  Para(" ".join(lines)), Table(table)]
    if p.chance(0.5):
        blocks.append(Para(f"Enterprise sales: {p.pick(['sales', 'enterprise', 'partners'])}@"
                           f"{p.pick(['labelhub.ai', 'tessera-labs.com', 'kili-tech.example'])} or "
                           f"+1 {rng.randint(800, 888)} {rng.randint(200, 999)} {rng.randint(1000, 9999)} "
                           f"({p.pick(prods)} support line)."))
    return Made(Doc(blocks), frozenset(), "product_doc")


FAMOUS = [("Ada Lovelace", "10 December 1815", "mathematician"), ("Alan Turing", "23 June 1912", "computer scientist"),
          ("Grace Hopper", "9 December 1906", "computer scientist"), ("Marie Curie", "7 November 1867", "physicist"),
          ("Nelson Mandela", "18 July 1918", "statesman"), ("Frida Kahlo", "6 July 1907", "painter"),
          ("Albert Einstein", "14 March 1879", "physicist"), ("Katherine Johnson", "26 August 1918", "mathematician"),
          ("Chinua Achebe", "16 November 1930", "novelist"), ("Rabindranath Tagore", "7 May 1861", "poet"),
          ("Wangari Maathai", "1 April 1940", "environmentalist"), ("Srinivasa Ramanujan", "22 December 1887", "mathematician"),
          ("Hedy Lamarr", "9 November 1914", "inventor"), ("Claude Shannon", "30 April 1916", "mathematician"),
          ("Rosalind Franklin", "25 July 1920", "chemist"), ("Nikola Tesla", "10 July 1856", "inventor"),
          # held-back
          ("Mae Jemison", "17 October 1956", "astronaut"), ("Tim Berners-Lee", "8 June 1955", "computer scientist"),
          ("Fei-Fei Li", "3 July 1976", "computer scientist"), ("Wole Soyinka", "13 July 1934", "playwright"),
          ("Gabriel García Márquez", "6 March 1927", "novelist"), ("Dorothy Vaughan", "20 September 1910", "mathematician"),
          ("Yuri Gagarin", "9 March 1934", "cosmonaut"), ("Ngozi Okonjo-Iweala", "13 June 1954", "economist")]
FAMOUS = reserve(FAMOUS, v2=[("Jagadish Chandra Bose", "30 November 1858", "physicist"),
                             ("Valentina Tereshkova", "6 March 1937", "cosmonaut"),
                             ("Chimamanda Ngozi Adichie", "15 September 1977", "novelist"),
                             ("Kofi Annan", "8 April 1938", "diplomat")])


def public_figures(g: Gen) -> Made:
    rng, p = g.rng, g.p
    people = p.sample(FAMOUS, rng.randint(4, 10))
    if p.chance(0.5):
        rows = [["Name", "Born", "Known as"]] + [[n, b, k] for n, b, k in people]
        blocks: list[Para | Table] = [Para(p.pick(["Pioneers we name our clusters after", "Reading list: biographies",
                                                   "Conference room names"]), heading=True), Table(rows)]
    else:
        blocks = [Para(p.pick(["Inspiring people", "Name ideas for the new GPU nodes", "History of computing talk"]),
                       heading=True)]
        blocks += [Para(f"{n} (born {b}) was a {k}. {T.sentence(p)}") for n, b, k in people]
    return Made(Doc(blocks), frozenset(), "public_figures")


SAMPLE_PEOPLE = ["John Doe", "Jane Doe", "Richard Roe", "Jane Roe", "Joe Bloggs", "John Q Public", "Max Mustermann",
                 "Erika Mustermann", "Mario Rossi", "Juan Pérez"]


def sample_data(g: Gen) -> Made:
    rng, p = g.rng, g.p
    rows = [["Name", "Email", "Phone", "Rate"]]
    for name in rng.sample(SAMPLE_PEOPLE, rng.randint(2, 5)):
        local = name.lower().replace(" ", ".")
        rows.append([name, f"{local}@{p.pick(['example.com', 'example.org', 'example.net', 'test.com'])}",
                     f"{p.pick(['+1 ', '(', ''])}{rng.randint(201, 989)}{p.pick([') ', ' ', '-'])}555-01{rng.randint(0, 99):02d}",
                     p.pick(["$0.00", "$25.00", "0.00", "$10/hr"])])
    blocks: list[Para | Table] = [Para(p.pick(["Import template (sample data)", "Example rows for the CSV importer",
                                               "Demo data", "How the export looks (fictional)"]), heading=True),
                                  Table(rows)]
    if p.chance(0.5):
        blocks.append(Para(f"Test card {p.pick(['4111 1111 1111 1111', '4242 4242 4242 4242', '5555 5555 5555 4444'])}"
                           f" and SSN 123-45-6789 are sample values used in the docs."))
    return Made(Doc(blocks), frozenset(), "sample_data")


LOOKALIKE_SECRETS = ["OPENAI_API_KEY=<your-key-here>", "API_KEY=changeme", "password: ********", "export TOKEN=${TOKEN}",
                     "SECRET_KEY=your-secret-key-here", "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                     "DATABASE_PASSWORD=", "STRIPE_SECRET_KEY=sk_test_...", "aws_secret_access_key = YOUR_SECRET",
                     "HF_TOKEN=hf_...", "client_secret: <redacted>", "LABEL_STUDIO_API_KEY={{ secrets.LS_KEY }}",
                     "password = os.environ['DB_PASSWORD']", "ANTHROPIC_API_KEY=$(vault read -field=key secret/ai)",
                     'api_key = "<API_KEY>"', '"client_secret": "REPLACE_ME"', "SECRET_KEY = os.getenv('SECRET_KEY')",
                     "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "token: xxxxxxxxxxxxxxxx",
                     "DB_PASSWORD: !vault |"]
LOOKALIKE_SECRETS = reserve(LOOKALIKE_SECRETS, v2=["'password' => env('DB_PASSWORD'),", "API_KEY=<insert key>",
                                                   "OPENAI_API_KEY: sk-...your key...", "password: {{ db_password }}"],
                            more=['<add key="ApiKey" value="[YOUR_API_KEY]" />', "set -gx OPENAI_API_KEY $OPENAI_KEY",
                                  '$env:API_TOKEN = "<token>"', 'set "DB_PASSWORD=changeme"',
                                  "      - API_TOKEN=${API_TOKEN}", "  api-token: <base64-encoded-token>",
                                  "//registry.npmjs.org/:_authToken=${NPM_TOKEN}",
                                  "DATABASE_URL=postgres://user:password@localhost:5432/db",
                                  "git clone https://<user>:<token>@github.com/org/repo.git",
                                  "<password>********</password>", "SECRET_KEY=xxxxxxxxxxxxxxxxxxxxxxxx",
                                  "client_secret = \"REDACTED\"", "password = changeme123"],
                            v3=['<add name="Main" connectionString="Server=.;User ID=sa;Password=<password>;" />',
                                "machine api.example.com login you password YOUR_PASSWORD",
                                "REDIS_URL=redis://:${REDIS_PASSWORD}@cache:6379/0",
                                "spring.datasource.password=${DB_PASSWORD}", "$apiKey = Read-Host -AsSecureString",
                                "<ClientSecret>__CLIENT_SECRET__</ClientSecret>", "curl -u admin:admin http://localhost:8080"],
                            more2=["curl -u USERNAME:PASSWORD https://api.example.com/v1", 'curl -u "$USER:$TOKEN" $URL',
                                   "mysql -h db01 -u root -p labels", "--password PASSWORD  the account password",
                                   "Server=.;User ID=sa;Password=****;", 'Authorization: Bearer <token>',
                                   'curl -H "Authorization: Bearer $API_TOKEN" https://api.internal',
                                   "hostname:port:database:username:password", 'pat = "<your-pat>"',
                                   "publicKey: MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8k2", "api_key_id: {uuid}",
                                   "TOKEN_URL=https://id.internal/oauth2/v1/token", "primaryKey: {hex}",
                                   "sha256  {hex}  sharescan-1.4.tar.gz", "The MasterKey and SessionPass features ship"],
                            v4=["redis-cli -a $REDIS_PASSWORD", "docker login -u $CI_USER -p $CI_TOKEN",
                                "cacheKey = {hex}", "idempotencyKey: {uuid}", "PGPASSWORD=<password> psql -h db",
                                "checksum (SHA-256): {hex}", "x-request-id: {uuid}"])


def lookalike_secrets(g: Gen) -> Made:
    rng, p = g.rng, g.p
    lines = p.sample(LOOKALIKE_SECRETS, rng.randint(2, 6))
    if p.fresh2:  # ids and hashes the look-alikes added after v3 name
        lines = [x.replace("{uuid}", str(uuid.UUID(int=rng.getrandbits(128), version=4)))
                 .replace("{hex}", f"{rng.getrandbits(256):064x}") for x in lines]
    extra = [f"request_id={rng.getrandbits(128):032x}", f"commit {rng.getrandbits(160):040x}",
             f"sha256: {rng.getrandbits(256):064x}", f"build {rng.randint(1000, 9999)} passed"]
    lines += rng.sample(extra, rng.randint(1, 3))
    blocks: list[Para | Table] = [Para(p.pick(["Configuration reference", "Setting up your environment", "README",
                                               "Secrets handling guide"]), heading=True),
                                  Para(T.prose(p, rng.randint(200, 2000))), Para("\n".join(lines))]
    return Made(Doc(blocks), frozenset(), "lookalike_secrets")


def lookalike_marking(g: Gen) -> Made:
    rng, p = g.rng, g.p
    line = p.pick(["We keep your data confidential and never sell it.", "Confidentiality is one of our values.",
                   "Read our customer stories to learn more.", "Client satisfaction rose 12% this year.",
                   "Our NDA template is available on the public website.", "Customers: see the pricing page.",
                   "Please treat feedback with discretion.", "Account managers meet each client monthly.",
                   "Our confidential whistle-blowing hotline is run by an outside firm.",
                   "What does attorney-client privilege mean? A short explainer.",
                   "Internal tools are listed on the intranet."])
    paras = T.prose(p, rng.randint(300, 5000)).split("\n\n")
    paras.insert(rng.randrange(len(paras) + 1), line)
    return Made(Doc([Para(p.pick(["Brand guide", "Company values", "Sales playbook (public)"]), heading=True),
                     *[Para(x) for x in paras]]), frozenset(), "lookalike_marking")


def agenda(g: Gen) -> Made:
    rng, p = g.rng, g.p
    people = _persons(g, rng.randint(3, 12))
    rows = [["Time", "Session", "Speaker", "Company"]]
    for i, q in enumerate(people):
        rows.append([f"{9 + i // 2}:{'30' if i % 2 else '00'}", rng.choice(["Keynote", "Panel", "Workshop", "Talk"]),
                     q.full, rng.choice(["Northwind", "Tessera Labs", "LabelHub", "Quanta"])])
    blocks: list[Para | Table] = [Para(p.pick(["Summit agenda", "Speakers", "Offsite programme", "Panel line-up"]),
                                       heading=True), Table(rows)]
    return Made(Doc(blocks), frozenset(), "agenda")


SENSITIVE: list[tuple[Callable[[Gen], Made], int]] = [
    (roster_header, 10), (headerless_list, 13), (kv_form, 11), (prose_contact, 6), (payroll, 5), (credentials, 9),
    (client_confidential, 6), (gov_id_list, 3), (invoice, 5), (second_sheet, 4),
]
CLEAN: list[tuple[Callable[[Gen], Made], int]] = [
    (benign, 12), (blank_template, 7), (product_doc, 5), (public_figures, 4), (sample_data, 5),
    (lookalike_secrets, 5), (lookalike_marking, 3), (agenda, 4),
]
