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


#: the value after the name's separator (``=``, ``:``, ``:=``, ``=>``, a tab, ``" "`` before a quote)
_SECRET_VALUE = re.compile(r"(?::=|=>|[:=]|\t|[ \t](?=[\"']))\s*[\"']?(\S+)")
#: prefixes that name a service's token: a random-looking rest is a secret even without digits
SERVICE_PREFIXES = ("sk-", "sk_live_", "rk_live_", "hf_", "npm_", "sg.", "glpat-", "xox", "ghp_", "github_pat_")
_HEX = re.compile(r"[0-9a-f]+")
_PLACEHOLDER_BITS = ("example", "xxxx", "your_", "your-", "yourkey", "placeholder", "changeme", "<", "${", "{{",
                     "$(", "redacted", "...", "****", "dummy", "sample", "replace", "insert", "todo")


def secret_value_ok(match_text: str, min_entropy: float = 3.5) -> bool:
    """``api_key = <value>``: the value must look random (entropy) and not be a placeholder."""
    match_text = match_text.rsplit("\n", 1)[-1]  # "name: X_TOKEN" / "value: ..." on the next line
    m = _SECRET_VALUE.search(match_text)
    value = m.group(1).strip("\"',;") if m else match_text.strip()
    lowered = value.lower()
    if any(w in lowered for w in _PLACEHOLDER_BITS):
        return False
    entropy = shannon_entropy(value)
    if lowered.startswith(SERVICE_PREFIXES):
        return len(value) >= 20 and entropy >= 3.0
    if any(c.isdigit() for c in value) and entropy >= min_entropy:
        return True
    # a long hex string (a 128-bit key or more): 16 symbols cap its entropy at 4 bits
    if len(value) >= 32 and _HEX.fullmatch(lowered) and entropy >= 3.2 and not lowered.isdigit():
        return True
    # long mixed-case random strings without digits (base64 secrets, passwords of letters and symbols)
    return len(value) >= 16 and entropy >= 3.8 and any(c.islower() for c in value) and any(c.isupper() for c in value)
