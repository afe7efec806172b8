"""Installation keys: created once with mode 0600, reused, and a broken key file is a clear error."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from scanner.errors import ConfigError
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
    with pytest.raises(ConfigError) as info:
        load_key(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)
