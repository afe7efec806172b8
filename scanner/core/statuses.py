"""Status values of remediation actions and steps, as the database stores them."""

from __future__ import annotations

from enum import StrEnum


class ActionStatus(StrEnum):
    PLANNED = "planned"  # dry run: what would be done
    #: The intent: committed with the full ``before`` just ahead of the Drive call. An action still
    #: ``started`` after its process died is checked against Drive by reconciliation.
    STARTED = "started"
    APPLIED = "applied"  # notify: queued in the outbox
    VERIFIED = "verified"  # changed in Drive and re-read
    ALREADY_GONE = "already_gone"
    #: Reconciliation found Drive unchanged: the process died before the change was made.
    NOT_APPLIED = "not_applied"
    SKIPPED = "skipped"
    FAILED = "failed"
    REFUSED = "refused"
    RESTORED = "restored"
    #: Reconciliation could not tell (the action kind cannot be checked): a person has to look.
    UNKNOWN = "unknown"


#: An action that ended with its change in Drive, done by it or found done.
DONE = frozenset({ActionStatus.VERIFIED, ActionStatus.ALREADY_GONE})


class StepStatus(StrEnum):
    STARTED = "started"
    FINISHED = "finished"


class FindingStatus(StrEnum):
    """The workflow status of a finding: set by people and by our actions."""

    OPEN = "open"
    REMEDIATED = "remediated"  # our action removed the exposure (verified)
    RESOLVED = "resolved"  # the condition was gone at a later complete scan
    ACCEPTED = "accepted"  # a person accepted the risk (with a reason, until a date)


class DetectionState(StrEnum):
    """Whether the last scan that covered a finding's file still saw its condition (set by scans only)."""

    ACTIVE = "active"
    INACTIVE = "inactive"
