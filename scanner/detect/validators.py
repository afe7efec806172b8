"""Checks applied in code to pattern results (checksums, entropy)."""

from __future__ import annotations

import math
import re
from collections import Counter


def luhn_ok(value: str) -> bool:
    digits = [int(c) for c in value if c.isdigit()]
    if not 12 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def shannon_entropy(value: str) -> float:
    if not value:
        return 0.0
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


#: the value: the run of value characters that ends the match (after a closing quote or comma);
#: a base64 value keeps its ``=`` padding, a ``NAME=`` before it is not part of it
_SECRET_VALUE = re.compile(r"[^\s\"'=:,;<>()\[\]{}]+=*$")
#: prefixes that name a service's token: a random-looking rest is a secret even without digits
SERVICE_PREFIXES = ("sk-", "sk_live_", "rk_live_", "hf_", "npm_", "sg.", "glpat-", "xox", "ghp_", "github_pat_")
_HEX = re.compile(r"[0-9a-f]+")
_CAMEL_WORDS = re.compile(r"(?:[A-Z][a-z]{2,})+")
_PLACEHOLDER_BITS = ("example", "xxxx", "your_", "your-", "yourkey", "placeholder", "changeme", "<", "${", "{{",
                     "$(", "redacted", "...", "****", "dummy", "sample", "replace", "insert", "todo")


#: the name that opens a ``name = value`` match (after ``<``, ``name:``, ``$``, quotes, dashes)
_SECRET_NAME = re.compile(r"[\s<$\"'\-:]*(?:name:[ \t]*[\"']?)?([A-Za-z0-9_.-]+)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")  # an e-mail is no one's password
_QUERY_TAIL = re.compile(r"&[A-Za-z_][A-Za-z0-9_]*=.*$")
_NAME_TOKEN = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
#: the name's words that say secret (the last of them is the one that counts)
SECRET_WORDS = frozenset({"key", "token", "secret", "pat", "pwd", "pass", "passwd", "password", "credential",
                          "credentials", "auth", "apikey", "privatekey", "sas", "signature", "connstring",
                          "connectionstring", "authtoken", "accesskey"})
#: after the secret word: the name is about the secret, not the secret (``TOKEN_URL``, ``API_KEY_ID``)
_AFTER_SECRET = frozenset({"id", "ids", "url", "uri", "path", "file", "name", "type", "length", "len", "size",
                           "hint", "header", "endpoint", "region", "version", "format", "expiry", "expires",
                           "expiration", "ttl", "count", "field", "prefix", "policy", "rotation", "ref", "env",
                           "var", "label", "location", "arn", "fingerprint", "algorithm", "alg"})
#: before it: a key that is not a secret (``publicKey``, ``primary_key``, ``cacheKey``, ``sortKey``)
_BEFORE_SECRET = frozenset({"public", "primary", "foreign", "sort", "partition", "routing", "cache", "idempotency",
                            "lookup", "object", "hot", "shortcut", "map", "row", "index", "unique", "composite",
                            "hash", "dedup", "dedupe", "group", "shard", "natural", "surrogate",
                            "storage", "s3", "bucket", "next", "page", "cursor", "continuation"})


def name_tokens(name: str) -> list[str]:
    """``gcpSaKey`` -> gcp, sa, key; ``LABEL_STUDIO_API_KEY`` -> label, studio, api, key; ``x.db-pwd``
    -> x, db, pwd: words split on camelCase, snake, kebab and dot boundaries, lower case."""
    return [t.lower() for part in re.split(r"[_.\-]+", name) for t in _NAME_TOKEN.findall(part)]


def secret_name_ok(match_text: str) -> bool:
    """The name opening the match says secret in its last words: not a key's id, URL or file, not a
    public, primary or cache key. A match without a name (a URL, a service token) passes."""
    m = _SECRET_NAME.match(match_text)
    tokens = name_tokens(m.group(1)) if m else []
    hits = [i for i, t in enumerate(tokens) if t in SECRET_WORDS]
    if not hits:
        return True
    last = hits[-1]
    if any(t in _AFTER_SECRET for t in tokens[last + 1:]):
        return False
    return not (last > 0 and tokens[last - 1] in _BEFORE_SECRET)


def secret_value_ok(match_text: str, min_entropy: float = 3.5) -> bool:
    """``api_key = <value>``: the value must look random (entropy) and not be a placeholder."""
    if not secret_name_ok(match_text):
        return False
    match_text = match_text.rsplit("\n", 1)[-1].rstrip("\"',; \t")  # "name: X" / "value: ..." on the next line
    match_text = _QUERY_TAIL.sub("", match_text)  # ?user=u&password=VALUE&useSSL=true: the value, not "true"
    m = _SECRET_VALUE.search(match_text)
    value = m.group(0) if m else match_text.strip()
    lowered = value.lower()
    if any(w in lowered for w in _PLACEHOLDER_BITS) or _EMAIL.fullmatch(value):
        return False
    entropy = shannon_entropy(value)
    if lowered.startswith(SERVICE_PREFIXES):
        return len(value) >= 20 and entropy >= 3.0
    # n symbols cap a string's entropy at log2(n): a short random value (a 12-character password)
    # cannot reach 3.5 bits (repeats take more), so the bar is the lower of min_entropy and 0.8 under
    # that cap
    cap = math.log2(min(len(value), 64))
    has_letter = any(c.isalpha() for c in value)
    if any(c.isdigit() for c in value) and has_letter and entropy >= min(min_entropy, cap - 0.8):
        return True
    # a long hex string (a 128-bit key or more): 16 symbols cap its entropy at 4 bits
    if len(value) >= 32 and _HEX.fullmatch(lowered) and entropy >= 3.2 and not lowered.isdigit():
        return True
    # mixed-case random strings without digits (base64 secrets, passwords of letters and symbols),
    # not CamelCase words (ProductionKey, RefreshTokenValue)
    uppers, lowers = sum(c.isupper() for c in value), sum(c.islower() for c in value)
    if _CAMEL_WORDS.fullmatch(value):
        return False
    if len(value) >= 16 and entropy >= 3.8 and uppers and lowers:
        return True
    return len(value) >= 12 and uppers >= 3 and lowers >= 3 and entropy >= min(3.8, cap - 0.3)
