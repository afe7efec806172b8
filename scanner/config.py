"""Settings: a TOML file validated into typed models, with environment overrides.

Where the configuration comes from, first match wins:

1. ``--config PATH`` on the command line,
2. ``$SHARESCAN_CONFIG``,
3. ``sharescan.toml`` in the current directory,
4. ``config.toml`` in the user's config directory (``platformdirs``),
5. nothing: built-in defaults (enough for ``init``, ``classify`` and ``demo``).

Environment variables override the file: ``SHARESCAN_DATABASE_URL`` (database.url),
``SHARESCAN_GOOGLE_ENDPOINT`` (google.endpoint: every Google API and the OAuth token endpoint
go to an emulator, like STORAGE_EMULATOR_HOST for Cloud Storage) and ``SHARESCAN_DATA_DIR``
(where the default SQLite database and keys live).

Every validation problem is reported as one :class:`ConfigError` naming the file, the line,
the key and what was expected.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from scanner.errors import ConfigError

APP_NAME = "sharescan"
ENV_CONFIG = "SHARESCAN_CONFIG"
ENV_DATABASE_URL = "SHARESCAN_DATABASE_URL"
ENV_GOOGLE_ENDPOINT = "SHARESCAN_GOOGLE_ENDPOINT"
ENV_DATA_DIR = "SHARESCAN_DATA_DIR"

RemediationMode = Literal["off", "dry-run", "enforce"]
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


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
    service_account_file: str = ""
    #: Key used only by remediation (scope: drive). Empty: remediation cannot enforce.
    remediation_service_account_file: str = ""
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
    http_timeout_seconds: Annotated[float, Field(gt=0)] = 60.0


class DatabaseSettings(_Section):
    #: SQLAlchemy URL; empty = SQLite file in the data directory.
    url: str = ""


class RulesSettings(_Section):
    #: Extra rule directories, loaded after the built-in rules.
    directories: list[str] = Field(default_factory=list)
    include_builtin: bool = True
    #: Extra client name / codename dictionaries (one term per line).
    dictionaries: list[str] = Field(default_factory=list)


class DetectSettings(_Section):
    #: NLP engine for names: auto (spaCy model if installed, else pattern-only), spacy, pattern-only.
    nlp: Literal["auto", "spacy", "pattern-only"] = "auto"
    #: HMAC key for evidence hashes; empty = <data dir>/evidence.key (created 0600).
    key_file: str = ""
    #: Time bound (seconds) of one recognizer pattern on one text segment; a pattern that runs
    #: longer is stopped and the file's analysis is recorded as partial.
    regex_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 1.0


class LimitsSettings(_Section):
    workers: Annotated[int, Field(ge=1, le=64)] = 4
    #: Drive quota units per minute this scanner may spend (Google: 325,000/user, 1,000,000/project).
    quota_units_per_minute: Annotated[int, Field(ge=100)] = 300_000
    max_retries: Annotated[int, Field(ge=0, le=20)] = 7
    max_download_bytes: Annotated[int, Field(ge=1024)] = 25 * 1024 * 1024
    max_text_chars: Annotated[int, Field(ge=1000)] = 2_000_000
    max_pages: Annotated[int, Field(ge=1)] = 500
    max_cells: Annotated[int, Field(ge=1)] = 200_000


class RemediationSettings(_Section):
    mode: RemediationMode = "dry-run"
    max_actions_per_run: Annotated[int, Field(ge=0)] = 50
    #: Refuse to act when actions would touch more than this share of active findings.
    max_actions_share: Annotated[float, Field(ge=0, le=1)] = 0.5
    #: Stop acting when this share of actions in a run failed.
    max_error_rate: Annotated[float, Field(ge=0, le=1)] = 0.2
    #: If this file exists, no remediation action is taken (checked before every action).
    kill_switch_file: str = ""
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
    stale_lock_seconds: Annotated[int, Field(ge=30)] = 900

    @field_validator("cron", "full_scan_cron")
    @classmethod
    def _cron_valid(cls, value: str) -> str:
        if value:
            from croniter import croniter

            if not croniter.is_valid(value):
                raise ValueError(f"{value!r} is not a cron expression (expected e.g. '0 2 * * *')")
        return value


class SmtpSettings(_Section):
    host: str = ""
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    starttls: bool = True
    username: str = ""
    #: Name of the environment variable that holds the password (never the password itself).
    password_env: str = "SHARESCAN_SMTP_PASSWORD"  # noqa: S105 - a variable name, not a secret
    sender: str = ""


class WebhookSettings(_Section):
    #: Slack-compatible incoming webhook URL.
    url: str = ""


class NotificationSettings(_Section):
    enabled: bool = True
    channels: list[Literal["smtp", "webhook"]] = Field(default_factory=list)
    smtp: SmtpSettings = SmtpSettings()
    webhook: WebhookSettings = WebhookSettings()
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 8
    #: Copy every digest to these addresses (e.g. the security team).
    cc: list[str] = Field(default_factory=list)


class ExportSettings(_Section):
    directory: str = ""
    #: Key that signs export manifests; empty = <data dir>/export-signing.key (created 0600).
    signing_key_file: str = ""
    #: Hours from detection to the GDPR Art. 33 notification deadline.
    breach_deadline_hours: Annotated[int, Field(ge=1)] = 72


class Settings(_Section):
    organisation: OrganisationSettings = OrganisationSettings()
    google: GoogleSettings = GoogleSettings()
    database: DatabaseSettings = DatabaseSettings()
    rules: RulesSettings = RulesSettings()
    detect: DetectSettings = DetectSettings()
    limits: LimitsSettings = LimitsSettings()
    remediation: RemediationSettings = RemediationSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    notifications: NotificationSettings = NotificationSettings()
    export: ExportSettings = ExportSettings()
    #: Where the settings came from (None = defaults only). Not a config key.
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

    def with_overrides(self, **sections: dict[str, Any]) -> Settings:
        """A copy with some keys replaced, e.g. ``with_overrides(remediation={"mode": "enforce"})``."""
        data = self.model_dump()
        for name, values in sections.items():
            data[name] = {**data[name], **values}
        out = Settings.model_validate(data)
        return out.model_copy(update={"source": self.source})


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
    }
    for var, (section, key) in overrides.items():
        value = environ.get(var)
        if value:
            data.setdefault(section, {})
            if isinstance(data[section], dict):
                data[section][key] = value
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, config_path, text)) from None
    return settings.model_copy(update={"source": str(config_path) if config_path else None})


def _describe(exc: ValidationError, path: Path | None, text: str) -> str:
    """One line per problem: file:line: [section] key: what was expected (got what)."""
    lines = []
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"])
        section, key = (loc[0], ".".join(loc[1:])) if len(loc) > 1 else ("", loc[0] if loc else "")
        where = f"{path}:{_line_of(text, loc)}" if path else "settings"
        name = f"[{section}] {key}" if section else key
        if err["type"] == "extra_forbidden":
            msg = "unknown key" + (f" (known keys: {', '.join(_known_keys(loc))})" if _known_keys(loc) else "")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            if "input" in err and err["type"] not in ("missing",):
                msg += f" (got {err['input']!r})"
        lines.append(f"{where}: {name}: {msg}")
    return "\n".join(lines)


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
