"""Records: the pieces of a document that are about one person, found from layout alone.

* A table row is a record; a two-column table of ``label | value`` rows (an HR form laid out as
  a table) is ONE record - its rows describe one person.
* In flat text a line is a record; consecutive ``label: value`` lines (``Name: ...``,
  ``Email: ...``, ``Date of birth: ...``, also ``label`` on one line and its value on the next)
  are ONE form record.
* A form's name field (``Name``, ``Full legal name``, ``Payee``...) vouches for the person.

``person_candidates`` finds, in a record that holds an e-mail, a phone or a pay rate, the one
piece of text left beside those values that looks like a person's name (``Okafor, Amara``,
``OKAFOR Amara``, ``J. Okafor``, ``amara okafor``, ``Amara``): kept when the e-mail's local part
agrees with it, or when the chunk is a list of such records (``min_list`` or more). Detectors
then link a person's data to the person of its record.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from enum import StrEnum

from scanner.detect.entities import fold
from scanner.detect.structure import ROLE_WORDS, header_role


class RecordKind(StrEnum):
    ROW = "row"  # a table row
    LINE = "line"  # a line of text
    FORM = "form"  # label/value lines or rows about one person


@dataclass(frozen=True)
class Field:
    """A labelled value of a form: where the value is, the label's role and the label itself."""

    start: int
    end: int
    role: str
    label: str


@dataclass(frozen=True)
class Record:
    start: int
    end: int
    kind: RecordKind
    fields: tuple[Field, ...] = ()  # form records: their labelled values

    @property
    def names(self) -> tuple[tuple[int, int], ...]:
        """Spans a name label vouches for."""
        return tuple((f.start, f.end) for f in self.fields if f.role == "name")


class RecordMap:
    """The records of one chunk, ordered by start; ``at(offset)`` is the index holding it."""

    def __init__(self, records: list[Record]) -> None:
        self.records = sorted(records, key=lambda r: r.start)
        self._starts = [r.start for r in self.records]

    def at(self, offset: int) -> int | None:
        i = bisect.bisect_right(self._starts, offset) - 1
        if i < 0 or offset >= self.records[i].end:
            return None
        return i

    def __len__(self) -> int:
        return len(self.records)


# ------------------------------------------------------------------------------------------ forms

_KV = re.compile(
    r"^[ \t]*(?P<label>[^\W\d_][\w .,()/#'’&-]{0,45}?)[ \t]*(?:[:=>\t|]|[ \t][-–—]{1,2}[ \t]|\.{3,}|[ \t]{2,})[ \t]*"
    r"(?P<value>.*?)[ \t]*$")
#: "[Label] value" (a form exported with bracketed field names)
_KV_BRACKET = re.compile(r"^[ \t]*\[(?P<label>[^\W\d_][^\]\n]{0,45})\][ \t]*:?[ \t]*(?P<value>.*?)[ \t]*$")
_LABEL_ONLY = re.compile(r"^[ \t]*(?P<label>[^\W\d_][\w .()/#'’&-]{0,45}?)[ \t]*:?[ \t]*$")
_PARENS = re.compile(r"\([^)]*\)")
#: labels a form uses for the person's name, beyond a roster's name headers
FORM_NAME_LABELS = frozenset({"payee", "applicant", "beneficiary", "account holder", "legal name",
                              "full legal name", "name of contractor", "name of employee", "your name",
                              "print name", "name (print)"})
_STRICT_LABELS = frozenset(w for words in ROLE_WORDS.values() for w in words) | {"d.o.b", "e-mail"}
#: labels a form line may start with when its separator was lost ("Applicant Enzio Botta")
_PREFIX_LABELS = sorted({*FORM_NAME_LABELS, *(w for words in ROLE_WORDS.values() for w in words if " " in w),
                         "name", "full name", "employee name", "contractor name", "candidate name",
                         "email address", "personal email", "contact email", "e-mail", "email", "mobile phone",
                         "phone number", "mobile", "phone", "telephone", "date of birth", "birth date", "dob",
                         "d.o.b.", "home address", "street address", "address", "ssn", "social security number",
                         "passport number", "passport no.", "national insurance number", "ni number", "nino",
                         "bank account number", "bank account", "account number", "acct no.", "routing number",
                         "iban", "hourly rate", "pay rate", "agreed rate", "rate"}, key=len, reverse=True)
#: a known label, maybe after a word or two that qualify it ("Bank routing number", "Surname, first name")
_PREFIX_LABEL = re.compile(
    r"^[ \t]*(?P<label>(?:[^\W\d_]+,? ){0,2}(?:" + "|".join(re.escape(w) for w in _PREFIX_LABELS) + r"))[ .:]+"
    r"(?P<value>.*)$", re.IGNORECASE)


def label_role(label: str, strict: bool = False) -> str | None:
    """The role of a form label (name, email, phone, dob, address, gov_id, bank, rate) or None.
    ``strict``: the whole label must be a known one (not just one of its words)."""
    clean = " ".join(_PARENS.sub(" ", label).replace("_", " ").split()).strip(" .:-").lower()
    if not clean or len(clean) > 40:
        return None
    if clean in FORM_NAME_LABELS:
        return "name"
    if strict:  # a line that is only a label: a known one, or one holding a known multi-word label
        role = header_role(clean)
        return role if clean in _STRICT_LABELS or (role is not None and len(clean.split()) >= 2) else None
    return header_role(clean)


def _line_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    pos = 0
    for line in text.split("\n"):
        spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    return spans


def _prefix_label(line: str) -> tuple[str, int] | None:
    """``Applicant Enzio Botta``: a known label at the start of a line whose separator was lost
    (a PDF turns a form's tab into a space). Returns the label and where the value starts."""
    m = _PREFIX_LABEL.match(line)
    if m is None or not m.group("value").strip():
        return None
    return m.group("label"), m.start("value")


def text_records(text: str, skip: list[tuple[int, int]] | None = None) -> list[Record]:
    """Line records, with runs of label/value lines merged into form records. Lines inside
    ``skip`` spans (text tables, recorded by the caller) are left out."""
    lines = [sp for sp in _line_spans(text) if not any(a <= sp[0] < b for a, b in skip or ())]
    out: list[Record] = []
    i = 0
    n = len(lines)

    def value_field(s: int, line: str, start: int, label: str, role: str | None) -> Field | None:
        if role is None:
            return None
        value = line[start:]
        return Field(s + start + len(value) - len(value.lstrip()), s + len(line.rstrip()), role, label)

    def kv_field(j: int) -> tuple[Field | None, bool]:
        """Line ``j`` as a ``label: value`` (or ``[label] value``, or a known label whose separator
        was lost) line: (its field if the label has a role, whether the line has that shape)."""
        s, e = lines[j]
        line = text[s:e]
        m = _KV_BRACKET.match(line) or _KV.match(line)
        if m is not None and not m.group("value") and line.rstrip().endswith((":", "]")):
            return None, False  # "Label:" with its value on the next line
        if m is not None and m.group("value"):
            role = label_role(m.group("label"))
            if role is None and (pl := _prefix_label(line)) is not None:
                return value_field(s, line, pl[1], pl[0], label_role(pl[0])), True
            return value_field(s, line, m.start("value"), m.group("label"), role), True
        pl = _prefix_label(line)
        if pl is not None:
            fld = value_field(s, line, pl[1], pl[0], label_role(pl[0]))
            if fld is not None:
                return fld, True
        return None, False

    while i < n:
        form_end = i
        fields: list[Field] = []
        j = i
        while j < n:
            s, e = lines[j]
            line = text[s:e]
            fld, shaped = kv_field(j)
            if shaped:
                if fld is not None:
                    fields.append(fld)
                j += 1
                form_end = j if fields else form_end
                continue
            lo = _LABEL_ONLY.match(line)
            role = label_role(lo.group("label"), strict=not line.rstrip().endswith(":")) if lo else None
            # the value on the next line, unless that line is a labelled field itself (a blank
            # form's empty field must not take the next field as its value)
            if (lo is not None and role is not None and j + 1 < n and text[lines[j + 1][0]:lines[j + 1][1]].strip()
                    and kv_field(j + 1)[0] is None):
                vs, ve = lines[j + 1]
                value = text[vs:ve]
                fields.append(Field(vs + len(value) - len(value.lstrip()), vs + len(value.rstrip()), role,
                                    lo.group("label")))
                j += 2
                form_end = j
                continue
            if lo is not None and role is not None and fields:  # an empty field of a form
                j += 1
                continue
            if not line.strip() and fields and j + 1 < n:  # a blank line inside a form
                j += 1
                continue
            # a short line the form does not know ("Role Linguist") between two of its fields
            if fields and len(line) <= 60 and j + 1 < n and kv_field(j + 1)[0] is not None:
                j += 1
                continue
            break
        if len(fields) >= 2 and form_end > i:
            out.append(Record(lines[i][0], lines[form_end - 1][1] + 1, RecordKind.FORM, tuple(fields)))
            i = form_end
            continue
        s, e = lines[i]
        if text[s:e].strip():
            out.append(Record(s, e + 1, RecordKind.LINE))
        i += 1
    return out


@dataclass(frozen=True)
class TextTable:
    """Lines of flat text that are a table (tab, pipe, two-space or semicolon columns)."""

    start: int
    end: int
    rows: tuple[tuple[str, ...], ...]
    cell_starts: tuple[tuple[int, int, int], ...]  # absolute offsets in the chunk's text


_COLUMN_SEPARATORS = (re.compile(r"\t"), re.compile(r"[ \t]*\|[ \t]*"), re.compile(r" {2,}"), re.compile(r";"))


def _split(line: str, sep: re.Pattern[str]) -> list[tuple[int, str]]:
    cells, pos = [], 0
    for m in sep.finditer(line):
        cells.append((pos, line[pos:m.start()]))
        pos = m.end()
    cells.append((pos, line[pos:]))
    return cells


def text_tables(text: str, min_rows: int = 3) -> list[TextTable]:
    """Runs of ``min_rows`` or more lines that split into the same number (>= 2) of columns."""
    lines = _line_spans(text)
    out: list[TextTable] = []
    i = 0
    while i < len(lines):
        found = None
        for sep in _COLUMN_SEPARATORS:
            s, e = lines[i]
            first = _split(text[s:e].strip("\r"), sep)
            if len(first) < 2:
                continue
            j = i + 1
            while j < len(lines):
                s2, e2 = lines[j]
                if len(_split(text[s2:e2].strip("\r"), sep)) != len(first):
                    break
                j += 1
            if j - i >= min_rows:
                found = (sep, j)
                break
        if found is None:
            i += 1
            continue
        sep, j = found
        rows, starts = [], []
        for r, (s, e) in enumerate(lines[i:j]):
            cells = _split(text[s:e], sep)
            row = []
            for c, (off, cell) in enumerate(cells):
                value = cell.strip()
                row.append(value)
                if value:
                    starts.append((s + off + len(cell) - len(cell.lstrip()), r, c))
            rows.append(tuple(row))
        out.append(TextTable(lines[i][0], lines[j - 1][1] + 1, tuple(rows), tuple(starts)))
        i = j
    return out


def table_records(rows: tuple[tuple[str, ...], ...], cell_starts: tuple[tuple[int, int, int], ...],
                  text_len: int, has_header: bool) -> list[Record]:
    """Row records; in a headerless table, a run of ``label | value`` rows (an HR form laid out
    as a table, or pasted into a sheet) is one form record."""
    row_start: dict[int, int] = {}
    for off, r, _c in cell_starts:
        row_start.setdefault(r, off)
    ordered = sorted(row_start.items())
    bounds = {r: (s, ordered[k + 1][1] if k + 1 < len(ordered) else text_len) for k, (r, s) in enumerate(ordered)}
    where = {(r, c): off for off, r, c in cell_starts}
    out: list[Record] = []
    run: list[int] = []  # rows of the current label/value run

    def close() -> None:
        fields = []
        for r in run:
            role = label_role(rows[r][0])
            if role and (r, 1) in where:
                fields.append(Field(where[(r, 1)], where[(r, 1)] + len(rows[r][1]), role, rows[r][0]))
        if len(fields) >= 2:
            out.append(Record(bounds[run[0]][0], bounds[run[-1]][1], RecordKind.FORM, tuple(fields)))
        else:
            out.extend(Record(*bounds[r], RecordKind.ROW) for r in run)
        run.clear()

    for r in range(len(rows)):
        if r not in bounds:
            continue  # an empty row
        cells = [c for c in rows[r] if c]
        pair = (not has_header and len(cells) == 2 and len(rows[r]) >= 2 and rows[r][0] and rows[r][1]
                and len(rows[r][0]) <= 45)
        if pair:
            run.append(r)
            continue
        if run:
            close()
        out.append(Record(*bounds[r], RecordKind.ROW))
    if run:
        close()
    return out


# ------------------------------------------------------------------------------------------ names

#: list separators; a number opening a line is a row number or an id column (``11211 thiago garcia ...``)
_SEPARATORS = re.compile(r"\t|\||;|<|>|\(|\)|\[|\]|—|–|\s-{1,2}\s|\s/\s|:|·|\u00a0|\s{2,}|\",|,\"|(?<=\d),|,(?=\d)"
                         r"|^\s*(?:\d+[.)]|[*•-]|\d{1,9}(?=\s+[^\W\d_]))\s+")
_TOKEN = re.compile(r"^[^\W\d_]+(?:['’.-][^\W\d_]*)*\.?$")
_CONNECTIVES = frozenset({"at", "or", "and", "on", "via", "tel", "mobile", "email", "e-mail", "mail", "phone",
                          "rate", "per", "hour", "hr", "h", "usd", "eur", "gbp", "us", "x", "ext", "cell", "whatsapp",
                          "day", "month", "year", "yr", "mo", "d", "hourly", "wk", "week"})
#: words that are never part of a person's name in a list line
_NOT_NAME = frozenset({
    "the", "a", "an", "of", "for", "to", "in", "is", "are", "be", "by", "with", "from", "this", "that", "these",
    "please", "call", "contact", "email", "phone", "mobile", "total", "amount", "rate", "hours", "name", "names",
    "invoice", "date", "re", "subject", "cc", "bcc", "sent", "reply", "support", "sales", "team",
    "office", "help", "desk", "info", "billing", "payment", "account", "bank", "card", "number", "no", "id",
    "address", "street", "road", "city", "country", "new", "our", "your", "my", "we", "you", "it", "not", "yes",
    "line", "lines", "enterprise", "service", "services", "department", "inc", "ltd", "llc", "gmbh", "corp",
    "company", "group", "limited", "plc", "srl", "sa", "ag", "bv", "notes", "note", "see", "tbd", "n/a", "none",
})


@dataclass(frozen=True)
class Candidate:
    start: int
    end: int
    agrees: bool  # an e-mail in the same record spells it


def name_like(segment: str) -> bool:
    if not segment or len(segment) > 60 or any(c.isdigit() for c in segment) or "@" in segment:
        return False
    tokens = [t for t in re.split(r"[\s,]+", segment) if t]
    if not 1 <= len(tokens) <= 5 or not all(_TOKEN.match(t) for t in tokens):
        return False
    if any(t.lower().strip(".") in _NOT_NAME or t.lower().strip(".") in _ORG_WORDS for t in tokens):
        return False
    letters = sum(c.isalpha() for c in segment)
    return letters >= 2


def agrees(segment: str, emails: list[str]) -> bool:
    """An e-mail local part spells a word of the name (``okafor`` in ``a.okafor7@...``)."""
    words = [fold(t) for t in re.split(r"[\s,.'’-]+", segment) if t]
    words = [w for w in words if len(w) >= 3] or [w for w in words if len(w) >= 2 and len(words) == 1]
    for email in emails:
        local = fold(email.rpartition("@")[0])
        if any(w in local for w in words):
            return True
    return False


def residual_segments(text: str, start: int, end: int, taken: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans of ``text[start:end]`` outside ``taken`` spans, cut at list separators, trimmed."""
    pieces: list[tuple[int, int]] = []
    pos = start
    for s, e in sorted(taken):
        if e <= start or s >= end:
            continue
        if s > pos:
            pieces.append((pos, s))
        pos = max(pos, e)
    if pos < end:
        pieces.append((pos, end))
    out = []
    for s, e in pieces:
        piece = text[s:e]
        last = 0
        for m in _SEPARATORS.finditer(piece):
            out.append((s + last, s + m.start()))
            last = m.end()
        out.append((s + last, e))
    trimmed = []
    for s, e in out:
        seg = text[s:e]
        left = len(seg) - len(seg.lstrip(" ,.-*•\"'\r\n"))
        right = len(seg.rstrip(" ,-*•\"'\r\n"))
        if right > left:
            trimmed.append((s + left, s + right))
    return trimmed


def record_candidate(text: str, record: Record, taken: list[tuple[int, int]], emails: list[str]) -> Candidate | None:
    """The one name-like piece of a record beside its values, if the rest is only connectives."""
    segments = residual_segments(text, record.start, min(record.end, len(text)), taken)
    names = []
    for s, e in segments:
        seg = text[s:e]
        if name_like(seg):
            names.append((s, e))
        elif any(c.isalpha() for c in seg) and not all(
                w.lower().strip(".,") in _CONNECTIVES for w in seg.split()):
            return None  # other words on the line: prose, not a list entry
    if len(names) != 1:
        return None
    s, e = names[0]
    return Candidate(s, e, agrees(text[s:e], emails))


# ------------------------------------------------------------------------------------------ prose lines

_WORD = re.compile(r"[^\W\d_][\w'’.-]*")
_PARTICLES = frozenset({"van", "von", "de", "da", "del", "der", "den", "di", "du", "la", "le", "al", "el", "bin",
                        "ibn", "dos", "das", "ten", "ter", "y", "e"})
#: words of products and organisations: a capitalised run holding one is not a person
_ORG_WORDS = frozenset({
    "cloud", "data", "studio", "pro", "business", "enterprise", "desktop", "suite", "platform", "service",
    "services", "workplace", "teams", "team", "labs", "lab", "technology", "technologies", "systems", "solutions",
    "software", "analytics", "connect", "connected", "hub", "lake", "lakehouse", "grid", "copilot", "vision",
    "mode", "dev", "rapid", "support", "line", "desk", "office", "sales", "inc", "ltd", "llc", "gmbh", "corp",
    "group", "bank", "university", "institute", "foundation", "agency", "partners", "consulting", "media",
    "health", "motors", "retail", "airlines", "airways", "hotel", "street", "road", "avenue", "lane", "drive",
    "court", "way", "close", "square", "park", "city", "county", "state", "north", "south", "east", "west",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february",
    "march", "april", "june", "july", "august", "september", "october", "november", "december", "q1", "q2",
    "q3", "q4", "manager", "director", "lead", "head", "officer", "engineer", "annotator", "reviewer",
    # vendors and product words
    "ai", "bi", "excel", "microsoft", "google", "amazon", "apple", "adobe", "notion", "slack", "zoom", "jira",
    "figma", "github", "tableau", "salesforce", "dropbox", "snowflake", "databricks", "atlassian", "oracle",
    "sap", "ibm", "openai", "acrobat", "sagemaker", "vertex", "power", "ground", "truth", "app", "apps", "api",
    "plus", "premium", "edition", "license", "licence", "subscription", "plan", "tier", "standard", "basic",
})


def prose_names(text: str, start: int, end: int, taken: list[tuple[int, int]], emails: list[str],
                stop_words: frozenset[str]) -> list[tuple[int, int]]:
    """Name-like spans of a line of prose that holds a person's data: words an e-mail's local part
    spells (with their capitalised neighbours), and runs of 2-4 capitalised words that are not
    sentence words, products or organisations."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(text, start, end)
             if not any(s < m.end() and m.start() < e for s, e in taken)]
    out: list[tuple[int, int]] = []
    locals_ = [fold(e.rpartition("@")[0]) for e in emails]
    run: list[tuple[int, int]] = []

    def flush() -> None:
        while run and text[run[0][0]:run[0][1]].lower() in stop_words:
            run.pop(0)
        if 2 <= len(run) <= 4:
            after = text[run[-1][1]:run[-1][1] + 24].split()
            nxt = after[0].strip(".,;:()") if after else ""
            if not (nxt.lower() in _ORG_WORDS or (nxt.isupper() and len(nxt) > 1)):
                out.append((run[0][0], run[-1][1]))
        run.clear()

    prev_end = None
    for s, e in words:
        w = text[s:e].rstrip(".")
        low = w.lower()
        capital = w[:1].isupper() and not (w.isupper() and len(w) <= 3)
        adjacent = prev_end is not None and text[prev_end:s] == " "
        if run and not adjacent:
            flush()
        if (capital and low not in _ORG_WORDS and low not in _NOT_NAME) or (run and low in _PARTICLES and adjacent):
            run.append((s, e))
        else:
            while run and text[run[-1][0]:run[-1][1]].lower() in _PARTICLES:
                run.pop()
            if low in _ORG_WORDS or (w.isupper() and 1 < len(w) <= 3):
                run.clear()
            else:
                flush()
        prev_end = e
    flush()
    # words an e-mail spells, widened to the capitalised words next to them
    for s, e in words:
        w = fold(text[s:e])
        if (len(w) >= 3 and any(w in local for local in locals_) and not any(a <= s < b for a, b in out)
                and w not in _NOT_NAME and w not in _ORG_WORDS and w not in stop_words):
            lo, hi = s, e
            for s2, e2 in words:
                if e2 == lo - 1 and text[e2:lo] == " " and text[s2:s2 + 1].isupper():
                    lo = s2
                if s2 == hi + 1 and text[hi:s2] == " " and text[s2:s2 + 1].isupper():
                    hi = e2
            out.append((lo, hi))
    return out

