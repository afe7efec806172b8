"""Typed errors. The CLI turns any SharescanError into one line and a non-zero exit code."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The exit-code contract of every ``sharescan`` command (documented in the README and ``--help``).

    1–8, 75 and 130 keep the meanings they always had, so existing cron and Kubernetes checks keep
    working; 9–11 are outcomes of a run that finished but that automation must notice.
    """

    OK = 0
    ERROR = 1  # any other error a user can act on
    CONFIG = 2  # configuration or rule file invalid
    DATABASE = 3  # database missing, unreachable or not at head
    GOOGLE_API = 4  # a Google API call failed after retries
    REMEDIATION_REFUSED = 5  # a safety limit refused remediation before any action
    NOT_FOUND = 6  # a finding, action or run named on the command line does not exist
    AUDIT_CHAIN_BROKEN = 7  # the audit log does not verify
    EXPORT_VERIFICATION_FAILED = 8  # an export directory does not match its signed manifest
    PARTIAL = 9  # the run finished but did not cover everything (targets or files pending/unreadable)
    FINDINGS = 10  # findings at or above ``--fail-on SEVERITY`` are open
    REMEDIATION_STOPPED = 11  # remediation stopped early (error-rate breaker, kill switch)
    LOCKED = 75  # EX_TEMPFAIL: another run holds the lock; cron may try again later
    INTERRUPTED = 130  # interrupted (Ctrl-C / SIGINT)


class SharescanError(Exception):
    """Base class of errors a user can act on."""

    exit_code = int(ExitCode.ERROR)


class ConfigError(SharescanError):
    """The configuration (file or environment) is invalid."""

    exit_code = int(ExitCode.CONFIG)


class RuleError(SharescanError):
    """A rule file is invalid."""

    exit_code = int(ExitCode.CONFIG)


class DatabaseError(SharescanError):
    """The database is missing, unreachable or not at the expected schema revision."""

    exit_code = int(ExitCode.DATABASE)


class GoogleApiError(SharescanError):
    """A Google API call failed after retries."""

    exit_code = int(ExitCode.GOOGLE_API)


class RunLockedError(SharescanError):
    """Another scan holds the run lock."""

    exit_code = int(ExitCode.LOCKED)


class RemediationRefused(SharescanError):
    """A safety limit refused remediation before any action was taken."""

    exit_code = int(ExitCode.REMEDIATION_REFUSED)


class NotFoundError(SharescanError):
    """A finding, action or run named on the command line does not exist."""

    exit_code = int(ExitCode.NOT_FOUND)


class AuditChainBroken(SharescanError):
    """The audit log's hash chain does not verify."""

    exit_code = int(ExitCode.AUDIT_CHAIN_BROKEN)


class ExportVerificationFailed(SharescanError):
    """An export directory does not match its signed manifest."""

    exit_code = int(ExitCode.EXPORT_VERIFICATION_FAILED)
