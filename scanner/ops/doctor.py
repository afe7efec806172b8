"""``sharescan doctor``: everything a first scan needs, checked before it runs (like GAM's
``check serviceaccount``), each check PASS/WARN/FAIL with what to change when it fails.

Order: configuration → key files → Google (token endpoint and clock, every scope for every
delegated subject, the admin subject, the Directory's domains) → database → rules. A failed key
skips the Google checks that need it; nothing here changes anything anywhere.
"""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from scanner.config import Settings
from scanner.connectors.google.hints import delegation_line, short_scope
from scanner.connectors.google.preflight import MAX_SKEW_SECONDS, TokenProbe, probe_token
from scanner.core.errors import ExitCode, SharescanError

SCOPE = "https://www.googleapis.com/auth/"
SCAN_DRIVE_SCOPES = (SCOPE + "drive.metadata.readonly", SCOPE + "drive.readonly")
DIRECTORY_SCOPES = (SCOPE + "admin.directory.user.readonly", SCOPE + "admin.directory.domain.readonly")
GROUP_SCOPE = SCOPE + "admin.directory.group.member.readonly"
REMEDIATION_SCOPES = (SCOPE + "drive",)
#: A clock further off than this is worth a warning even though Google still accepts it.
WARN_SKEW_SECONDS = 30.0


class Status(StrEnum):
    PASS = "PASS"  # noqa: S105 - a check status, not a password
    WARN = "WARN"
    FAIL = "FAIL"
    SKIP = "SKIP"


class Area(StrEnum):
    CONFIG = "config"
    KEYS = "keys"
    GOOGLE = "google"
    DATABASE = "database"
    RULES = "rules"

    @property
    def exit_code(self) -> ExitCode:
        return {Area.DATABASE: ExitCode.DATABASE, Area.GOOGLE: ExitCode.GOOGLE_API}.get(self, ExitCode.CONFIG)


@dataclass(frozen=True)
class Check:
    area: Area
    name: str
    status: Status
    detail: str = ""
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DoctorReport:
    checks: tuple[Check, ...]

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status is Status.FAIL]

    @property
    def exit_code(self) -> ExitCode:
        """The first failure's area decides: 2 configuration/keys/rules, 4 Google, 3 database; 0 when none."""
        return self.failed[0].area.exit_code if self.failed else ExitCode.OK


@dataclass(frozen=True)
class ServiceAccountKeyFile:
    path: Path
    info: dict[str, Any]

    @property
    def client_id(self) -> str:
        return str(self.info.get("client_id", ""))

    @property
    def client_email(self) -> str:
        return str(self.info.get("client_email", ""))


def mode_problem(path: Path) -> str:
    """Why the file's permissions are too open ('' when only its owner can read it)."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return f"mode {mode:04o} lets group/others read it"
    return ""


def owner_only_fix(path: Path) -> str:
    return f"chmod 600 {path} (a Kubernetes Secret volume: defaultMode: 0400)"


class Doctor:
    """Runs the checks for one configuration (``probe`` and ``clock`` are injectable for tests)."""

    def __init__(self, settings: Settings, *, subjects: Sequence[str] = (),
                 probe: Callable[..., TokenProbe] = probe_token, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.subjects = [s.strip().lower() for s in subjects if s.strip()]
        self.probe = probe
        self.clock = clock
        self.checks: list[Check] = []

    def add(self, area: Area, name: str, status: Status, detail: str = "", fix: str = "") -> Check:
        check = Check(area, name, status, detail, fix)
        self.checks.append(check)
        return check

    def run(self) -> DoctorReport:
        self.check_config()
        scanning = self.check_key("scanning key", self.settings.google.service_account_file, "service_account_file",
                                  "SHARESCAN_GOOGLE_KEY_FILE", required=True)
        remediation = self.check_remediation_key(scanning)
        self.check_installation_keys()
        if scanning is not None and self.settings.google.admin_subject:
            self.check_google(scanning, remediation)
        else:
            self.add(Area.GOOGLE, "delegation and scopes", Status.SKIP, "needs a readable scanning key and "
                     "[google] admin_subject")
        self.check_database()
        self.check_rules()
        return DoctorReport(tuple(self.checks))

    # ---------------------------------------------------------------- configuration and files
    def check_config(self) -> None:
        s = self.settings
        where = s.source or "built-in defaults (no config file)"
        self.add(Area.CONFIG, "configuration", Status.PASS if s.source else Status.WARN, f"using {where}",
                 "" if s.source else "create sharescan.toml from config.example.toml, or set SHARESCAN_CONFIG")
        if s.organisation.domains:
            self.add(Area.CONFIG, "organisation domains", Status.PASS, ", ".join(s.organisation.domains))
        else:
            self.add(Area.CONFIG, "organisation domains", Status.FAIL, "none configured",
                     'set [organisation] domains = ["example.org"]')
        if s.google.admin_subject:
            self.add(Area.CONFIG, "admin subject", Status.PASS, s.google.admin_subject)
        else:
            self.add(Area.CONFIG, "admin subject", Status.FAIL, "not set",
                     "set [google] admin_subject to an administrator's e-mail address")
        if s.google.endpoint:
            self.add(Area.CONFIG, "Google endpoint", Status.WARN, f"every call goes to {s.google.endpoint} "
                     "(an emulator), not to Google", "unset SHARESCAN_GOOGLE_ENDPOINT / [google] endpoint for a "
                     "real domain")

    def check_key(self, label: str, value: str, setting: str, variable: str,
                  *, required: bool) -> ServiceAccountKeyFile | None:
        if not value:
            if required:
                self.add(Area.KEYS, label, Status.FAIL, "not configured",
                         f"set [google] {setting} or {variable} to the service-account key file")
            return None
        path = Path(value).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self.add(Area.KEYS, label, Status.FAIL, f"{path}: not found", f"check [google] {setting} / {variable}")
            return None
        except OSError as exc:
            self.add(Area.KEYS, label, Status.FAIL, f"{path}: cannot be read ({exc.strerror})",
                     f"make it readable by the user sharescan runs as: chown that user {path}; chmod 600 {path}")
            return None
        try:
            info = json.loads(text)
        except ValueError:
            info = None
        missing = [k for k in ("type", "client_email", "client_id", "private_key") if not (info or {}).get(k)]
        if not isinstance(info, dict) or info.get("type") != "service_account" or missing:
            self.add(Area.KEYS, label, Status.FAIL, f"{path}: not a service-account key (JSON with type "
                     f"service_account, client_email, client_id, private_key)",
                     "download a JSON key of the service account from the Cloud console (IAM > Service accounts "
                     "> Keys)")
            return None
        key = ServiceAccountKeyFile(path, info)
        problem = mode_problem(path)
        if problem:
            self.add(Area.KEYS, label, Status.FAIL, f"{path}: {problem}", owner_only_fix(path))
        else:
            self.add(Area.KEYS, label, Status.PASS, f"{path}: owner-only, service account {key.client_email} "
                     f"(client ID {key.client_id})")
        return key

    def check_remediation_key(self, scanning: ServiceAccountKeyFile | None) -> ServiceAccountKeyFile | None:
        g = self.settings.google
        enforcing = self.settings.remediation.mode == "enforce"
        if not g.remediation_service_account_file:
            self.add(Area.KEYS, "remediation key", Status.WARN if enforcing else Status.SKIP,
                     "not configured: remediation can only plan (dry-run)",
                     "set [google] remediation_service_account_file or SHARESCAN_GOOGLE_REMEDIATION_KEY_FILE "
                     "to a second service account's key (scope drive)" if enforcing else "")
            return None
        key = self.check_key("remediation key", g.remediation_service_account_file,
                             "remediation_service_account_file", "SHARESCAN_GOOGLE_REMEDIATION_KEY_FILE",
                             required=True)
        if key is not None and scanning is not None:
            same_file = key.path.resolve() == scanning.path.resolve()
            if same_file or key.client_id == scanning.client_id:
                self.add(Area.KEYS, "separate keys", Status.FAIL if not g.endpoint else Status.WARN,
                         "the remediation key is the scanning key's service account" + (
                             " (accepted against an emulator)" if g.endpoint else ""),
                         "create a second service account for remediation (scope drive) so the nightly scanning "
                         "key stays read-only")
            else:
                self.add(Area.KEYS, "separate keys", Status.PASS,
                         f"scanning {scanning.client_email}, remediation {key.client_email}")
        return key

    def check_installation_keys(self) -> None:
        for label, path in (("evidence key", self.settings.evidence_key_path),
                            ("export signing key", self.settings.signing_key_path)):
            if not path.exists():
                self.add(Area.KEYS, label, Status.WARN, f"{path}: not created yet", "run `sharescan init`")
                continue
            problem = mode_problem(path)
            self.add(Area.KEYS, label, Status.FAIL if problem else Status.PASS,
                     f"{path}: {problem or 'owner-only'}", owner_only_fix(path) if problem else "")

    # ---------------------------------------------------------------- Google
    def scanning_scopes(self) -> tuple[str, ...]:
        g = self.settings.google
        return SCAN_DRIVE_SCOPES + DIRECTORY_SCOPES + ((GROUP_SCOPE,) if g.groups or g.expand_groups else ())

    def check_google(self, scanning: ServiceAccountKeyFile, remediation: ServiceAccountKeyFile | None) -> None:
        g = self.settings.google
        admin = g.admin_subject.lower()
        plans: list[tuple[str, ServiceAccountKeyFile, tuple[str, ...], list[str]]] = [
            ("scanning key", scanning, self.scanning_scopes(), [admin, *[s for s in self.subjects if s != admin]])]
        if remediation is not None:
            plans.append(("remediation key", remediation, REMEDIATION_SCOPES, [admin]))
        first: TokenProbe | None = None
        granted: set[tuple[str, str]] = set()  # (subject, scope) of the scanning key
        for label, key, scopes, subjects in plans:
            for subject in subjects:
                for scope in scopes:
                    result = self.probe(key.info, subject, scope, endpoint=g.endpoint,
                                        timeout=g.http_timeout_seconds, clock=self.clock)
                    first = first or result
                    self.report_scope(label, key, scopes, result)
                    if result.ok and key is scanning:
                        granted.add((subject, scope))
                    if result.error == "invalid_grant":
                        break  # the subject itself is refused: the other scopes say nothing more
        self.check_clock(first)
        if all((admin, scope) in granted for scope in DIRECTORY_SCOPES):
            self.check_directory(scanning)
        else:
            self.add(Area.GOOGLE, "admin subject and domains", Status.SKIP,
                     "needs the Directory scopes granted for the admin subject (see above)")

    def report_scope(self, label: str, key: ServiceAccountKeyFile, scopes: Sequence[str], probe: TokenProbe) -> None:
        name = f"{label}: {short_scope(probe.scope)} as {probe.subject}"
        if probe.ok:
            self.add(Area.GOOGLE, name, Status.PASS, "token granted")
        elif probe.error == "unauthorized_client":
            self.add(Area.GOOGLE, name, Status.FAIL, f"unauthorized_client: {probe.description}",
                     delegation_line(key.client_id, scopes))
        elif probe.error == "invalid_grant":
            self.add(Area.GOOGLE, name, Status.FAIL, f"invalid_grant: {probe.description}",
                     f"{probe.subject} must be an existing, active user of your domain (check [google] "
                     "admin_subject / --subject); a deleted key or a clock far off gives the same error")
        elif probe.error in ("invalid_client", "invalid_scope"):
            self.add(Area.GOOGLE, name, Status.FAIL, f"{probe.error}: {probe.description}",
                     f"the key {key.path} was deleted or belongs to another project: download a new one")
        else:
            where = self.settings.google.endpoint or "oauth2.googleapis.com"
            self.add(Area.GOOGLE, name, Status.FAIL, f"{probe.error}: {probe.description}".rstrip(": "),
                     f"cannot reach the token endpoint at {where}: check the network, proxy (HTTPS_PROXY) or "
                     "[google] endpoint")

    def check_clock(self, probe: TokenProbe | None) -> None:
        skew = probe.skew_seconds if probe is not None else None
        if skew is None:
            self.add(Area.GOOGLE, "clock", Status.SKIP, "the token endpoint sent no Date header")
            return
        detail = f"{abs(skew):.0f}s {'ahead of' if skew > 0 else 'behind'} the token endpoint's clock"
        if abs(skew) > MAX_SKEW_SECONDS:
            self.add(Area.GOOGLE, "clock", Status.FAIL, detail, "synchronise this host's clock (NTP, e.g. "
                     "systemd-timesyncd or chrony): Google refuses assertions more than 5 minutes off")
        elif abs(skew) > WARN_SKEW_SECONDS:
            self.add(Area.GOOGLE, "clock", Status.WARN, detail, "synchronise this host's clock (NTP)")
        else:
            self.add(Area.GOOGLE, "clock", Status.PASS, detail)

    def check_directory(self, scanning: ServiceAccountKeyFile) -> None:
        from scanner.connectors.google import directory
        from scanner.connectors.google.client import GoogleClients

        settings = self.settings.with_overrides(limits={"max_retries": 1})
        clients = GoogleClients(settings, credentials_file=str(scanning.path))
        admin = self.settings.google.admin_subject
        try:
            domains = directory.list_domains(clients, settings)
        except SharescanError as exc:
            self.add(Area.GOOGLE, "admin subject", Status.FAIL, f"{admin}: {exc}",
                     f"{admin} must be a Workspace administrator allowed to read users and domains "
                     "(Admin console > Account > Admin roles)")
            return
        self.add(Area.GOOGLE, "admin subject", Status.PASS, f"{admin} reads the Directory")
        configured = set(self.settings.organisation.domains)
        unknown = sorted(configured - set(domains))
        unlisted = sorted(set(domains) - configured)
        if unknown:
            self.add(Area.GOOGLE, "domains", Status.FAIL, f"not domains of this Workspace: {', '.join(unknown)} "
                     f"(the Directory lists {', '.join(domains)})", "fix [organisation] domains")
        elif unlisted:
            self.add(Area.GOOGLE, "domains", Status.WARN, f"the Directory also lists {', '.join(unlisted)}: "
                     "sharing with them counts as external", "add them to [organisation] domains if they are yours")
        else:
            self.add(Area.GOOGLE, "domains", Status.PASS, f"{', '.join(domains)} match the Directory")

    # ---------------------------------------------------------------- database and rules
    def check_database(self) -> None:
        from scanner.store import migrate
        from scanner.store.db import make_engine

        url = self.settings.database_url
        engine = make_engine(url)
        try:
            shown = engine.url.render_as_string(hide_password=True)
            current = migrate.current_revision(engine)
            head = migrate.head_revision(url)
        except Exception as exc:  # noqa: BLE001 - any driver error: the database is not usable
            self.add(Area.DATABASE, "database", Status.FAIL, f"{type(exc).__name__}: {exc}".splitlines()[0],
                     "check [database] url / SHARESCAN_DATABASE_URL and that the server is reachable")
            return
        finally:
            engine.dispose()
        if current == head:
            self.add(Area.DATABASE, "database", Status.PASS, f"{shown} at {head}")
        elif current is None:
            self.add(Area.DATABASE, "database", Status.FAIL, f"{shown} is not initialised", "run `sharescan init`")
        else:
            self.add(Area.DATABASE, "database", Status.FAIL, f"{shown} at {current}, this sharescan expects {head}",
                     "run `sharescan db upgrade`")

    def check_rules(self) -> None:
        from scanner.policy.loader import load_configured_rules
        from scanner.policy.ruletest import resolve_sample, samples

        try:
            rules = load_configured_rules(self.settings)
        except SharescanError as exc:
            first = str(exc).splitlines()[0]
            self.add(Area.RULES, "rules", Status.FAIL, first, "`sharescan rules validate` lists every problem")
            return
        self.add(Area.RULES, "rules", Status.PASS, f"{len(rules)} rule(s) valid")
        missing = [f"{rule.id}: {sample}" for rule, sample, _ in samples(rules) if resolve_sample(rule, sample) is None]
        total = len(samples(rules))
        if missing:
            self.add(Area.RULES, "rule samples", Status.FAIL, f"{len(missing)} of {total} missing, e.g. {missing[0]}",
                     "ship each rule's samples beside it (paths are relative to the rule file)")
        else:
            self.add(Area.RULES, "rule samples", Status.PASS, f"{total} present")


def run_doctor(settings: Settings, *, subjects: Iterable[str] = (), **kwargs: Any) -> DoctorReport:
    return Doctor(settings, subjects=list(subjects), **kwargs).run()

