"""What a run could not read about a file, typed: which aspect, and why.

A rule's verdict on a file changes only on evidence. When the content, the publish state or the
permissions a rule needs cannot be read (the API failed after retries, timed out, or no identity
could read the file), the file keeps its previous verdict and findings and is recorded as a
*pending read* (``scanner.store.pending``), tried again by every later run until a read succeeds.
Lasting reasons (encrypted, too large, an unsupported type) are not pending: they are the verdict
on that revision.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ReadAspect(StrEnum):
    """What could not be read."""

    CONTENT = "content"
    PUBLISH_STATE = "publish_state"
    PERMISSIONS = "permissions"


class ReadFailure(StrEnum):
    """Why: the kind of failure (the API method and error go in the detail)."""

    DOWNLOAD_FAILED = "download_failed"  # files.get alt=media
    EXPORT_FAILED = "export_failed"  # files.export (Google Docs editor files)
    PUBLISH_CHECK_FAILED = "publish_check_failed"  # revisions.list
    PERMISSIONS_FAILED = "permissions_failed"  # permissions.list / files.get of a pending file
    TIMEOUT = "timeout"  # any of them, the connection timed out ([google] http_timeout_seconds)
    NO_READER = "no_reader"  # every identity that could read it was refused (suspended owner, not a member)


@dataclass(frozen=True)
class Unread:
    aspect: ReadAspect
    failure: ReadFailure
    #: e.g. "drive.files.export: 503 backendError" — API names and error reasons only.
    detail: str = ""


def failure_of(error: object, default: ReadFailure) -> ReadFailure:
    """``default``, or TIMEOUT when ``error`` (a GoogleCallError) is a timed-out connection."""
    return ReadFailure.TIMEOUT if getattr(error, "timed_out", False) else default
