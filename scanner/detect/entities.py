"""The entity registry: what each entity type IS, in one place per entity.

For every entity type the detectors aggregate (``EMAIL_ADDRESS``, ``US_SSN``, ``PRIVATE_KEY``...)
one ``EntityKind`` says how its value is normalised (for hashes and distinct counts), masked (for
previews), validated (checksums, entropy, plausibility), recognised as a placeholder or sample
value, which cheap text anchors make the prefilter look for it, and whether it is a person's data
(linked to a person it is contractor PII; two different contact kinds side by side make a record;
e-mail addresses and phones are what a roster lists).

``kind(name)`` returns the entry, or a plain default for entity types nobody registered (a custom
recognizer's): compared case-insensitively, masked word by word, looked for in every block.
A new entity is one ``register(EntityKind(...))`` call here plus its test.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from scanner.detect.validators import luhn_ok, secret_value_ok

DOT = "•"
_WS = re.compile(r"\s+")
_NON_ALNUM = re.compile(r"[^0-9A-Za-z]")
_NON_DIGIT = re.compile(r"\D")


@dataclass(frozen=True)
class Placeholders:
    """Sample values and role mailboxes from ``detectors.yaml`` (``placeholders:``)."""

    email_domains: frozenset[str] = frozenset()
    role_mailboxes: frozenset[str] = frozenset()
    persons: frozenset[str] = frozenset()
    phone_patterns: tuple[re.Pattern[str], ...] = ()
    ssns: frozenset[str] = frozenset()
    cards: frozenset[str] = frozenset()
    ibans: frozenset[str] = frozenset()
    sample_words: tuple[str, ...] = ()
    business_words: tuple[str, ...] = ()


class Marker(StrEnum):
    """Facts the prefilter notes about a block, which some anchors need as well."""

    DATE = "date"  # a digit run shaped like a date
    HOUSE = "house"  # a short number followed by a word (a house number)
    DIGIT = "digit"  # any digit


@dataclass(frozen=True)
class Anchor:
    """What in a block makes the prefilter run this entity's recognizers there.

    A superset of what the recognizers can match: an anchor may send a block that yields
    nothing, never skip one that would have matched (tests/detect/test_prefilter.py).
    """

    words: tuple[str, ...] = ()  # whole words, lower case
    fragments: tuple[str, ...] = ()  # lower-case text anywhere (token prefixes such as "ghp_")
    pattern: str | None = None  # a regex over the block's text
    digits: Callable[[str, int], bool] | None = None  # a digit run (its text, its digit count) may hold one
    context: bool = False  # the digit anchor holds only with one of the recognizer's context words near...
    free: Callable[[str], bool] | None = None  # ...unless the run itself says enough (e.g. "+44 ...")
    needs: Marker | None = None  # the block must also hold this marker


@dataclass(frozen=True)
class EntityKind:
    name: str
    normalise: Callable[[str], str]
    mask: Callable[[str], str]
    anchor: Anchor | None = None  # None: looked for in every block
    validate: Callable[[str, bool], bool] | None = None  # (value, vouched for by a table's structure)
    placeholder: Callable[[str, Placeholders], bool] | None = None
    sample_sensitive: bool = False  # sample words ("test card", "fictional"...) nearby make it a placeholder
    business_sensitive: bool = False  # business words on its line ("support line") make it not a person's
    person_data: bool = False  # linked to a person it is that person's data (contractor PII)
    contact_record: bool = False  # two different such kinds side by side form a record, even without a name
    window_link: bool = True  # person data links to a name near it in prose (else only within its record)
    roster_contact: bool = False  # what a roster lists per person (e-mail, phone)


REGISTRY: dict[str, EntityKind] = {}


def register(entity: EntityKind) -> EntityKind:
    if entity.name in REGISTRY:
        raise ValueError(f"entity {entity.name} registered twice")
    REGISTRY[entity.name] = entity
    return entity


# ------------------------------------------------------------------------------------- normalise / mask


def norm_text(value: str) -> str:
    return _WS.sub(" ", value).strip().lower()


def norm_alnum(value: str) -> str:
    return _NON_ALNUM.sub("", value).upper()


def norm_phone(value: str) -> str:
    digits = _NON_DIGIT.sub("", value)
    return digits[-10:] if len(digits) >= 10 else digits


def _mask_word(word: str) -> str:
    return (word[:1] + DOT * 3) if word else ""


def _keep_last(value: str, keep: int = 4) -> str:
    value = _WS.sub(" ", value).strip()
    alnum_positions = [i for i, ch in enumerate(value) if ch.isalnum()]
    if keep <= 0:
        return re.sub(r"[0-9A-Za-z]+", DOT * 2, value)
    keep_from = alnum_positions[-keep] if len(alnum_positions) > keep else len(value)
    masked = "".join(ch if (i >= keep_from or not ch.isalnum()) else DOT for i, ch in enumerate(value))
    return re.sub(f"{DOT}+", DOT * 3, masked) if len(alnum_positions) > 12 else masked


def mask_words(value: str) -> str:
    """``J••• S•••``: the first letter of (at most four) words."""
    return " ".join(_mask_word(w) for w in _WS.sub(" ", value).strip().split(" ")[:4])


def mask_last4(value: str) -> str:
    return _keep_last(value, 4)


def mask_digits_all(value: str) -> str:
    return _keep_last(value, 0)


def mask_email(value: str) -> str:
    value = _WS.sub(" ", value).strip()
    if "@" not in value:
        return mask_words(value)
    local, _, domain = value.partition("@")
    labels = domain.split(".")
    tld = labels[-1] if len(labels) > 1 else ""
    return f"{_mask_word(local)}@{_mask_word(labels[0])}{'.' + tld if tld else ''}"


def mask_prefix4(value: str) -> str:
    return _WS.sub(" ", value).strip()[:4] + DOT * 3


def mask_private_key(value: str) -> str:
    return "-----BEGIN " + DOT * 3 + " PRIVATE KEY-----"


def mask_marking(value: str) -> str:
    return _WS.sub(" ", value).strip()[:40]  # a marking is not personal data


# ------------------------------------------------------------------------------------- checks


def _role_or_sample_email(value: str, ph: Placeholders) -> bool:
    local, _, domain = value.lower().rpartition("@")
    local = local.split("+", 1)[0]
    if local in ph.role_mailboxes:
        return True
    if domain in ph.email_domains or any(domain.endswith("." + d) for d in ph.email_domains):
        return True
    return domain.endswith((".example", ".test", ".invalid", ".localhost"))


def _sample_phone(value: str, ph: Placeholders) -> bool:
    digits = _NON_DIGIT.sub("", value)
    return any(p.search(value) or p.search(digits) for p in ph.phone_patterns)


#: what a blank form writes where a name goes ("Your Name", "[Full name]", "(print name)", "N/A")
_TEMPLATE_NAME = re.compile(
    r"[_\[\]<>(){}]|\b(?:name|names|your|first|last|surname|forename|print|full|here|signature|tbd|n/?a|none|"
    r"sample|example|placeholder|firstname|lastname|enter|insert|applicant|employee|contractor)\b", re.IGNORECASE)


def _sample_person(value: str, ph: Placeholders) -> bool:
    return norm_text(value) in ph.persons or _TEMPLATE_NAME.search(value) is not None


def _zero_amount(value: str, ph: Placeholders) -> bool:
    return re.search(r"[1-9]", value) is None


_SAMPLE_ADDRESS = re.compile(r"\b(?:anytown|any town|anywhere|123 main st(?:reet)?|1 infinite loop)\b", re.IGNORECASE)


def _sample_address(value: str, ph: Placeholders) -> bool:
    return _SAMPLE_ADDRESS.search(value) is not None


def _in(attr: str, norm: Callable[[str], str]) -> Callable[[str, Placeholders], bool]:
    def check(value: str, ph: Placeholders) -> bool:
        return norm(value) in getattr(ph, attr)

    return check


def _digits(value: str) -> str:
    return _NON_DIGIT.sub("", value)


def trivial_digits(value: str) -> bool:
    """All one digit, or a run such as 12345678: a form's example, not a real number."""
    digits = _digits(value)
    if len(digits) < 4:
        return False
    if len(set(digits)) == 1:
        return True
    steps = {(int(b) - int(a)) % 10 for a, b in zip(digits, digits[1:], strict=False)}
    return steps in ({1}, {9})


def _placeholder_or_trivial(attr: str, norm: Callable[[str], str]) -> Callable[[str, Placeholders], bool]:
    listed = _in(attr, norm)

    def check(value: str, ph: Placeholders) -> bool:
        return trivial_digits(value) or listed(value, ph)

    return check


def _trivial(value: str, ph: Placeholders) -> bool:
    return trivial_digits(value) or "x" in value.lower().replace("ext", "")


_NAME_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['’.-])*", re.UNICODE)


def valid_person(value: str, structural: bool) -> bool:
    """An NER or label match must look like a full name: two or more capitalised words, no digits
    or "@". A name a table's structure vouches for (a name column, a record's name) is kept."""
    if structural:
        return True
    words = [w for w in value.split() if any(c.isalpha() for c in w)]
    if len(words) < 2 or any(c.isdigit() for c in value) or "@" in value:
        return False
    return all(w[:1].isupper() for w in words)


def valid_card(value: str, structural: bool) -> bool:
    return luhn_ok(value)


def valid_secret(value: str, structural: bool) -> bool:
    return secret_value_ok(value)


def valid_token(value: str, structural: bool) -> bool:
    """A service token (ghp_..., AKIA..., xoxb-...): its random part is not a run of one letter."""
    body = value.split("_", 1)[-1] if "_" in value[:12] else value[4:]
    return len(set(body.lower())) >= 8


def valid_iban(value: str, structural: bool) -> bool:
    """ISO 13616 check digits (mod 97), for values a label or column vouches for."""
    if not structural:
        return True  # Presidio's IBAN recognizer validates its own matches
    raw = re.sub(r"[\s-]", "", value).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{8,30}", raw):
        return False
    digits = "".join(str(int(c, 36)) for c in raw[4:] + raw[:4])
    return int(digits) % 97 == 1


_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)|(?<!\d)\d{1,2}[/.-]\d{1,2}[/.-](\d{2})(?!\d)")


def valid_birth_date(value: str, structural: bool) -> bool:
    """A date of birth of someone who could be working: 14 to 100 years ago (a historical
    figure's "born 1815" is not a contractor's DOB)."""
    m = _YEAR.search(value)
    if m is None:
        return True
    year = int(m.group(1)) if m.group(1) else 1900 + int(m.group(2))
    if m.group(2) and year + 100 <= dt.date.today().year:
        year += 100
    age = dt.date.today().year - year
    return 14 <= age <= 100


def fold(text: str) -> str:
    """Lower-case ASCII letters of ``text`` (accents dropped, ł→l, ø→o, đ→d...) for comparing
    names with e-mail local parts."""
    text = text.lower().translate(_FOLD)
    return "".join(c for c in unicodedata.normalize("NFKD", text) if c.isascii())


_FOLD = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe", "ı": "i", "þ": "th",
                       "ð": "d", "ħ": "h"})


# ------------------------------------------------------------------------------------- anchors


def _phone_digits(run: str, n: int) -> bool:
    return n >= 7


_NINE = re.compile(r"(?<!\d)(?:\d{3}[- .]?\d{2}[- .]?\d{4}|\d{5}-\d{4}|\d{3}-\d{6})(?!\d)")
_EIGHT_PLUS = re.compile(r"\d{8}")


def _nine_digits(run: str, n: int) -> bool:  # superset of Presidio's SSN / ITIN / 9-digit passport shapes
    return n >= 7 and _NINE.search(run) is not None


def _bank_digits(run: str, n: int) -> bool:  # US bank account numbers: 8-17 digits in a row
    return n >= 7 and _EIGHT_PLUS.search(run) is not None


def _card_digits(run: str, n: int) -> bool:
    return n >= 13


# ------------------------------------------------------------------------------------- currencies

#: signs and ISO codes a pay rate is written with, before or after the amount (``US$16.50``,
#: ``EUR 18,50``, ``18,50 €/h``, ``₹1,440/hr``, ``CHF 32.00``); other codes than USD/EUR/GBP only
#: in capitals (``RON``, ``TRY`` are words too). rules/presidio/recognizers.yaml (PayRateRecognizer)
#: spells the same set.
CURRENCY_SIGNS = "$£€₹¥₦₱₩₺₽"
CURRENCY_CODES = ("CHF", "INR", "BRL", "AUD", "CAD", "NZD", "NGN", "KES", "ZAR", "PLN", "MXN", "JPY", "CNY", "SGD",
                  "HKD", "SEK", "NOK", "DKK", "CZK", "HUF", "RON", "IDR", "PKR", "GHS", "EGP")
CURRENCY = (rf"[{re.escape(CURRENCY_SIGNS)}]|(?i:(?<![a-z])(?:usd|eur|gbp)(?![a-z]))"
            rf"|(?<![A-Za-z])(?:{'|'.join(CURRENCY_CODES)})(?![A-Za-z])")
#: an amount: a currency then a digit, or a digit then a currency
AMOUNT = re.compile(rf"(?:{CURRENCY})\s?\d|\d\s?(?:{CURRENCY})")


# ------------------------------------------------------------------------------------- the entities

register(EntityKind(
    "EMAIL_ADDRESS", norm_text, mask_email, Anchor(pattern=r"@\w"),
    placeholder=_role_or_sample_email, sample_sensitive=True, business_sensitive=True,
    person_data=True, contact_record=True, roster_contact=True))
register(EntityKind(
    "PHONE_NUMBER", norm_phone, mask_last4,
    Anchor(digits=_phone_digits, context=True, free=lambda run: run.lstrip("(").startswith("+")),
    placeholder=_sample_phone, sample_sensitive=True, business_sensitive=True,
    person_data=True, contact_record=True, roster_contact=True))
register(EntityKind(
    "STREET_ADDRESS", norm_text, mask_words,
    Anchor(words=("street", "st", "avenue", "ave", "road", "rd", "lane", "ln", "drive", "dr", "boulevard", "blvd",
                  "court", "ct", "way", "place", "pl", "terrace", "close", "crescent", "square"), needs=Marker.HOUSE),
    placeholder=_sample_address, person_data=True, contact_record=True))
register(EntityKind(
    "DATE_OF_BIRTH", norm_text, mask_last4,
    Anchor(words=("dob", "d.o.b", "birth", "birthday", "date of birth", "birthdate"), needs=Marker.DATE),
    validate=valid_birth_date, person_data=True, contact_record=True))
register(EntityKind(
    "PAY_RATE", norm_text, mask_digits_all,
    Anchor(words=("usd", "gbp", "eur"), pattern=CURRENCY, needs=Marker.DIGIT),
    placeholder=_zero_amount, person_data=True))
register(EntityKind(
    "PERSON", norm_text, mask_words, Anchor(), validate=valid_person, placeholder=_sample_person,
    sample_sensitive=True))
# "Name: Jane Smith": the recognizer's match becomes a PERSON (only the part after the label)
register(EntityKind(
    "LABELLED_PERSON", norm_text, mask_words,
    Anchor(words=("name", "contractor", "employee", "candidate", "holder", "cardholder", "dear"))))
register(EntityKind(
    "US_SSN", norm_alnum, mask_last4, Anchor(digits=_nine_digits),
    placeholder=_placeholder_or_trivial("ssns", _digits), sample_sensitive=True))
register(EntityKind("US_ITIN", norm_alnum, mask_last4, Anchor(digits=_nine_digits), placeholder=_trivial))
register(EntityKind(
    "US_PASSPORT", norm_alnum, mask_last4, Anchor(digits=_nine_digits, pattern=r"(?i:\b[A-Z]{1,2}\d{7,8}\b)"),
    placeholder=_trivial))
register(EntityKind(
    "UK_NINO", norm_alnum, mask_last4, Anchor(pattern=r"\b[A-Za-z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-Da-d]\b"),
    placeholder=lambda v, ph: trivial_digits(v), sample_sensitive=True))
register(EntityKind(
    "US_BANK_NUMBER", norm_alnum, mask_last4, Anchor(digits=_bank_digits), placeholder=_trivial,
    sample_sensitive=True, person_data=True, window_link=False))
register(EntityKind(
    "CREDIT_CARD", norm_alnum, mask_last4, Anchor(digits=_card_digits), validate=valid_card,
    placeholder=_placeholder_or_trivial("cards", _digits), sample_sensitive=True, person_data=True,
    window_link=False))
register(EntityKind(
    "IBAN_CODE", norm_alnum, mask_last4, Anchor(pattern=r"(?i:(?<![A-Z0-9])[A-Z]{2}\d{2}[ -]?[A-Z0-9]{4})"),
    validate=valid_iban, placeholder=lambda v, ph: re.sub(r"\s", "", v).upper() in ph.ibans,
    sample_sensitive=True, person_data=True, window_link=False))
register(EntityKind(
    "CONFIDENTIAL_MARKING", norm_text, mask_marking,
    Anchor(words=("confidential", "internal use", "do not distribute", "do not forward", "do not share",
                  "do not copy", "do not circulate", "privilege", "privileged", "restricted", "distribution",
                  "circulation"))))
register(EntityKind(
    "NDA_LANGUAGE", norm_text, mask_marking,
    Anchor(words=("nda", "non-disclosure", "nondisclosure", "confidentiality agreement"))))
register(EntityKind(
    "CLIENT_REFERENCE", norm_text, mask_words,
    Anchor(pattern=r"(?im:^[ \t]*(?:client|customer|account)\s*(?:name)?\s*:)")))
register(EntityKind("CLIENT_CODENAME", norm_text, mask_words, Anchor()))  # the dictionary's, not Presidio's
register(EntityKind(
    "AWS_ACCESS_KEY", norm_text, mask_prefix4, Anchor(fragments=("akia", "asia", "abia", "acca")),
    validate=valid_token))
register(EntityKind(
    "GITHUB_TOKEN", norm_text, mask_prefix4,
    Anchor(fragments=("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")), validate=valid_token))
register(EntityKind(
    "SLACK_TOKEN", norm_text, mask_prefix4,
    Anchor(fragments=("xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-", "hooks.slack.com")), validate=valid_token))
register(EntityKind("GOOGLE_API_KEY", norm_text, mask_prefix4, Anchor(fragments=("aiza",)), validate=valid_token))
register(EntityKind(
    "PRIVATE_KEY", norm_text, mask_private_key, Anchor(words=("private key",), fragments=("-----begin",))))
register(EntityKind(
    "GENERIC_SECRET", norm_text, mask_prefix4,
    Anchor(words=("pat", "auth", "sas", "pass", "sig", "bearer", "authorization", "curl", "wget", "mysql", "mysqldump",
                  "mysqladmin", "mysqlsh", "mariadb", "sshpass"),
           fragments=("api_key", "api-key", "apikey", "api_secret", "api-secret", "apisecret", "secret", "token",
                      "password", "passwd", "pwd", "_pass", "-pass", "_key", "-key", "credential", "privatekey",
                      "connstr", "connectionstr", "connection_str", "conn_str", "conn-str", "connection-str",
                      "://",  # scheme://user:password@host
                      # service-prefixed tokens
                      "sk-", "sk_live_", "rk_live_", "hf_", "npm_", "sg.", "glpat-", "xox"),
           # camelCase names (masterKey, gcpSaKey, adminPass), a .pgpass line (host:port:db:user:password)
           pattern=r"(?-i:[a-z0-9](?:Key|KEY|Pass|Pat|PAT|Auth|Sas|SAS)(?![a-z]))|(?m:^[^\s:]+:(?:\d{2,5}|\*):[^\s:]+:[^\s:]+:\S)"),
    validate=valid_secret))


def kind(name: str) -> EntityKind:
    """The registered kind, or a default for an unregistered (custom) entity type."""
    found = REGISTRY.get(name)
    if found is None:
        found = EntityKind(name, norm_text, mask_words)
    return found


def person_data_types() -> frozenset[str]:
    return frozenset(n for n, k in REGISTRY.items() if k.person_data)


def contact_record_types() -> frozenset[str]:
    return frozenset(n for n, k in REGISTRY.items() if k.contact_record)


def roster_contact_types() -> frozenset[str]:
    return frozenset(n for n, k in REGISTRY.items() if k.roster_contact)
