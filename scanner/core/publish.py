"""When to read a Google Docs editor file's publish state again: ONE rule, a small pure function.

Publishing to the web is a revision property that no file field or query exposes, so reading it
costs a ``revisions.list`` (100 quota units, a list call) per file. It is read again only when it
may have changed:

- the file is new to us, or its publish state was never read (or the last read failed);
- it came from a Changes entry (the Changes feed reports the file), or it is re-read on purpose;
- it was published at the last read (few files are: reading them each time lets an unpublish, ours
  or the owner's, close the finding on evidence);
- its revision moved (``version``, ``headRevisionId`` or ``modifiedTime`` differ from the read);
- the periodic re-check is due (``[limits] publish_recheck_days`` since the last read), within the
  run's allowance for that pass (``publish_recheck_per_run``): the pass resumes on the next run
  from the oldest reads left, and gives way to every check a change asks for.

A file that is not read again keeps the publish state its last read found: "not re-checked" never
changes a verdict (verdicts change only on evidence).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from scanner.core.exposure import can_be_published
from scanner.core.models import DriveFile


class PublishCheck(StrEnum):
    """Why the publish state is read again (None from :func:`needs_publish_check`: it is not)."""

    NEVER_READ = "never_read"
    PUBLISHED = "published"
    CHANGE_ENTRY = "change_entry"
    REVISION_MOVED = "revision_moved"
    DUE = "due"


@dataclass(frozen=True)
class StoredPublish:
    """What the snapshot knows of a file's publish state."""

    published: bool
    checked_at: dt.datetime | None
    checked_revision: str | None


@dataclass(frozen=True)
class PublishCheckInput:
    file: DriveFile
    #: The stored state (None: a file we have not seen).
    stored: StoredPublish | None
    #: The file came from a Changes entry or is being re-read on purpose (not from a full listing).
    from_change: bool
    now: dt.datetime
    #: Re-read after this long even when nothing moved (None: every time).
    recheck_after: dt.timedelta | None


def revision_marker(file: DriveFile) -> str:
    """What moves when a Docs editor file changes (its version moves with every change on the server)."""
    return f"{file.version or ''}|{file.head_revision_id or ''}|{file.modified_time or ''}"


def needs_publish_check(check: PublishCheckInput) -> PublishCheck | None:
    """Why to read ``check.file``'s publish state now, or None when its stored state stands."""
    if not can_be_published(check.file):
        return None
    stored = check.stored
    if stored is None or stored.checked_at is None or stored.checked_revision is None:
        return PublishCheck.NEVER_READ
    if stored.published:
        return PublishCheck.PUBLISHED
    if check.from_change:
        return PublishCheck.CHANGE_ENTRY
    if stored.checked_revision != revision_marker(check.file):
        return PublishCheck.REVISION_MOVED
    if check.recheck_after is None or check.now - stored.checked_at >= check.recheck_after:
        return PublishCheck.DUE
    return None


class PublishGate:
    """Applies :func:`needs_publish_check` to a page of files for one run: the stored states are read in
    one query, the periodic pass spends at most ``due_per_run`` checks, and what was decided is counted
    (``counts``: checks by reason, and ``skipped``). Thread-safe (crawl workers share it)."""

    def __init__(self, *, recheck_days: int, due_per_run: int) -> None:
        self.recheck_after = dt.timedelta(days=recheck_days) if recheck_days > 0 else None
        self.due_per_run = due_per_run
        self._lock = threading.Lock()
        self._due_left = due_per_run
        self.counts: Counter[str] = Counter()

    def reset(self) -> None:
        with self._lock:
            self._due_left = self.due_per_run
            self.counts = Counter()

    def decide(self, files: Sequence[DriveFile], stored: Mapping[str, StoredPublish], *, from_change: bool,
               now: dt.datetime) -> list[int]:
        """Indexes of ``files`` whose publish state to read now (the others keep ``stored``'s)."""
        out: list[int] = []
        for index, f in enumerate(files):
            if not can_be_published(f):
                continue
            reason = needs_publish_check(PublishCheckInput(file=f, stored=stored.get(f.id), from_change=from_change,
                                                           now=now, recheck_after=self.recheck_after))
            with self._lock:
                if reason is PublishCheck.DUE:
                    if self._due_left <= 0:
                        reason = None
                    else:
                        self._due_left -= 1
                self.counts[str(reason) if reason is not None else "skipped"] += 1
            if reason is not None:
                out.append(index)
        return out
