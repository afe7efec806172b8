"""Typed errors. The CLI turns any SharescanError into one line and a non-zero exit code."""

from __future__ import annotations


class SharescanError(Exception):
    """Base class of errors a user can act on."""

    exit_code = 1


class ConfigError(SharescanError):
    """The configuration (file or environment) is invalid."""

    exit_code = 2


class RuleError(SharescanError):
    """A rule file is invalid."""

    exit_code = 2


class DatabaseError(SharescanError):
    """The database is missing, unreachable or not at the expected schema revision."""

    exit_code = 3


class GoogleApiError(SharescanError):
    """A Google API call failed after retries."""

    exit_code = 4


class RunLockedError(SharescanError):
    """Another scan holds the run lock."""

    exit_code = 75  # EX_TEMPFAIL: cron may try again later


class RemediationRefused(SharescanError):
    """A safety limit refused remediation before any action was taken."""

    exit_code = 5


class NotFoundError(SharescanError):
    """A finding, action or run named on the command line does not exist."""

    exit_code = 6


class AuditChainBroken(SharescanError):
    """The audit log's hash chain does not verify."""

    exit_code = 7


class ExportVerificationFailed(SharescanError):
    """An export directory does not match its signed manifest."""

    exit_code = 8
