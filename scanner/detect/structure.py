"""Tables (sheets, CSV, DOCX/PPTX tables): use headers and columns, not only flat text.

A table whose header row has a name column and an email or phone column is a roster even when
NER misses names; name/rate/DOB/ID columns turn their cells into entities.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ROLE_WORDS: dict[str, tuple[str, ...]] = {
    "name": ("name", "full name", "contractor", "employee", "worker", "annotator", "labeler", "labeller",
             "first name", "last name", "surname", "given name", "person", "staff", "consultant",
             "freelancer", "contact name", "candidate", "forename", "family name", "legal name", "payee",
             "beneficiary", "applicant", "rater", "tasker", "assignee", "team member", "contributor", "collaborator",
             "staff member", "crew member", "vorname", "nachname", "prénom", "nom", "given names", "family names",
             "vendor contact", "point of contact", "contact person"),
    "email": ("email", "e-mail", "email address", "mail", "work email", "personal email", "e mail"),
    "phone": ("phone", "mobile", "tel", "telephone", "cell", "phone number", "mobile number", "cell phone",
              "mobile phone", "contact number", "phone no", "whatsapp", "whatsapp number", "msisdn", "cellphone",
              "mobile no", "tel no"),
    "rate": ("rate", "pay", "hourly", "hourly rate", "day rate", "salary", "wage", "compensation",
             "pay rate", "fee", "rate (usd)", "rate/hr", "annual salary", "amount", "gross pay",
             "net pay", "payout", "comp", "per task", "unit price", "rate per hour", "hourly fee", "hourly wage",
             "payout rate", "fee per hour"),
    "gov_id": ("ssn", "social security", "social security number", "nino", "national insurance",
               "ni number", "ni no", "tax id", "tin", "passport", "passport number", "itin", "travel document",
               "national insurance number", "national insurance no", "social security no", "passport no"),
    "bank": ("iban", "bank account", "account number", "sort code", "routing", "routing number",
             "bank", "account no", "swift", "bic", "acct", "acct no", "checking account", "bank account number",
             "bank acct", "savings account"),
    "dob": ("dob", "date of birth", "birth date", "birthday", "birthdate", "d o b"),
    "address": ("address", "home address", "street", "street address", "mailing address"),
}
_NORM = re.compile(r"[^a-z0-9/ ]+")
_PARENS = re.compile(r"\([^)]*\)")
_LOOKUP = {w: role for role, words in ROLE_WORDS.items() for w in words}
_NAME_CELL = re.compile(r"^[^\W\d_][\w'’.-]*(?:,? [^\W\d_][\w'’.-]*){0,4}$")
_DIGITS = re.compile(r"\d")


#: headers that name a role only on their own ("First", "Last"), never as a word of a longer one ("Last updated")
_EXACT_ONLY = {"first": "name", "last": "name", "given": "name", "family": "name"}
#: multi-word labels, longest first: found inside a longer label ("Full name of payee", "Bank routing number")
_PHRASES = sorted((w for w in _LOOKUP if " " in w), key=len, reverse=True)
#: "<x> name" is a person's name unless x says it is a thing's
_THING_NAMES = frozenset({"company", "project", "file", "user", "product", "client", "bank", "team",
                          "business", "organisation", "organization", "org", "vendor", "brand", "domain", "host",
                          "server", "app", "application", "display", "screen", "model", "dataset", "task", "branch",
                          "street", "city", "country", "code", "field", "sheet", "table", "column", "course",
                          "event", "school", "university", "employer", "trading", "legal entity", "entity"})


def header_role(cell: str) -> str | None:
    key = " ".join(_NORM.sub(" ", _PARENS.sub(" ", cell.lower()).replace("_", " ")).split())
    if not key:
        key = " ".join(_NORM.sub(" ", cell.lower()).split())
    if key in _LOOKUP:
        return _LOOKUP[key]
    if key in _EXACT_ONLY:
        return _EXACT_ONLY[key]
    if key.endswith("s") and key[:-1] in _LOOKUP:  # "Emails", "Names"
        return _LOOKUP[key[:-1]]
    words = key.split()
    if 2 <= len(words) <= 6:
        padded = f" {key} "
        for phrase in _PHRASES:
            if f" {phrase} " in padded:
                return _LOOKUP[phrase]
        if words[-1] in ("name", "names") and len(words) <= 3:
            return None if _THING_NAMES & set(words[:-1]) else "name"
    for word in words:
        if word in _LOOKUP and len(words) <= 3:
            return _LOOKUP[word]
    return None


@dataclass
class TableFacts:
    header_row: int | None = None
    roles: dict[str, list[int]] = field(default_factory=dict)  # role -> column indices
    filled_rows: int = 0  # data rows with a name and (email or phone)
    cells: list[tuple[str, int, int]] = field(default_factory=list)  # (entity, row, col)

    @property
    def has_name_column(self) -> bool:
        return "name" in self.roles

    @property
    def is_roster_shaped(self) -> bool:
        return self.has_name_column and ("email" in self.roles or "phone" in self.roles)


def analyse_table(rows: tuple[tuple[str, ...], ...], max_header_scan: int = 6) -> TableFacts:
    facts = TableFacts()
    for r_idx, row in enumerate(rows[:max_header_scan]):
        roles: dict[str, list[int]] = {}
        for c_idx, cell in enumerate(row):
            if cell and len(cell) <= 40:
                role = header_role(cell)
                if role:
                    roles.setdefault(role, []).append(c_idx)
        if len(roles) >= 2:
            facts.header_row = r_idx
            facts.roles = roles
            break
    if facts.header_row is None:
        return facts
    header = rows[facts.header_row]
    name_cols = facts.roles.get("name", [])
    contact_cols = facts.roles.get("email", []) + facts.roles.get("phone", [])
    for r_idx in range(facts.header_row + 1, len(rows)):
        row = rows[r_idx]

        def at(c: int, row: tuple[str, ...] = row) -> str:
            return row[c] if c < len(row) else ""

        has_name = False
        for c in name_cols:
            value = at(c)
            if value and _NAME_CELL.match(value) and not _DIGITS.search(value):
                facts.cells.append(("PERSON", r_idx, c))
                has_name = True
        if has_name and any("@" in at(c) or len(_DIGITS.findall(at(c))) >= 7 for c in contact_cols):
            facts.filled_rows += 1
        for c in facts.roles.get("rate", []):
            if _DIGITS.search(at(c)):
                facts.cells.append(("PAY_RATE", r_idx, c))
        for c in facts.roles.get("dob", []):
            if len(_DIGITS.findall(at(c))) >= 4:
                facts.cells.append(("DATE_OF_BIRTH", r_idx, c))
        for c in facts.roles.get("phone", []):
            if len(_DIGITS.findall(at(c))) >= 7:
                facts.cells.append(("PHONE_NUMBER", r_idx, c))
        for c in facts.roles.get("address", []):
            if _DIGITS.search(at(c)) and len(at(c)) >= 8:
                facts.cells.append(("STREET_ADDRESS", r_idx, c))
        for role in ("gov_id", "bank"):
            for c in facts.roles.get(role, []):
                entity = field_entity(role, header[c] if c < len(header) else "", at(c))
                if entity is not None:
                    facts.cells.append((entity, r_idx, c))
    return facts


# ------------------------------------------------------------------------------------------ labelled values

_MONTH = re.compile(r"(?i)\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b")
_GOV_WORDS = (("passport", "US_PASSPORT"), ("travel document", "US_PASSPORT"), ("itin", "US_ITIN"),
              ("ssn", "US_SSN"), ("social security", "US_SSN"),
              ("national insurance", "UK_NINO"), ("nino", "UK_NINO"), ("ni number", "UK_NINO"), ("ni no", "UK_NINO"),
              ("tax", "US_ITIN"), ("tin", "US_ITIN"))


def field_entity(role: str, label: str, value: str) -> str | None:
    """The entity a labelled value is, by its label (a form's field, a table's column), if its
    value has the shape: ``Date of birth | 12 March 1990`` is a DATE_OF_BIRTH."""
    digits = len(_DIGITS.findall(value))
    low = " ".join(re.sub(r"[^a-z0-9 ]+", " ", label.lower()).split())
    if role == "dob":
        return "DATE_OF_BIRTH" if digits >= 4 or (digits >= 2 and _MONTH.search(value)) else None
    if role == "phone":
        return "PHONE_NUMBER" if digits >= 7 else None
    if role == "address":
        return "STREET_ADDRESS" if digits and len(value) >= 8 and any(c.isalpha() for c in value) else None
    if role == "rate":
        return "PAY_RATE" if re.search(r"[1-9]", value) else None
    if role == "bank":
        if "iban" in low:
            return "IBAN_CODE" if digits >= 8 else None
        if "sort code" in low or "swift" in low or "bic" in low:
            return None
        return "US_BANK_NUMBER" if digits >= 6 else None
    if role == "gov_id" and digits >= 4 and sum(c.isalnum() for c in value) >= 6:
        for word, entity in _GOV_WORDS:
            if re.search(rf"\b{word}\b", low):
                return entity
    return None
