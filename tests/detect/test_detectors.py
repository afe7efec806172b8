from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from scanner.content.extract import ExtractLimits
from scanner.detect.evidence import load_or_create_key, mask
from scanner.detect.pipeline import ContentPipeline


def _entities(p: ContentPipeline, text: str) -> set[str]:
    return {d.entity_type for d in p.analyze_bytes(text.encode(), "text/plain", "t.txt").detections}


@pytest.mark.parametrize("text,entity", [
    ("ssn: 536-22-8411", "US_SSN"),
    ("NI number JG 10 37 58 A", "UK_NINO"),
    ("IBAN GB29NWBK60161331926819", "IBAN_CODE"),
    ("card 2223 0000 4841 0010", "CREDIT_CARD"),
    ("card 5425 2334 3010 9903", "CREDIT_CARD"),
    ("mail olivia.martin@gmail.com", "EMAIL_ADDRESS"),
    ("key AKIAZ7QW3RTY5UIOPA2D", "AWS_ACCESS_KEY"),
    ("ghp_4fG7hJ2kL9mN1pQ3rS5tU7vW9xY0zA2bC4dE", "GITHUB_TOKEN"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----", "PRIVATE_KEY"),
    ("AIzaSyD3kF8mQ2wL5nR7tV9xZ1bC4eG6hJ8kM0p", "GOOGLE_API_KEY"),
    ("api_key = 9f8e7d6c5b4a39281706f5e4d3c2b1a0", "GENERIC_SECRET"),
    ("STRICTLY CONFIDENTIAL", "CONFIDENTIAL_MARKING"),
    ("For internal use only", "CONFIDENTIAL_MARKING"),
    ("under NDA until launch", "NDA_LANGUAGE"),
    ("Date of birth: 14/07/1990", "DATE_OF_BIRTH"),
    ("kickoff with halcyon motors next week", "CLIENT_CODENAME"),
    ("Full name: Marcus Bell", "PERSON"),
])
def test_positive(pattern_pipeline: ContentPipeline, text: str, entity: str) -> None:
    assert entity in _entities(pattern_pipeline, text)


@pytest.mark.parametrize("text,entity", [
    ("test card 4111 1111 1111 1111", "CREDIT_CARD"),
    ("card 2223 0000 4841 0011", "CREDIT_CARD"),  # Luhn fails
    ("write to jane@example.com", "EMAIL_ADDRESS"),
    ("call (212) 555-0142", "PHONE_NUMBER"),
    ("we keep your data confidential", "CONFIDENTIAL_MARKING"),
    ("meeting on 14/07/1990", "DATE_OF_BIRTH"),
    ("api_key = YOUR_API_KEY_HERE_PLEASE", "GENERIC_SECRET"),
    ("halcyonmotorsport fans", "CLIENT_CODENAME"),
    ("IBAN GB29NWBK60161331926819", "CREDIT_CARD"),  # no card inside the IBAN
])
def test_negative(pattern_pipeline: ContentPipeline, text: str, entity: str) -> None:
    assert entity not in _entities(pattern_pipeline, text)


@pytest.mark.parametrize("text,person", [
    ("Thanks, Priya. See you on Monday at the offsite.", False),  # a one-word name alone is not a person
    ("Thanks, Priya. Email me: priya.raman@fastmail.com", True),  # next to her own e-mail it is
])
def test_single_token_person_kept_only_beside_person_data(spacy_pipeline: ContentPipeline, text: str,
                                                          person: bool) -> None:
    assert ("PERSON" in _entities(spacy_pipeline, text)) is person


def test_no_raw_values_in_results_or_logs(pattern_pipeline: ContentPipeline, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    r = pattern_pipeline.analyze_bytes(b"SSN 536-22-8411 mail olivia.martin@gmail.com", "text/plain", "a.txt")
    blob = repr(r) + caplog.text
    assert "536-22-8411" not in blob and "olivia.martin" not in blob
    assert any(d.masked_preview == "•••-••-8411" for d in r.detections)


@pytest.mark.parametrize("entity,value,expected", [
    ("EMAIL_ADDRESS", "jane@acme.com", "j•••@a•••.com"),
    ("US_SSN", "123-45-6789", "•••-••-6789"),
    ("PERSON", "Jane Smith", "J••• S•••"),
])
def test_mask(entity: str, value: str, expected: str) -> None:
    assert mask(entity, value) == expected


def test_key_file_mode(tmp_path: Path) -> None:
    path = tmp_path / "k" / "hmac.key"
    key = load_or_create_key(path)
    assert len(key) == 32 and load_or_create_key(path) == key
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.mark.parametrize("text,fires", [
    ("A kestrel hovered over the field.", False),
    ("Two peregrine falcons and a Peregrine Fund volunteer.", False),
    ("a bluefin tuna sandwich", False),
    ("Kickoff for KESTREL on Monday", True),
    ("Project PEREGRINE - delivery plan", True),
    ("BLUEFIN labelling instructions", True),
    ("kickoff with halcyon motors next week", True),  # client names: any case
    ("HALCYON MOTORS renewal", True),
    ("Orion Health pilot", True),
    ("the halcyon days of summer", False),
])
def test_codename_case(pattern_pipeline: ContentPipeline, text: str, fires: bool) -> None:
    assert ("CLIENT_CODENAME" in _entities(pattern_pipeline, text)) is fires


@pytest.mark.parametrize("address,personal", [
    ("hello@tessera-labs.com", False),
    ("support@brightlabs.io", False),
    ("no-reply@vendor.io", False),
    ("olivia.martin@gmail.com", True),
    ("hellokitty@gmail.com", True),
])
def test_role_mailboxes_are_not_personal(pattern_pipeline: ContentPipeline, address: str, personal: bool) -> None:
    assert ("EMAIL_ADDRESS" in _entities(pattern_pipeline, f"Contact {address} today")) is personal


def _bank(p: ContentPipeline, text: str) -> tuple[list[tuple[str, float, str]], bool]:
    r = p.analyze_bytes(text.encode(), "text/plain", "t.txt")
    return [(d.entity_type, d.score, d.masked_preview) for d in r.detections], r.hit("bank_data") is not None


@pytest.mark.parametrize("text,preview", [
    ("Account number: 000123456789", "••••••••6789"),
    ("bank account 000123456789", "••••••••6789"),
    ("Acct# 4400123456", "••••••3456"),
    ("acct no. 00012345678", "•••••••5678"),
    ("ABA routing number 021000021", "•••••0021"),  # "number" is a phone word too: the bank number wins
    ("Checking account 40276518901", "•••••••8901"),
    ("Savings 998877665544", "••••••••5544"),
    ("Bank details: 40275678", "••••5678"),
    ("account number 4159823344", "••••••3344"),  # a valid US phone shape, but labelled as an account
])
def test_us_bank_number_with_bank_context(pattern_pipeline: ContentPipeline, text: str, preview: str) -> None:
    assert _bank(pattern_pipeline, text) == ([("US_BANK_NUMBER", 0.55, preview)], True)


@pytest.mark.parametrize("text", [
    "Order 12345678 shipped",  # no bank word: 0.2 < 0.5
    "Invoice 20240501 for March",
    "Tracking number 9400111899223856",
    "account 1234567",  # 7 digits
    "account 123456789012345678",  # 18 digits
    "accounts 12345678",  # whole words only
    "account, the quick brown fox jumps over the lazy dog 12345678",  # bank word outside the 6-token window
    "Account number: 000123456789 (sample data)",
])
def test_us_bank_number_needs_bank_context(pattern_pipeline: ContentPipeline, text: str) -> None:
    assert _bank(pattern_pipeline, text) == ([], False)


def test_phone_next_to_phone_words_stays_a_phone(pattern_pipeline: ContentPipeline) -> None:
    assert _bank(pattern_pipeline, "Call my mobile 4159823344")[0] == [("PHONE_NUMBER", 0.75, "••••••3344")]


def test_detector_error_is_a_skip_without_text_in_logs(pattern_pipeline: ContentPipeline,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    def boom(texts: list[str], entities: list[frozenset[str]], *_: object) -> list[list[object]]:
        raise ValueError(f"cannot parse {texts[0]!r}")

    monkeypatch.setattr(pattern_pipeline.analyzer, "analyze_patterns", boom)
    caplog.set_level(logging.DEBUG)
    r = pattern_pipeline.analyze_bytes(b"SSN 536-22-8411", "text/plain", "a.txt")
    assert (r.analysed, r.skip_reason) == (False, "not analysed: detector error (ValueError)")
    assert "content analysis failed (ValueError)" in caplog.text and "boom" in caplog.text
    assert "536-22-8411" not in caplog.text


def test_oversized_file_refused_before_reading(pattern_pipeline: ContentPipeline, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"x" * 2000)
    monkeypatch.setattr(pattern_pipeline.config, "limits", ExtractLimits(max_bytes=1000))
    r = pattern_pipeline.analyze_path(path)
    assert (r.analysed, r.skip_reason, r.bytes_read) == (False, "not analysed: too large (2000 bytes > 1000)", 0)


@pytest.mark.parametrize("header", [
    ["Name", "Email", "Phone", "Hourly rate (USD)", "Project"],
    ["Contractor", "Email", "Phone"],
    ["Full name", "Phone", "Day rate"],
])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_header_row_is_not_a_person(pattern_pipeline: ContentPipeline, header: list[str], fmt: str) -> None:
    """The labelled-name pattern reads "Name  Email  Phone" as "Name: Email Phone"; a table's header row holds
    labels, so every PERSON comes from a data row (one per contractor, none in row 1)."""
    from scanner.emulator.office import xlsx_bytes

    rows = [header,
            ["Elena Marchetti", "elena.marchetti@gmail.com", "+1 415 555 0142"][:len(header)],
            ["Tomasz Wojcik", "t.wojcik.labels@outlook.com", "+48 512 555 019"][:len(header)]]
    if fmt == "csv":
        data, mime = "\r\n".join(",".join(r) for r in rows).encode(), "text/csv"
    else:
        data, mime = xlsx_bytes([("Sheet1", rows)]), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    persons = [d for d in pattern_pipeline.analyze_bytes(data, mime).detections if d.entity_type == "PERSON"]
    assert len(persons) == 2
    assert all(d.recognizer == "structure" for d in persons)
