"""Config loading: every problem is one clear error naming file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.config import Settings, load_settings
from scanner.errors import ConfigError

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
    assert settings.database.url == "sqlite:///env.db"
    assert settings.google.endpoint == "http://127.0.0.1:9"


def test_key_files_from_the_environment_as_the_emulator_prints_them(tmp_path: Path) -> None:
    path = write(tmp_path, '[organisation]\ndomains = ["a.com"]\n[google]\nservice_account_file = "file.json"\n')
    settings = load_settings(path, env={"SHARESCAN_GOOGLE_KEY_FILE": "/keys/scan.json",
                                        "SHARESCAN_GOOGLE_REMEDIATION_KEY_FILE": "/keys/fix.json"})
    assert settings.google.service_account_file == "/keys/scan.json"
    assert settings.google.remediation_service_account_file == "/keys/fix.json"
    assert load_settings(path, env={}).google.service_account_file == "file.json"


def test_sharescan_config_env_var_selects_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[organisation]\ndomains = ["from-env.com"]\n')
    monkeypatch.setenv("SHARESCAN_CONFIG", str(path))
    assert load_settings().organisation.domains == ["from-env.com"]


def test_with_overrides_revalidates() -> None:
    settings = load_settings(None, env={}).with_overrides(remediation={"mode": "enforce"})
    assert settings.remediation.mode == "enforce"
    with pytest.raises(ValueError):
        settings.with_overrides(remediation={"mode": "sometimes"})
