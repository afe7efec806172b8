"""Settings: a TOML file validated into typed models, with environment overrides.

Where the configuration comes from, first match wins:

1. ``--config PATH`` on the command line,
2. ``$SHARESCAN_CONFIG``,
3. ``sharescan.toml`` in the current directory,
4. ``config.toml`` in the user's config directory (``platformdirs``),
5. nothing: built-in defaults (enough for ``init``, ``classify`` and ``demo``).

Environment variables override the file: ``SHARESCAN_DATABASE_URL`` (database.url),
``SHARESCAN_GOOGLE_ENDPOINT`` (google.endpoint: every Google API and the OAuth token endpoint
go to an emulator, like STORAGE_EMULATOR_HOST for Cloud Storage), ``SHARESCAN_GOOGLE_KEY_FILE``
(google.service_account_file, the scanning key; ``sharescan emulator serve`` prints it),
``SHARESCAN_GOOGLE_REMEDIATION_KEY_FILE`` (google.remediation_service_account_file) and
``SHARESCAN_DATA_DIR`` (where the default SQLite database and keys live).

Every validation problem is reported as one :class:`ConfigError` naming the file, the line,
the key and what was expected.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from scanner.core.errors import ConfigError

APP_NAME = "sharescan"
ENV_CONFIG = "SHARESCAN_CONFIG"
ENV_DATABASE_URL = "SHARESCAN_DATABASE_URL"
ENV_GOOGLE_ENDPOINT = "SHARESCAN_GOOGLE_ENDPOINT"
ENV_DATA_DIR = "SHARESCAN_DATA_DIR"
ENV_GOOGLE_KEY_FILE = "SHARESCAN_GOOGLE_KEY_FILE"
ENV_GOOGLE_REMEDIATION_KEY_FILE = "SHARESCAN_GOOGLE_REMEDIATION_KEY_FILE"

RemediationMode = Literal["off", "dry-run", "enforce"]
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                       r"[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Validation context key: the directory of the config file, against which relative paths resolve.
CONFIG_DIR = "config_dir"


class KeyProblem(ValueError):
    """A section-level validator's problem with one of its keys: reported as ``[section] key: ...``."""

    def __init__(self, key: str, message: str, got: object = None) -> None:
        super().__init__(message)
        self.key = key
        self.got = got


def _config_path(value: str, info: ValidationInfo) -> str:
    """``~`` expanded; a relative path made absolute against the config file's directory (not the
    process's working directory, which cron and systemd choose)."""
    if not value:
        return value
    path = Path(value).expanduser()
    base = (info.context or {}).get(CONFIG_DIR)
    if not path.is_absolute() and base is not None:
        path = Path(base) / path
    return str(path)


def _email(value: str) -> str:
    if not _EMAIL_RE.match(value):
        raise ValueError("expected an e-mail address like 'security@example.org'")
    return value


#: A file or directory setting: relative paths resolve against the config file's directory.
ConfigPath = Annotated[str, AfterValidator(_config_path)]
Email = Annotated[str, AfterValidator(_email)]


def _seconds(upper: float) -> Any:
    return Field(gt=0, le=upper, allow_inf_nan=False)


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OrganisationSettings(_Section):
    #: The organisation's own domains: sharing inside them is internal.
    domains: list[str] = Field(default_factory=list)
    #: Admin SDK customer id.
    customer_id: str = "my_customer"

    @field_validator("domains")
    @classmethod
    def _domains_valid(cls, value: list[str]) -> list[str]:
        out = []
        for raw in value:
            domain = raw.strip().lower()
            if not _DOMAIN_RE.match(domain):
                raise ValueError(f"{raw!r} is not a domain name (expected e.g. 'example.org')")
            out.append(domain)
        return out


class GoogleSettings(_Section):
    #: Read-only scanning key (scopes: drive.metadata.readonly, drive.readonly,
    #: admin.directory.user.readonly) with domain-wide delegation.
    service_account_file: ConfigPath = ""
    #: Key used only by remediation (scope: drive). Empty: remediation cannot enforce.
    remediation_service_account_file: ConfigPath = ""
    #: The admin user impersonated for the Directory API and shared-drive listing.
    admin_subject: str = ""
    #: Base URL of an emulator; empty means Google itself.
    endpoint: str = ""
    #: Narrow the crawl (all empty = every active user).
    org_units: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    users: list[str] = Field(default_factory=list)
    include_shared_drives: bool = True
    #: Treat a group of the organisation as external sharing when any of its members (nested groups
    #: included) is outside the organisation (needs the group.member.readonly scope).
    expand_groups: bool = False
    http_timeout_seconds: Annotated[float, _seconds(600)] = 60.0


class DatabaseSettings(_Section):
    #: SQLAlchemy URL; empty = SQLite file in the data directory. A relative SQLite path
    #: (``sqlite:///sharescan.db``) is relative to the config file's directory.
    url: str = ""

    @field_validator("url")
    @classmethod
    def _sqlite_path(cls, value: str, info: ValidationInfo) -> str:
        return sqlite_url_against(value, (info.context or {}).get(CONFIG_DIR))


class RulesSettings(_Section):
    #: Extra rule directories, loaded after the built-in rules.
    directories: list[ConfigPath] = Field(default_factory=list)
    include_builtin: bool = True
    #: Extra client name / codename dictionaries (one term per line).
    dictionaries: list[ConfigPath] = Field(default_factory=list)


class DetectSettings(_Section):
    #: NLP engine for names: auto (spaCy model if installed, else pattern-only), spacy, pattern-only.
    nlp: Literal["auto", "spacy", "pattern-only"] = "auto"
    #: HMAC key for evidence hashes; empty = <data dir>/evidence.key (created 0600).
    key_file: ConfigPath = ""
    #: Time bound (seconds) of one recognizer pattern on one text segment; a pattern that runs
    #: longer is stopped and the file's analysis is recorded as partial.
    regex_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 1.0


#: Upper bounds: a file is held in memory while it is analysed (the analysis budget is 400 MB).
MAX_DOWNLOAD_BYTES = 100 * 1024 * 1024


class LimitsSettings(_Section):
    workers: Annotated[int, Field(ge=1, le=64)] = 4
    #: Drive quota units per minute this scanner may spend. Unset: the project's budget divided among
    #: the runs that share it (``project_quota_units_per_minute / quota_shared_by``).
    quota_units_per_minute: Annotated[int | None, Field(ge=100, le=100_000_000)] = None
    #: The Google Cloud project's Drive budget (Google's published limit: 1,000,000 units a minute).
    project_quota_units_per_minute: Annotated[int, Field(ge=100, le=100_000_000)] = 1_000_000
    #: One impersonated user's budget (Google's published limit: 325,000 units a minute per user).
    user_quota_units_per_minute: Annotated[int, Field(ge=100, le=100_000_000)] = 325_000
    #: How many runs spend the project's budget at once (scans, remediation, other tools on the key).
    quota_shared_by: Annotated[int, Field(ge=1, le=1000)] = 2
    max_retries: Annotated[int, Field(ge=0, le=20)] = 7
    max_download_bytes: Annotated[int, Field(ge=1024, le=MAX_DOWNLOAD_BYTES)] = 25 * 1024 * 1024
    max_text_chars: Annotated[int, Field(ge=1000, le=20_000_000)] = 2_000_000
    max_pages: Annotated[int, Field(ge=1, le=10_000)] = 500
    max_cells: Annotated[int, Field(ge=1, le=5_000_000)] = 200_000
    #: A file whose content, publish state or permissions could not be read this many runs in a row is
    #: listed as unreadable (it keeps its verdict and is still tried again every run).
    unreadable_after_attempts: Annotated[int, Field(ge=1, le=1000)] = 3
    #: A Google Docs editor file whose revision did not move has its publish state read again after
    #: this many days (a resumable pass over the oldest checks; 0: every crawl reads it again).
    publish_recheck_days: Annotated[int, Field(ge=0, le=3650)] = 7
    #: At most this many files of that periodic pass per run (it never delays exposure findings).
    publish_recheck_per_run: Annotated[int, Field(ge=0, le=10_000_000)] = 20_000



class ExecutorSettings(_Section):
    """Where a scan's units of work run (``scanner.scan.executor``)."""

    #: in-process: threads for crawl and content fetches, a process pool for analysis (one machine);
    #: celery: crawl targets and file analyses go to ``sharescan worker`` processes over ``broker_url``.
    kind: Literal["in-process", "celery"] = "in-process"
    #: Processes that extract and detect (CPU-bound); 0 = one per core.
    analysis_processes: Annotated[int, Field(ge=0, le=256)] = 0
    #: Content fetches (export/download) in flight at once, overall and per impersonated user.
    fetch_concurrency: Annotated[int, Field(ge=1, le=256)] = 16
    #: A run with fewer candidate files analyses them in the scan process (no pool to start).
    pool_min_files: Annotated[int, Field(ge=0, le=10_000_000)] = 200
    fetch_per_user: Annotated[int, Field(ge=1, le=64)] = 4
    #: celery: the broker (redis://host:6379/0 or amqp://user:pass@host:5672//).
    broker_url: str = ""
    #: celery on Redis: seconds before a task a worker took but did not acknowledge is delivered again
    #: (a killed worker's tasks come back after this). Longer than the slowest task: a file analysis
    #: takes seconds, a large target's crawl minutes to hours - production uses 3600 or more.
    visibility_timeout_seconds: Annotated[int, Field(ge=1, le=7 * 86_400)] = 3600
    #: celery: the queue this installation's tasks go to (installations sharing a broker use their own).
    queue: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:-]+$")] = "sharescan"
    #: celery: the files one analysis task carries.
    files_per_task: Annotated[int, Field(ge=1, le=10_000)] = 50
    #: celery: how long the scan waits for a task's result before it calls the run failed.
    task_timeout_seconds: Annotated[int, Field(ge=10, le=7 * 86_400)] = 86_400

    @field_validator("broker_url")
    @classmethod
    def _broker_valid(cls, value: str) -> str:
        if value and urlsplit(value).scheme not in ("redis", "rediss", "amqp", "amqps", "pyamqp", "memory"):
            raise ValueError(f"{value!r}: expected redis://, amqp:// (or memory:// for tests)")
        return value


class RemediationSettings(_Section):
    mode: RemediationMode = "dry-run"
    max_actions_per_run: Annotated[int, Field(ge=0, le=100_000)] = 50
    #: Refuse to act when actions would touch more than this share of active findings.
    max_actions_share: Annotated[float, Field(ge=0, le=1)] = 0.5
    #: Stop acting when this share of the actions attempted so far failed (once at least
    #: ``error_rate_min_sample`` were attempted)...
    max_error_rate: Annotated[float, Field(ge=0, le=1)] = 0.2
    error_rate_min_sample: Annotated[int, Field(ge=1, le=10_000)] = 10
    #: ...or when this many attempted actions failed in a row.
    max_consecutive_failures: Annotated[int, Field(ge=1, le=10_000)] = 5
    #: ``max_actions_per_run`` also counts the Drive changes any scan or ``sharescan remediate`` made in
    #: the last this-many minutes (a run started again after a crash, or several commands in a row,
    #: share one budget). 0 = this run's actions only.
    limit_window_minutes: Annotated[int, Field(ge=0, le=7 * 24 * 60)] = 60
    #: If this file exists, no remediation action is taken (checked before every action).
    kill_switch_file: ConfigPath = ""
    #: Also fix inherited permissions on the ancestor they come from.
    fix_inherited_on_ancestor: bool = False
    #: Days of access left when the action is "expire".
    external_access_expiry_days: Annotated[int, Field(ge=1, le=365)] = 7


class ScheduleSettings(_Section):
    cron: str = "0 2 * * *"
    timezone: str = "UTC"
    #: Also run a full crawl (not incremental) on this schedule; empty = never automatically.
    full_scan_cron: str = "0 3 * * 0"
    #: A lock whose holder has not beaten its heartbeat for this long is stale.
    stale_lock_seconds: Annotated[int, Field(ge=30, le=86_400)] = 900

    @field_validator("cron", "full_scan_cron")
    @classmethod
    def _cron_valid(cls, value: str) -> str:
        if value:
            from croniter import croniter

            if not croniter.is_valid(value):
                raise ValueError(f"{value!r} is not a cron expression (expected e.g. '0 2 * * *')")
        return value


SMTP_PORTS = {"starttls": 587, "tls": 465, "none": 25}


class SmtpSettings(_Section):
    host: str = ""
    #: 0 = the usual port for ``security``: 587 (starttls), 465 (tls), 25 (none).
    port: Annotated[int, Field(ge=0, le=65535)] = 0
    #: starttls: connect, then upgrade with STARTTLS (refused if the server does not offer it);
    #: tls: TLS from the first byte (SMTPS); none: plain text, only without a login. The server's
    #: certificate is always verified, its name included (``ca_file`` for a private CA).
    security: Literal["starttls", "tls", "none"] = "starttls"
    #: PEM file of the CA(s) that signed the server's certificate, instead of the system's.
    ca_file: ConfigPath = ""
    username: str = ""
    #: Name of the environment variable that holds the password (never the password itself).
    password_env: str = "SHARESCAN_SMTP_PASSWORD"  # noqa: S105 - a variable name, not a secret
    sender: str = ""
    timeout_seconds: Annotated[float, _seconds(300)] = 30.0

    @model_validator(mode="before")
    @classmethod
    def _legacy_starttls(cls, data: Any) -> Any:
        """``starttls = true|false`` (before ``security`` existed) still means starttls|none."""
        if isinstance(data, dict) and "starttls" in data:
            data = dict(data)
            legacy = data.pop("starttls")
            if "security" in data:
                raise KeyProblem("starttls", 'replaced by security: remove it (security = "starttls", "tls" or '
                                 '"none")', legacy)
            if not isinstance(legacy, bool):
                raise KeyProblem("starttls", "expected true or false", legacy)
            data["security"] = "starttls" if legacy else "none"
        return data

    @field_validator("password_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not _ENV_NAME_RE.match(value):
            raise ValueError("expected the name of an environment variable, e.g. SHARESCAN_SMTP_PASSWORD")
        return value

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        if not value:
            return value
        name, address = parseaddr(value)
        if "\r" in value or "\n" in value or not _EMAIL_RE.match(address):
            raise ValueError("expected an e-mail address, e.g. 'sharescan@example.org' or "
                             "'Sharescan <sharescan@example.org>'")
        return value

    @field_validator("ca_file")
    @classmethod
    def _ca_exists(cls, value: str) -> str:
        if value and not Path(value).is_file():
            raise ValueError("no such file (expected a PEM file of CA certificates)")
        return value

    @model_validator(mode="after")
    def _login_needs_tls(self) -> SmtpSettings:
        if self.username and self.security == "none":
            raise KeyProblem("username", 'a login without TLS sends the password in clear: set security = '
                             '"starttls" or "tls", or remove the username', self.username)
        return self

    @property
    def effective_port(self) -> int:
        return self.port or SMTP_PORTS[self.security]


class WebhookSettings(_Section):
    #: Slack-compatible incoming webhook URL: https://, or http:// to this machine only.
    url: str = ""
    #: Allow http:// to another machine (digests then cross the network in clear).
    allow_insecure_http: bool = False
    timeout_seconds: Annotated[float, _seconds(300)] = 15.0

    @model_validator(mode="after")
    def _url_valid(self) -> WebhookSettings:
        if not self.url:
            return self
        parts = urlsplit(self.url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise KeyProblem("url", "expected an https:// URL, e.g. https://hooks.slack.com/services/...", self.url)
        if parts.scheme == "http" and not self.allow_insecure_http and not is_loopback_host(parts.hostname):
            raise KeyProblem("url", "http:// is allowed only to this machine (127.0.0.1, ::1, localhost): use https:// "
                             "or set allow_insecure_http = true", self.url)
        return self


class NotificationSettings(_Section):
    enabled: bool = True
    channels: list[Literal["smtp", "webhook"]] = Field(default_factory=list)
    smtp: SmtpSettings = SmtpSettings()
    webhook: WebhookSettings = WebhookSettings()
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 8
    #: Copy every digest to these addresses (e.g. the security team).
    cc: list[Email] = Field(default_factory=list)

    @model_validator(mode="after")
    def _channels_configured(self) -> NotificationSettings:
        if "webhook" in self.channels and not self.webhook.url:
            raise KeyProblem("webhook.url", 'required when channels include "webhook" (expected an https:// URL)')
        if "smtp" in self.channels:
            for key in ("host", "sender"):
                if not getattr(self.smtp, key):
                    raise KeyProblem(f"smtp.{key}", f'required when channels include "smtp" (expected '
                                     f'{"a host name" if key == "host" else "an e-mail address"})')
        return self


class KeysSettings(_Section):
    #: Key files (service accounts, evidence HMAC, export signing) that the group or others may read
    #: are refused; "warn" uses them anyway, with a warning.
    loose_permissions: Literal["refuse", "warn"] = "refuse"


class ExportSettings(_Section):
    directory: ConfigPath = ""
    #: Key that signs export manifests; empty = <data dir>/export-signing.key (created 0600).
    signing_key_file: ConfigPath = ""
    #: Hours from detection to the GDPR Art. 33 notification deadline.
    breach_deadline_hours: Annotated[int, Field(ge=1, le=8_760)] = 72


class AuditSettings(_Section):
    #: HMAC key of the audit chain; empty = <data dir>/audit.key (created 0600). Keep it outside the database.
    key_file: str = ""
    #: Directory where a signed checkpoint of the chain head is written after every scan and export
    #: (put it where the database's users cannot rewrite it: another host, a write-once mount);
    #: empty = <data dir>/audit-anchors.
    anchor_path: str = ""
    #: Also send every checkpoint to the local syslog (facility AUTHPRIV), e.g. to a remote log server.
    anchor_syslog: bool = False
    #: Also POST every checkpoint (JSON) to this URL; empty = off.
    anchor_webhook_url: str = ""


class EvidenceSettings(_Section):
    #: Drive audit log actors (who shared a file, who opened it) are personal data: by default only their
    #: domain and a keyed hash (the evidence HMAC key) are stored. true: store the full addresses too.
    store_actor_emails: bool = False


class ExposureSettings(_Section):
    #: Date each exposed file with findings from the Drive audit log (Admin SDK Reports; the scanning key
    #: needs admin.reports.audit.readonly). Without the scope scans still work and say why dating was skipped.
    dating: bool = True
    #: Files dated per scan (the undated first, then the longest undated); each costs about one API call.
    max_files_per_run: Annotated[int, Field(ge=0, le=100_000)] = 500
    #: Audit events read per file and run (1,000 per call): beyond it the counts are "at least".
    max_events_per_file: Annotated[int, Field(ge=1, le=100_000)] = 5_000


class WatchSettings(_Section):
    #: `sharescan watch`: minutes between two reads of the Drive audit log.
    interval_minutes: Annotated[float, Field(gt=0, le=1_440)] = 5.0
    #: Each read goes back this far before the newest event already handled: Google's reporting lag
    #: (Drive events usually appear within minutes, sometimes hours). Events seen twice are skipped by id.
    overlap_minutes: Annotated[int, Field(ge=0, le=24 * 60)] = 60
    #: Files scanned per poll at most (the rest wait for the next poll).
    max_files_per_poll: Annotated[int, Field(ge=1, le=10_000)] = 200
class PostureSettings(_Section):
    #: Read the Drive sharing settings of every org unit at each scan (Cloud Identity Policy API; the
    #: scanning key needs ``cloud-identity.policies.readonly`` and ``admin.directory.orgunit.readonly``:
    #: without them posture is skipped and the run says so). sharescan only reads and recommends.
    enabled: bool = True
    #: Extra posture check directories (YAML), loaded after the built-in ``rules/posture/``.
    directories: list[ConfigPath] = Field(default_factory=list)


class LabelsSettings(_Section):
    #: The Drive label (Drive Labels API id) the ``label`` action applies, e.g. "Confidential".
    classification_label: str = ""
    #: The selection field of that label the action sets, and the choice id it sets it to
    #: (e.g. "Data category" = "Contractor PII"). Both empty: the label is applied without a field.
    field: str = ""
    choice: str = ""
    #: How people read it in notices and plans, e.g. "Confidential / Contractor PII".
    title: str = ""

    @model_validator(mode="after")
    def _field_needs_label(self) -> LabelsSettings:
        if (self.field or self.choice) and not self.classification_label:
            raise ValueError("field and choice need classification_label (the label they belong to)")
        if bool(self.field) != bool(self.choice):
            raise ValueError("set both field and choice, or neither")
        return self

    @property
    def configured(self) -> bool:
        return bool(self.classification_label)


class Settings(_Section):
    organisation: OrganisationSettings = OrganisationSettings()
    google: GoogleSettings = GoogleSettings()
    database: DatabaseSettings = DatabaseSettings()
    rules: RulesSettings = RulesSettings()
    detect: DetectSettings = DetectSettings()
    limits: LimitsSettings = LimitsSettings()
    executor: ExecutorSettings = ExecutorSettings()
    remediation: RemediationSettings = RemediationSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    notifications: NotificationSettings = NotificationSettings()
    export: ExportSettings = ExportSettings()
    audit: AuditSettings = AuditSettings()
    keys: KeysSettings = KeysSettings()
    evidence: EvidenceSettings = EvidenceSettings()
    exposure: ExposureSettings = ExposureSettings()
    watch: WatchSettings = WatchSettings()
    posture: PostureSettings = PostureSettings()
    labels: LabelsSettings = LabelsSettings()
    #: Where the settings came from, an absolute path (None = defaults only). Not a config key.
    source: str | None = Field(default=None, exclude=True)

    # -- derived paths -------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return data_dir()

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_dir / 'sharescan.db'}"

    @property
    def evidence_key_path(self) -> Path:
        return Path(self.detect.key_file).expanduser() if self.detect.key_file else self.data_dir / "evidence.key"

    @property
    def signing_key_path(self) -> Path:
        if self.export.signing_key_file:
            return Path(self.export.signing_key_file).expanduser()
        return self.data_dir / "export-signing.key"

    @property
    def audit_key_path(self) -> Path:
        return Path(self.audit.key_file).expanduser() if self.audit.key_file else self.data_dir / "audit.key"

    @property
    def anchor_dir(self) -> Path:
        return Path(self.audit.anchor_path).expanduser() if self.audit.anchor_path else self.data_dir / "audit-anchors"

    def with_overrides(self, **sections: dict[str, Any]) -> Settings:
        """A copy with some keys replaced, e.g. ``with_overrides(remediation={"mode": "enforce"})``."""
        data = self.model_dump()
        for name, values in sections.items():
            data[name] = {**data[name], **values}
        context = {CONFIG_DIR: str(Path(self.source).parent)} if self.source else None
        out = Settings.model_validate(data, context=context)
        return out.model_copy(update={"source": self.source})


def sqlite_url_against(url: str, base: str | os.PathLike[str] | None) -> str:
    """A ``sqlite:///relative/path`` URL made absolute against ``base`` (other URLs as they are)."""
    prefix = "sqlite:///"
    if base is None or not url.startswith(prefix):
        return url
    path, sep, query = url[len(prefix):].partition("?")
    if not path or path.startswith("/") or path == ":memory:":
        return url
    return f"{prefix}{Path(base) / Path(path).expanduser()}{sep}{query}"


def data_dir() -> Path:
    env = os.environ.get(ENV_DATA_DIR)
    return Path(env).expanduser() if env else Path(platformdirs.user_data_dir(APP_NAME))


def find_config_file(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    if explicit:
        return Path(explicit)
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env)
    for candidate in (Path("sharescan.toml"), Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"):
        if candidate.is_file():
            return candidate
    return None


def load_settings(path: str | os.PathLike[str] | None = None, *, env: dict[str, str] | None = None) -> Settings:
    """Load, validate and apply environment overrides. Raises ConfigError."""
    environ = os.environ if env is None else env
    config_path = find_config_file(path) if env is None else (Path(path) if path else None)
    data: dict[str, Any] = {}
    text = ""
    if config_path is not None:
        try:
            text = config_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{config_path}: config file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{config_path}: cannot read config file: {exc}") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{config_path}: invalid TOML: {exc}") from None
        if "organisation" in data and not (data["organisation"] or {}).get("domains"):
            line = _line_of(text, ("organisation",))
            raise ConfigError(
                f"{config_path}:{line}: [organisation] domains: required, expected a list of your "
                "organisation's domains, e.g. domains = [\"example.org\"]"
            )
    overrides = {
        ENV_DATABASE_URL: ("database", "url"),
        ENV_GOOGLE_ENDPOINT: ("google", "endpoint"),
        ENV_GOOGLE_KEY_FILE: ("google", "service_account_file"),
        ENV_GOOGLE_REMEDIATION_KEY_FILE: ("google", "remediation_service_account_file"),
    }
    for var, (section, key) in overrides.items():
        value = environ.get(var)
        if value:
            # a relative path in the environment is the caller's, not the config file's
            if var == ENV_DATABASE_URL:
                value = sqlite_url_against(value, Path.cwd())
            elif var in (ENV_GOOGLE_KEY_FILE, ENV_GOOGLE_REMEDIATION_KEY_FILE):
                value = str(Path.cwd() / Path(value).expanduser())
            data.setdefault(section, {})
            if isinstance(data[section], dict):
                data[section][key] = value
    context = {CONFIG_DIR: os.path.dirname(os.path.abspath(config_path))} if config_path is not None else None
    try:
        settings = Settings.model_validate(data, context=context)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, config_path, text)) from None
    return settings.model_copy(update={"source": os.path.abspath(config_path) if config_path else None})


def _describe(exc: ValidationError, path: Path | None, text: str) -> str:
    """One line per problem: file:line: [section] key: what was expected (got what)."""
    lines = []
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"])
        problem = (err.get("ctx") or {}).get("error")
        if isinstance(problem, KeyProblem):  # a section's validator names the key itself
            loc += tuple(problem.key.split("."))
        table = _table_of(loc)
        section = ".".join(table)
        key = "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in loc[len(table):]).lstrip(".")
        where = f"{path}:{_line_of(text, loc)}" if path else "settings"
        name = f"[{section}] {key}" if section else key
        if err["type"] == "extra_forbidden":
            msg = "unknown key" + (f" (known keys: {', '.join(_known_keys(loc))})" if _known_keys(loc) else "")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            if isinstance(problem, KeyProblem):
                msg += "" if problem.got is None else f" (got {problem.got!r})"
            elif "input" in err and err["type"] not in ("missing",):
                msg += f" (got {err['input']!r})"
        lines.append(f"{where}: {name}: {msg}")
    return "\n".join(lines)


def _table_of(loc: tuple[str, ...]) -> tuple[str, ...]:
    """The TOML table a key is in: the longest prefix of ``loc`` naming sections (``notifications.smtp``)."""
    model: type[BaseModel] = Settings
    table: tuple[str, ...] = ()
    for part in loc[:-1]:
        field = model.model_fields.get(part)
        ann = field.annotation if field else None
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            break
        model, table = ann, (*table, part)
    return table


def _known_keys(loc: tuple[str, ...]) -> list[str]:
    model: type[BaseModel] = Settings
    for part in loc[:-1]:
        field = model.model_fields.get(part)
        ann = field.annotation if field else None
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return []
        model = ann
    return [k for k in model.model_fields if k != "source"]


def _line_of(text: str, loc: tuple[str, ...]) -> int:
    """Best-effort line number of a dotted key (or a table header) in TOML text; 0 when unknown."""
    loc = tuple(p for p in loc if not p.isdigit())  # a list item is on its list's line
    if not text or not loc:
        return 0
    table: tuple[str, ...] = ()
    best = 0
    key_re = re.compile(r'^\s*("?)([A-Za-z0-9_.-]+)\1\s*=')
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("["):
            table = tuple(p.strip().strip('"') for p in stripped.strip("[]").split("."))
            if table == loc:
                return number
            if loc[: len(table)] == table and not best:
                best = number  # the table the key should be in
            continue
        match = key_re.match(raw)
        if match and (table + tuple(match.group(2).split(".")))[: len(loc)] == loc:
            return number
    return best
