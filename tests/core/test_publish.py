"""The one rule for re-reading a Docs editor file's publish state (scanner.core.publish)."""

from __future__ import annotations

import datetime as dt

import pytest

from scanner.connectors.google.mime import GOOGLE_DOC, GOOGLE_SHEET
from scanner.core.models import DriveFile, ItemKind
from scanner.core.publish import (
    PublishCheck,
    PublishCheckInput,
    PublishGate,
    StoredPublish,
    needs_publish_check,
    revision_marker,
)

NOW = dt.datetime(2026, 11, 29, 3, 0, tzinfo=dt.UTC)
WEEK = dt.timedelta(days=7)
DOC = DriveFile(id="d1", name="plan", mime_type=GOOGLE_DOC, kind=ItemKind.DOCUMENT, version="12", modified_time="2026-11-20T10:00:00Z")


def stored(*, published: bool = False, age: dt.timedelta = dt.timedelta(days=1),
           marker: str | None = revision_marker(DOC)) -> StoredPublish:
    return StoredPublish(published=published, checked_at=NOW - age, checked_revision=marker)


def check(file: DriveFile = DOC, state: StoredPublish | None = None, *, from_change: bool = False,
          recheck_after: dt.timedelta | None = WEEK) -> PublishCheck | None:
    return needs_publish_check(PublishCheckInput(file=file, stored=state, from_change=from_change, now=NOW,
                                                 recheck_after=recheck_after))


def test_an_unchanged_doc_read_recently_is_not_read_again() -> None:
    assert check(state=stored()) is None


@pytest.mark.parametrize(
    ("file", "state", "from_change", "expected"),
    [
        (DOC, None, False, PublishCheck.NEVER_READ),
        (DOC, StoredPublish(published=False, checked_at=None, checked_revision=None), False, PublishCheck.NEVER_READ),
        (DOC, stored(), True, PublishCheck.CHANGE_ENTRY),
        (DriveFile(id="d1", name="plan", mime_type=GOOGLE_DOC, kind=ItemKind.DOCUMENT, version="13", modified_time="2026-11-20T10:00:00Z"),
         stored(), False, PublishCheck.REVISION_MOVED),
        (DriveFile(id="d1", name="plan", mime_type=GOOGLE_DOC, kind=ItemKind.DOCUMENT, version="12", modified_time="2026-11-28T10:00:00Z"),
         stored(), False, PublishCheck.REVISION_MOVED),
        (DOC, stored(age=dt.timedelta(days=8)), False, PublishCheck.DUE),
        (DOC, stored(published=True), False, PublishCheck.PUBLISHED),
    ],
)
def test_a_doc_is_read_again_when_its_publish_state_may_have_changed(
    file: DriveFile, state: StoredPublish | None, from_change: bool, expected: PublishCheck
) -> None:
    assert check(file, state, from_change=from_change) is expected


def test_binary_and_trashed_files_are_never_read() -> None:
    pdf = DriveFile(id="p", name="x.pdf", mime_type="application/pdf")
    trashed = DriveFile(id="t", name="t", mime_type=GOOGLE_SHEET, kind=ItemKind.DOCUMENT, trashed=True)
    assert check(pdf, None) is None and check(trashed, None) is None


def test_without_a_recheck_period_every_listing_reads_it() -> None:
    assert check(state=stored(age=dt.timedelta(seconds=1)), recheck_after=None) is PublishCheck.DUE


def test_the_periodic_pass_spends_its_allowance_then_resumes_next_run() -> None:
    docs = [DriveFile(id=f"d{i}", name="n", mime_type=GOOGLE_DOC, kind=ItemKind.DOCUMENT, version="1") for i in range(5)]
    old = {d.id: StoredPublish(False, NOW - dt.timedelta(days=30), revision_marker(d)) for d in docs}
    gate = PublishGate(recheck_days=7, due_per_run=3)
    assert gate.decide(docs, old, from_change=False, now=NOW) == [0, 1, 2]
    assert gate.counts == {"due": 3, "skipped": 2}
    # a change still gets its check when the allowance is spent: the periodic pass gives way
    assert gate.decide(docs[3:4], old, from_change=True, now=NOW) == [0]
    gate.reset()
    fresh = {**old, **{d.id: StoredPublish(False, NOW, revision_marker(d)) for d in docs[:3]}}
    assert gate.decide(docs, fresh, from_change=False, now=NOW) == [3, 4]
