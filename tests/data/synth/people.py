"""Invented people from many cultures (Faker locales + a few romanised lists), and how a
spreadsheet or an export writes their names, emails, phones, rates and ids."""

from __future__ import annotations

import datetime as dt
import random
import string
import unicodedata
from dataclasses import dataclass
from functools import cache

from faker import Faker

from tests.data.synth.pools import Pools, reserve

# locale -> (kind): "latin" names as Faker writes them, "roman" via Faker's romanized names,
# "cyrillic" transliterated, "native" kept in the native script (emails from a user name)
LOCALES: list[tuple[str, str]] = [
    # tuning part (first two thirds)
    ("en_US", "latin"), ("en_GB", "latin"), ("de_DE", "latin"), ("es_ES", "hispanic"), ("fr_FR", "latin"),
    ("en_IN", "latin"), ("pl_PL", "latin"), ("pt_BR", "hispanic"), ("it_IT", "latin"), ("nl_NL", "latin"),
    ("ja_JP", "roman"), ("zh_CN", "roman"), ("yo_NG", "latin"), ("ru_RU", "cyrillic"), ("arabic", "arabic"),
    ("en_NG", "latin"), ("es_MX", "hispanic"), ("tr_TR", "latin"), ("vi_VN", "latin"), ("ig_NG", "latin"),
    # held-back part (last third)
    ("uk_UA", "cyrillic"), ("es_CO", "hispanic"), ("tw_GH", "latin"), ("ha_NG", "latin"), ("cs_CZ", "latin"),
    ("fil_PH", "latin"), ("id_ID", "latin"), ("en_PK", "latin"), ("ro_RO", "latin"), ("arabic2", "arabic"),
]
LOCALES = reserve(LOCALES + [("da_DK", "latin"), ("hu_HU", "latin"), ("es_AR", "hispanic"), ("en_IE", "latin"),
                             ("lt_LT", "latin")],
                  v2=[("sv_SE", "latin"), ("fi_FI", "latin"), ("es_CL", "hispanic"), ("zu_ZA", "latin"),
                      ("sk_SK", "latin"), ("bg_BG", "cyrillic")])
# romanised Arabic names (Faker's Arabic locales write Arabic script only)
ARABIC_FIRST = ["Youssef", "Fatima", "Omar", "Layla", "Khalid", "Mariam", "Hassan", "Noor", "Tariq", "Salma",
                "Karim", "Huda", "Bilal", "Rania", "Ziad", "Amira", "Samir", "Yasmin", "Nabil", "Dina"]
ARABIC_LAST = ["Al-Sayed", "El-Amin", "Haddad", "Nasser", "Al-Masri", "Khoury", "Mansour", "Abdullah",
               "Al-Farsi", "Saleh", "Hamdan", "Darwish", "Aziz", "Qureshi", "Bakr", "Zaher"]
_CYR = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґ",
                ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r", "s",
                 "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya", "i", "yi", "ye", "g"],
                strict=True))

FREE_MAIL = ["gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "protonmail.com", "web.de", "gmx.de",
             "icloud.com", "mail.ru", "qq.com", "orange.fr", "libero.it",
             "yahoo.co.uk", "proton.me", "naver.com", "163.com", "yandex.ru", "rediffmail.com", "aol.com",
             "live.com", "seznam.cz"]


def translit(text: str) -> str:
    out = []
    for ch in text:
        low = ch.lower()
        if low in _CYR:
            t = _CYR[low]
            out.append(t.capitalize() if ch != low and t else t)
        else:
            out.append(ch)
    return "".join(out)


def ascii_fold(text: str) -> str:
    """Accents dropped, anything else non-ASCII removed (for e-mail local parts)."""
    text = unicodedata.normalize("NFKD", translit(text))
    return "".join(c for c in text if c.isascii())


def latin1(text: str) -> str:
    """What a core-font PDF can show: Latin-1 kept, other letters folded to ASCII."""
    out = []
    for ch in text:
        try:
            ch.encode("latin-1")
            out.append(ch)
        except UnicodeEncodeError:
            out.append(ascii_fold(ch) or "?")
    return "".join(out)


@cache
def _faker(locale: str) -> Faker:
    return Faker(locale)


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    email: str
    phone: str
    dob: dt.date
    rate: str
    locale: str

    @property
    def full(self) -> str:
        return f"{self.first} {self.last}"


def _clean_part(name: str) -> str:
    return name.strip().replace("  ", " ")


class PersonFactory:
    def __init__(self, pools: Pools) -> None:
        self.pools = pools
        self.rng: random.Random = pools.rng

    def _names(self, locale: str, kind: str) -> tuple[str, str]:
        rng = self.rng
        if kind == "arabic":  # the tuning part's names and the held-back part's are different
            half = locale == "arabic2"
            firsts, lasts = ARABIC_FIRST[10:] if half else ARABIC_FIRST[:10], ARABIC_LAST[8:] if half else ARABIC_LAST[:8]
            return rng.choice(firsts), rng.choice(lasts)
        fake = _faker(locale)
        fake.seed_instance(rng.getrandbits(32))
        if kind == "roman":
            return fake.first_romanized_name(), fake.last_romanized_name()
        first, last = fake.first_name(), fake.last_name()
        if kind == "cyrillic":
            first, last = translit(first), translit(last)
        if kind == "hispanic" and rng.random() < 0.6:
            last = f"{last} {fake.last_name()}"
        return _clean_part(first), _clean_part(last)

    def person(self) -> Person:
        rng = self.rng
        locale, kind = self.pools.pick(LOCALES)
        first, last = self._names(locale, kind)
        email = self.email(first, last)
        phone = self.phone(locale)
        today = dt.date(2024, 6, 1)
        dob = today - dt.timedelta(days=rng.randint(19 * 365, 64 * 365))
        return Person(first, last, email, phone, dob, self.rate(), locale)

    def email(self, first: str, last: str) -> str:
        rng = self.rng
        f = ascii_fold(first).lower().replace(" ", "").replace("'", "") or "user"
        last_token = last.split()[0] if rng.random() < 0.5 else last.replace(" ", "")
        la = ascii_fold(last_token).lower().replace("'", "").replace("-", "") or "x"
        styles = reserve(["{f}.{l}", "{f0}{l}", "{f}{l}{n}", "{f}_{l}", "{l}.{f}", "{f}{n}", "{f}.{l}{n}",
                          "{f0}.{l}{n}", "{l}{f0}", "{f}-{l}", "{l}_{f0}{n}", "{f}{l0}{n}", "{l}{n}", "{f}.{l0}"],
                         v2=["{l}-{f}", "{f0}{l0}{n}{n}", "{f}{l}"])
        local = self.pools.pick(styles).format(f=f, l=la, f0=f[0], l0=la[0], n=rng.randint(1, 99))
        if rng.random() < 0.75:
            domain = self.pools.pick(FREE_MAIL)
        else:
            fake = _faker("en_US")
            fake.seed_instance(rng.getrandbits(32))
            domain = fake.domain_name()
            if "example" in domain:
                domain = "northwind-data.io"
        return f"{local}@{domain}"

    def phone(self, locale: str) -> str:
        rng = self.rng
        styles = [
            lambda: f"+1 {rng.randint(201, 989)} {rng.randint(200, 999)} {rng.randint(1000, 9999)}",
            lambda: f"({rng.randint(201, 989)}) {rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
            lambda: f"+44 7{rng.randint(100, 999)} {rng.randint(100000, 999999)}",
            lambda: f"07{rng.randint(100, 999)} {rng.randint(100000, 999999)}",
            lambda: f"+49 15{rng.randint(1, 9)} {rng.randint(10000000, 99999999)}",
            lambda: f"+91 9{rng.randint(1000, 9999)} {rng.randint(10000, 99999)}",
            lambda: f"{rng.randint(201, 989)}.{rng.randint(200, 999)}.{rng.randint(1000, 9999)}",
            lambda: f"+33 6 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
            # held-back
            lambda: f"+234 80{rng.randint(1, 9)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
            lambda: f"+63 9{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
            lambda: f"+1-{rng.randint(201, 989)}-{rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
            lambda: f"+61 4{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)}",
            lambda: f"+27 8{rng.randint(1, 4)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
            lambda: f"+55 11 9{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
            lambda: f"+81 90-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
            lambda: f"0{rng.randint(7, 9)}0 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}",
        ]
        styles = reserve(styles, v2=[
            lambda: f"+254 7{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)}",
            lambda: f"+48 5{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)}",
            lambda: f"0044 7{rng.randint(100, 999)} {rng.randint(100000, 999999)}",
            lambda: f"+1 ({rng.randint(201, 989)}) {rng.randint(200, 999)} {rng.randint(1000, 9999)}",
        ])
        style = self.pools.pick(styles)
        for _ in range(30):  # real people have numbers that exist: valid for their country's plan
            number = style()
            if _valid_phone(number):
                return number
        return number

    def rate(self) -> str:
        rng = self.rng
        amount = rng.randint(14, 95) + rng.choice([0, 0.5, 0.25, 0.75])
        styles = reserve(["${a:.2f}", "${a:.2f}/hr", "$ {a:.0f}", "USD {a:.2f}", "€{a:.2f}", "£{a:.0f}/h", "{a:.2f} USD",
                          "${a:.0f} per hour",
                          "US${a:.2f}", "{a:.2f} EUR/hr", "GBP {a:.2f}", "${a:,.2f} / hour",
                          "EUR {c}", "{c} €/h", "R$ {c}", "₹{r:,}/hr", "CHF {a:.2f}", "USD{a:.2f}", "{a:.2f}$"],
                         v2=["{a:.2f} $/h", "AU${a:.2f}", "€ {c} per hour", "CA$ {a:.2f}", "{a:.0f} GBP p/h",
                             "PHP {p:,}.00"])
        comma = f"{amount:.2f}".replace(".", ",")
        return self.pools.pick(styles).format(a=amount, c=comma, r=int(amount * 80), p=int(amount * 55))

    # ------------------------------------------------------------------ name layouts
    NAME_STYLES = ["first last", "last, first", "LAST first", "f. last", "lower", "first", "last first",
                   "first m. last",
                   # held-back
                   "LAST, first", "last f.", "f.m. last",
                   "FIRST LAST", "first LAST", "last, f.", "First LAST"]

    def styled(self, p: Person, style: str) -> str:
        first, last = p.first, p.last
        if style == "first last":
            return p.full
        if style == "last, first":
            return f"{last}, {first}"
        if style == "LAST first":
            return f"{last.upper()} {first}"
        if style == "f. last":
            return f"{first[0]}. {last}"
        if style == "lower":
            return p.full.lower()
        if style == "first":
            return first.split()[0]
        if style == "last first":
            return f"{last} {first}"
        if style == "first m. last":
            return f"{first} {self.rng.choice(string.ascii_uppercase)}. {last}"
        if style == "LAST, first":
            return f"{last.upper()}, {first}"
        if style == "last f.":
            return f"{last} {first[0]}."
        if style == "FIRST LAST":
            return p.full.upper()
        if style in ("first LAST", "First LAST"):
            return f"{first} {last.upper()}"
        if style == "last, f.":
            return f"{last}, {first[0]}."
        if style == "f.m. last":
            return f"{first[0]}.{self.rng.choice(string.ascii_uppercase)}. {last}"
        raise ValueError(style)


def _valid_phone(number: str) -> bool:
    import phonenumbers

    try:
        parsed = phonenumbers.parse(number, "US" if not number.startswith(("0", "+")) else "GB")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(parsed)


def ssn(rng: random.Random) -> str:
    area = rng.choice([n for n in range(100, 899) if n != 666])
    return f"{area:03d}-{rng.randint(10, 99):02d}-{rng.randint(1000, 9999):04d}"


def nino(rng: random.Random) -> str:
    letters = "ABCEGHJKLMNPRSTWXYZ"
    return (f"{rng.choice(letters)}{rng.choice(letters)} {rng.randint(10, 99)} {rng.randint(10, 99)} "
            f"{rng.randint(10, 99)} {rng.choice('ABCD')}")


def passport(rng: random.Random) -> str:
    return f"{rng.choice(string.ascii_uppercase)}{rng.randint(10_000_000, 99_999_999)}"


def iban(rng: random.Random) -> str:
    fake = _faker(rng.choice(["en_GB", "de_DE", "fr_FR", "nl_NL", "es_ES"]))
    fake.seed_instance(rng.getrandbits(32))
    raw = fake.iban()
    return " ".join(raw[i:i + 4] for i in range(0, len(raw), 4)) if rng.random() < 0.5 else raw


def card(rng: random.Random) -> str:
    fake = _faker("en_US")
    fake.seed_instance(rng.getrandbits(32))
    raw = fake.credit_card_number(card_type=rng.choice(["visa16", "mastercard", "amex"]))
    if len(raw) == 16 and rng.random() < 0.6:
        return " ".join(raw[i:i + 4] for i in range(0, 16, 4))
    return raw


def bank_account(rng: random.Random) -> str:
    return str(rng.randint(10**7, 10**12 - 1))


def routing(rng: random.Random) -> str:
    fake = _faker("en_US")
    fake.seed_instance(rng.getrandbits(32))
    return str(fake.aba())
