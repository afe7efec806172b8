"""Config loading: every problem is one clear error naming file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.config import Settings, load_settings
from scanner.core.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sharescan.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_is_valid_and_documents_every_setting() -> None:
    settings = load_settings(REPO / "config.example.toml", env={})
    assert settings.organisation.domains == ["example.org"]
    assert settings.remediation.mode == "dry-run"
    text = (REPO / "config.example.toml").read_text()
    for section, model in Settings.model_fields.items():
        if section == "source":
            continue
        assert f"[{section}]" in text, section
        sub = getattr(settings, section)
        for key in type(sub).model_fields:
            assert f"{key} =" in text or f"[{section}.{key}]" in text, f"{section}.{key} undocumented"


def test_defaults_without_file() -> None:
    settings = load_settings(None, env={})
    assert settings.remediation.mode == "dry-run"
    assert settings.database_url.startswith("sqlite:///")
    assert settings.source is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[organisation]\ndomains = ["a.com"]\n[limits]\nworkers = "four"\n', ":4: [limits] workers: "),
        ('[organisation]\ndomains = ["a.com"]\n\n[limits]\nwrokers = 3\n', ":5: [limits] wrokers: unknown key (known keys: workers"),
        ('[organisation]\ndomains = ["a.com"]\n[remediation]\nmode = "yolo"\n', ":4: [remediation] mode: Input should be 'off', 'dry-run' or 'enforce'"),
        ('[organisation]\ndomains = ["not a domain"]\n', ":2: [organisation] domains: 'not a domain' is not a domain name"),
        ('[organisation]\nname = "x"\n', ":1: [organisation] domains: required"),
        ('[organisation]\ndomains = ["a.com"]\n[schedule]\ncron = "every night"\n', ":4: [schedule] cron: 'every night' is not a cron expression"),
        ('[organisation]\ndomains = ["a.com"]\n[bogus]\nx = 1\n', ": bogus: unknown key"),
        ('[organisation\ndomains = 1\n', ": invalid TOML: "),
    ],
)
def test_bad_config_names_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert expected in message, message


def test_missing_file_is_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml", env={})


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[organisation]\ndomains = ["a.com"]\n[database]\nurl = "sqlite:///file.db"\n')
    settings = load_settings(path, env={"SHARESCAN_DATABASE_URL": "sqlite:///env.db",
                                        "SHARESCAN_GOOGLE_ENDPOINT": "http://127.0.0.1:9"})
    assert settings.database.url == f"sqlite:///{Path.cwd() / 'env.db'}"  # the caller's directory
    assert settings.google.endpoint == "http://127.0.0.1:9"


def test_key_files_from_the_environment_as_the_emulator_prints_them(tmp_path: Path) -> None:
    path = write(tmp_path, '[organisation]\ndomains = ["a.com"]\n[google]\nservice_account_file = "file.json"\n')
    settings = load_settings(path, env={"SHARESCAN_GOOGLE_KEY_FILE": "/keys/scan.json",
                                        "SHARESCAN_GOOGLE_REMEDIATION_KEY_FILE": "/keys/fix.json"})
    assert settings.google.service_account_file == "/keys/scan.json"
    assert settings.google.remediation_service_account_file == "/keys/fix.json"
    # a relative path in the file is the config file's directory's; in the environment, the caller's
    assert load_settings(path, env={}).google.service_account_file == str(tmp_path / "file.json")
    assert load_settings(path, env={"SHARESCAN_GOOGLE_KEY_FILE": "k/scan.json"}).google.service_account_file \
        == str(Path.cwd() / "k" / "scan.json")


def test_sharescan_config_env_var_selects_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[organisation]\ndomains = ["from-env.com"]\n')
    monkeypatch.setenv("SHARESCAN_CONFIG", str(path))
    assert load_settings().organisation.domains == ["from-env.com"]


def test_with_overrides_revalidates() -> None:
    settings = load_settings(None, env={}).with_overrides(remediation={"mode": "enforce"})
    assert settings.remediation.mode == "enforce"
    with pytest.raises(ValueError):
        settings.with_overrides(remediation={"mode": "sometimes"})


# --------------------------------------------------------------------------- values that must not be accepted

BASE = '[organisation]\ndomains = ["a.com"]\n'


@pytest.mark.parametrize(("text", "expected"), [
    ("[google]\nhttp_timeout_seconds = inf\n", ":4: [google] http_timeout_seconds: Input should be a finite number (got inf)"),
    ("[google]\nhttp_timeout_seconds = nan\n", ":4: [google] http_timeout_seconds: Input should be a finite number (got nan)"),
    ("[google]\nhttp_timeout_seconds = 1e9\n",
     ":4: [google] http_timeout_seconds: Input should be less than or equal to 600 (got 1000000000.0)"),
    ("[google]\nhttp_timeout_seconds = 0\n", ":4: [google] http_timeout_seconds: Input should be greater than 0 (got 0)"),
    ("[limits]\nmax_download_bytes = 10000000000\n",
     ":4: [limits] max_download_bytes: Input should be less than or equal to 104857600 (got 10000000000)"),
    ("[limits]\nmax_cells = 1000000000\n", ":4: [limits] max_cells: Input should be less than or equal to 5000000"),
    ("[limits]\nquota_units_per_minute = 1000000000000\n", ":4: [limits] quota_units_per_minute: Input should be less than or equal to 100000000"),
    ("[schedule]\nstale_lock_seconds = 1e12\n", ":4: [schedule] stale_lock_seconds: "),
    ("[notifications.webhook]\nurl = \"ftp://hooks.example.org/x\"\n",
     ":4: [notifications.webhook] url: expected an https:// URL, e.g. https://hooks.slack.com/services/... "
     "(got 'ftp://hooks.example.org/x')"),
    ("[notifications.webhook]\nurl = \"hello\"\n",
     ":4: [notifications.webhook] url: expected an https:// URL, e.g. https://hooks.slack.com/services/... (got 'hello')"),
    ("[notifications.webhook]\nurl = \"http://hooks.example.org/x\"\n",
     ":4: [notifications.webhook] url: http:// is allowed only to this machine (127.0.0.1, ::1, localhost): use "
     "https:// or set allow_insecure_http = true (got 'http://hooks.example.org/x')"),
    ("[notifications.webhook]\ntimeout_seconds = inf\n", ":4: [notifications.webhook] timeout_seconds: Input should be a finite"),
    ("[notifications]\nchannels = [\"webhook\"]\n",
     ":3: [notifications.webhook] url: required when channels include \"webhook\" (expected an https:// URL)"),
    ("[notifications]\nchannels = [\"smtp\"]\n",
     ":3: [notifications.smtp] host: required when channels include \"smtp\" (expected a host name)"),
    ("[notifications]\nchannels = [\"smtp\"]\n[notifications.smtp]\nhost = \"mail.a.com\"\n",
     ":3: [notifications.smtp] sender: required when channels include \"smtp\" (expected an e-mail address)"),
    ("[notifications]\ncc = [\"security@a.com\", \"not an email\"]\n",
     ":4: [notifications] cc[1]: expected an e-mail address like 'security@example.org' (got 'not an email')"),
    ("[notifications.smtp]\nsender = \"sharescan@a.com\\r\\nBcc: x@evil.example\"\n",
     ":4: [notifications.smtp] sender: expected an e-mail address"),
    ("[notifications.smtp]\nsecurity = \"none\"\nusername = \"scanner\"\n",
     ":5: [notifications.smtp] username: a login without TLS sends the password in clear: set security = "
     "\"starttls\" or \"tls\", or remove the username (got 'scanner')"),
    ("[notifications.smtp]\nstarttls = false\nusername = \"scanner\"\n",
     ":5: [notifications.smtp] username: a login without TLS sends the password in clear"),
    ("[notifications.smtp]\nstarttls = true\nsecurity = \"tls\"\n",
     ":4: [notifications.smtp] starttls: replaced by security: remove it"),
    ("[notifications.smtp]\nsecurity = \"ssl\"\n", ":4: [notifications.smtp] security: Input should be 'starttls', 'tls' or 'none'"),
    ("[notifications.smtp]\nca_file = \"missing-ca.pem\"\n",
     ":4: [notifications.smtp] ca_file: no such file (expected a PEM file of CA certificates)"),
    ("[notifications.smtp]\npassword_env = \"my password\"\n",
     ":4: [notifications.smtp] password_env: expected the name of an environment variable"),
    ("[notifications.smtp]\ntimeout_seconds = -1\n", ":4: [notifications.smtp] timeout_seconds: Input should be greater than 0"),
    ("[keys]\nloose_permissions = \"ignore\"\n", ":4: [keys] loose_permissions: Input should be 'refuse' or 'warn'"),
])
def test_values_out_of_bounds_or_unsafe_are_refused(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, BASE + text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert expected in message, message


@pytest.mark.parametrize(("text", "expected"), [
    ("[notifications.webhook]\nurl = \"http://127.0.0.1:8080/hook\"\n", ("http://127.0.0.1:8080/hook", "starttls", 587)),
    ("[notifications.webhook]\nurl = \"http://[::1]:8080/hook\"\n", ("http://[::1]:8080/hook", "starttls", 587)),
    ("[notifications.webhook]\nurl = \"http://localhost/hook\"\n", ("http://localhost/hook", "starttls", 587)),
    ("[notifications.webhook]\nurl = \"http://hooks.internal/x\"\nallow_insecure_http = true\n",
     ("http://hooks.internal/x", "starttls", 587)),
    ("[notifications]\nchannels = [\"smtp\"]\n[notifications.smtp]\nhost = \"mail.a.com\"\nsender = \"Sharescan <s@a.com>\"\n",
     ("", "starttls", 587)),
    ("[notifications.smtp]\nsecurity = \"tls\"\nusername = \"scanner\"\n", ("", "tls", 465)),
    ("[notifications.smtp]\nstarttls = false\n", ("", "none", 25)),
    ("[notifications.smtp]\nstarttls = true\nport = 2525\n", ("", "starttls", 2525)),
])
def test_safe_values_are_accepted(tmp_path: Path, text: str, expected: tuple[str, str, int]) -> None:
    n = load_settings(write(tmp_path, BASE + text), env={}).notifications
    assert (n.webhook.url, n.smtp.security, n.smtp.effective_port) == expected


# --------------------------------------------------------------------------- relative paths


def test_relative_paths_resolve_against_the_config_files_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                   ) -> None:
    conf = tmp_path / "etc" / "sharescan"
    conf.mkdir(parents=True)
    (conf / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    elsewhere = tmp_path / "cron-cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    write(conf, BASE + """
[google]
service_account_file = "keys/scan.json"
remediation_service_account_file = "/abs/remediate.json"
[database]
url = "sqlite:///db/sharescan.db"
[rules]
directories = ["rules.d", "~/more-rules"]
dictionaries = ["dict/clients.txt"]
[detect]
key_file = "keys/evidence.key"
[remediation]
kill_switch_file = "STOP"
[notifications.smtp]
ca_file = "ca.pem"
[export]
directory = "exports"
signing_key_file = "../../keys/signing.key"
""")
    s = load_settings(Path("..") / "etc" / "sharescan" / "sharescan.toml", env={})
    assert (s.google.service_account_file, s.google.remediation_service_account_file) == (
        str(conf / "keys/scan.json"), "/abs/remediate.json")
    assert s.database.url == f"sqlite:///{conf / 'db/sharescan.db'}"
    assert s.rules.directories == [str(conf / "rules.d"), str(tmp_path / "home" / "more-rules")]
    assert s.rules.dictionaries == [str(conf / "dict/clients.txt")]
    assert (s.detect.key_file, s.evidence_key_path) == (str(conf / "keys/evidence.key"), conf / "keys/evidence.key")
    assert s.remediation.kill_switch_file == str(conf / "STOP")
    assert s.notifications.smtp.ca_file == str(conf / "ca.pem")
    assert (s.export.directory, s.signing_key_path) == (str(conf / "exports"), conf / "../../keys/signing.key")
    # with_overrides keeps them (and resolves new relative ones against the same directory)
    again = s.with_overrides(remediation={"mode": "enforce"}, export={"directory": "other"})
    assert (again.remediation.kill_switch_file, again.export.directory) == (str(conf / "STOP"), str(conf / "other"))


def test_kill_switch_named_relatively_works_from_any_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              sqlite_url: str) -> None:
    """The issue's night: kill_switch_file = "STOP" beside the config, sharescan started by cron elsewhere."""
    from scanner.remediate.engine import Remediator
    from scanner.store.db import make_engine, make_sessionmaker

    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "STOP").write_text("stop")
    path = write(conf, BASE + '[remediation]\nkill_switch_file = "STOP"\n')
    monkeypatch.chdir(tmp_path)
    remediator = Remediator(load_settings(path, env={}), make_sessionmaker(make_engine(sqlite_url)), "test", rules=[])
    assert remediator.kill_switch_on()
    (conf / "STOP").unlink()
    assert not remediator.kill_switch_on()
