"""Key files: installation keys created once with mode 0600 and reused; a broken key file is a clear
error; every key file (installation keys, service accounts, export signing) the group or others may
read is refused, or used with a warning when ``[keys] loose_permissions = "warn"``."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from scanner.config import Settings
from scanner.connectors.google.client import DRIVE_READ_SCOPES, GoogleClients
from scanner.core.errors import ConfigError
from scanner.emulator.auth import ServiceAccountKey
from scanner.export.signing import private_key
from scanner.keys import KEY_BYTES, ensure_key, load_key


def test_key_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "evidence.key"
    key = ensure_key(path)
    assert len(key) == KEY_BYTES
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_key(path) == key == load_key(path)


@pytest.mark.parametrize(("content", "message"), [
    ("not hex at all\n", "not a sharescan key file"),
    ("abcd\n", "key too short (2 bytes, expected 32)"),
])
def test_broken_key_file_names_the_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "evidence.key"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(ConfigError) as info:
        load_key(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)


# --------------------------------------------------------------------------- owner-only key files


@pytest.fixture(scope="module")
def sa_key_json(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("sa") / "sa.json"
    ServiceAccountKey.generate(bits=1024).write(path, "https://oauth2.googleapis.com/token")
    return path.read_bytes()


def _installation_key(path: Path, loose: str) -> object:
    return load_key(path, loose=loose)


def _signing_key(path: Path, loose: str) -> object:
    return private_key(path, create=False, loose=loose)


def _service_account(path: Path, loose: str) -> object:
    settings = Settings.model_validate({"google": {"service_account_file": str(path)}, "keys": {"loose_permissions": loose}})
    return GoogleClients(settings).credentials("admin@tessera-labs.com", DRIVE_READ_SCOPES)


def _remediation_account(path: Path, loose: str) -> object:
    settings = Settings.model_validate({"google": {"remediation_service_account_file": str(path)},
                                        "keys": {"loose_permissions": loose}})
    return GoogleClients(settings, credentials_file=settings.google.remediation_service_account_file).credentials(
        "admin@tessera-labs.com", DRIVE_READ_SCOPES)


KINDS = {"evidence": _installation_key, "signing": _signing_key, "service account": _service_account,
         "remediation": _remediation_account}


def _write_key(tmp_path: Path, kind: str, mode: int, sa_key_json: bytes) -> Path:
    path = tmp_path / f"{kind.replace(' ', '-')}.key"
    path.write_bytes(sa_key_json if kind in ("service account", "remediation") else ("ab" * 32 + "\n").encode())
    path.chmod(mode)
    return path


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize(("mode", "who"), [(0o600, None), (0o400, None), (0o640, "the group"), (0o644, "the group and others"),
                                           (0o666, "the group and others"), (0o604, "others"), (0o620, "the group")])
def test_key_files_must_be_owner_only(tmp_path: Path, sa_key_json: bytes, kind: str, mode: int, who: str | None) -> None:
    path = _write_key(tmp_path, kind, mode, sa_key_json)
    if who is None:
        assert KINDS[kind](path, "refuse") is not None
        return
    with pytest.raises(ConfigError) as info:
        KINDS[kind](path, "refuse")
    assert str(info.value) == (f"{path}: {'service account key file' if kind in ('service account', 'remediation') else 'key file'}"
                               f" is accessible to {who} (mode {mode:04o}); make it owner-only: chmod 600 {path} "
                               '(or set [keys] loose_permissions = "warn")')


@pytest.mark.parametrize("kind", list(KINDS))
def test_loose_key_files_can_be_downgraded_to_a_warning(tmp_path: Path, sa_key_json: bytes, kind: str,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    path = _write_key(tmp_path, kind, 0o644, sa_key_json)
    with caplog.at_level("WARNING", logger="scanner.keys"):
        assert KINDS[kind](path, "warn") is not None
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}: {'service account key file' if kind in ('service account', 'remediation') else 'key file'} is "
        f"accessible to the group and others (mode 0644); make it owner-only: chmod 600 {path}"]


def test_a_loose_evidence_key_stops_the_command_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from scanner.cli.main import main

    key = tmp_path / "evidence.key"
    key.write_text("ab" * 32 + "\n")
    key.chmod(0o644)
    config = tmp_path / "sharescan.toml"
    config.write_text('[detect]\nnlp = "pattern-only"\nkey_file = "evidence.key"\n')
    doc = tmp_path / "notes.txt"
    doc.write_text("nothing here")
    with pytest.raises(SystemExit) as exit_info:
        main(["--config", str(config), "classify", str(doc)])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: {key}: key file is accessible to the group and others (mode 0644); make it owner-only: "
        f'chmod 600 {key} (or set [keys] loose_permissions = "warn")']
