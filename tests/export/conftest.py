from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from scanner.config import Settings
from tests.export.factory import Story, build


@pytest.fixture
def story(sessions: sessionmaker[Session]) -> Story:
    with sessions.begin() as s:
        return build(s)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings().with_overrides(export={"signing_key_file": str(tmp_path / "keys" / "export-signing.key")})
