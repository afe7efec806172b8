"""Masked previews and keyed hashes: what may leave the detector instead of a raw value."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from pathlib import Path

DOT = "•"
_WS = re.compile(r"\s+")
_DIGIT_TYPES = {
    "US_SSN", "UK_NINO", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_BANK_NUMBER",
    "US_PASSPORT", "US_ITIN", "DATE_OF_BIRTH", "PAY_RATE",
}
_SECRET_TYPES = {"AWS_ACCESS_KEY", "GITHUB_TOKEN", "SLACK_TOKEN", "GOOGLE_API_KEY", "GENERIC_SECRET"}


def normalise(entity_type: str, value: str) -> str:
    """Canonical form so the same value hashes the same wherever and however it is written."""
    if entity_type in {"US_SSN", "CREDIT_CARD", "IBAN_CODE", "US_BANK_NUMBER", "UK_NINO", "US_ITIN"}:
        return re.sub(r"[^0-9A-Za-z]", "", value).upper()
    if entity_type == "PHONE_NUMBER":
        digits = re.sub(r"\D", "", value)
        return digits[-10:] if len(digits) >= 10 else digits
    return _WS.sub(" ", value).strip().lower()


def value_hash(key: bytes, entity_type: str, value: str) -> str:
    msg = f"{entity_type}\x00{normalise(entity_type, value)}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def _mask_word(word: str) -> str:
    return (word[:1] + DOT * 3) if word else ""


def _mask_keep_last(value: str, keep: int = 4) -> str:
    alnum_positions = [i for i, ch in enumerate(value) if ch.isalnum()]
    if keep <= 0:
        return re.sub(r"[0-9A-Za-z]+", DOT * 2, value)
    keep_from = alnum_positions[-keep] if len(alnum_positions) > keep else len(value)
    out = []
    for i, ch in enumerate(value):
        out.append(ch if (i >= keep_from or not ch.isalnum()) else DOT)
    masked = "".join(out)
    return re.sub(f"{DOT}+", DOT * 3, masked) if len(alnum_positions) > 12 else masked


def mask(entity_type: str, value: str) -> str:
    """``j•••@a•••.com``, ``•••-••-6789``, ``J••• S•••``; never the full value."""
    value = _WS.sub(" ", value).strip()
    if entity_type == "EMAIL_ADDRESS" and "@" in value:
        local, _, domain = value.partition("@")
        labels = domain.split(".")
        tld = labels[-1] if len(labels) > 1 else ""
        return f"{_mask_word(local)}@{_mask_word(labels[0])}{'.' + tld if tld else ''}"
    if entity_type in {"US_SSN"}:
        return _mask_keep_last(value, 4).replace(DOT * 3 + "-" + DOT * 2, DOT * 3 + "-" + DOT * 2)
    if entity_type in _DIGIT_TYPES:
        return _mask_keep_last(value, 4 if entity_type != "PAY_RATE" else 0)
    if entity_type in _SECRET_TYPES:
        return value[:4] + DOT * 3
    if entity_type == "PRIVATE_KEY":
        return "-----BEGIN " + DOT * 3 + " PRIVATE KEY-----"
    if entity_type in {"CONFIDENTIAL_MARKING", "NDA_LANGUAGE"}:
        return value[:40]  # a marking is not personal data
    return " ".join(_mask_word(w) for w in value.split(" ")[:4])


def load_or_create_key(path: str | os.PathLike[str]) -> bytes:
    """Deprecated alias of :func:`scanner.keys.ensure_key` (the installation evidence key)."""
    from scanner.keys import ensure_key

    return ensure_key(Path(path))
