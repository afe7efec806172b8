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


_SECRET_VALUE = re.compile(r"[:=]\s*[\"']?(\S+)")


def secret_value_ok(match_text: str, min_entropy: float = 3.5) -> bool:
    """``api_key = <value>``: the value must look random (entropy) and not be a placeholder."""
    m = _SECRET_VALUE.search(match_text)
    value = m.group(1).strip("\"'") if m else match_text
    lowered = value.lower()
    if any(w in lowered for w in ("example", "xxxx", "your_", "your-", "placeholder", "changeme", "<")):
        return False
    has_digit = any(c.isdigit() for c in value)
    return has_digit and shannon_entropy(value) >= min_entropy
