"""``sharescan notify list|deliver`` against a local SMTP server: an operator flushes the outbox after a fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session, sessionmaker

from scanner.cli.notify import DeliveryFailed, notify
from scanner.config import Settings
from scanner.notify.outbox import Outbox
from tests.notify.test_deliver import ITEM, SmtpServer


@pytest.fixture()
def config(sqlite_url: str, smtp: SmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    path = tmp_path / "sharescan.toml"
    path.write_text(f"""
[database]
url = "{sqlite_url}"
[notifications]
channels = ["smtp"]
max_attempts = 1
[notifications.smtp]
host = "127.0.0.1"
port = {smtp.server_address[1]}
starttls = false
sender = "sharescan@tessera-labs.com"
""")
    monkeypatch.setenv("SHARESCAN_CONFIG", str(path))
    return sqlite_url


def run(*args: str) -> str:
    result = CliRunner().invoke(notify, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def listed(*args: str) -> list[tuple[int, str, str, int]]:
    return [(r["id"], r["recipient"], r["status"], r["attempts"])
            for r in json.loads(run("list", "--format", "json", *args))]


def test_list_and_flush_after_fixing_smtp(config: str, smtp: SmtpServer) -> None:
    from scanner.store.db import make_engine, make_sessionmaker

    engine = make_engine(config)
    sessions: sessionmaker[Session] = make_sessionmaker(engine)
    settings = Settings.model_validate({"notifications": {"channels": ["smtp"], "smtp": {
        "host": "127.0.0.1", "sender": "sharescan@tessera-labs.com"}}})
    with sessions() as s:
        box = Outbox(s, settings)
        box.add(batch="run:1", run_id=None, owner="maya.chen@tessera-labs.com", item=ITEM)
        box.add(batch="run:1", run_id=None, owner="liam.novak@tessera-labs.com", item=ITEM)
        s.commit()
    engine.dispose()
    assert "notifications" in run("list")  # the rich table
    assert listed("--status", "pending") == [(1, "maya.chen@tessera-labs.com", "pending", 0),
                                             (2, "liam.novak@tessera-labs.com", "pending", 0)]

    smtp.fail = True
    result = CliRunner().invoke(notify, ["deliver"])
    assert isinstance(result.exception, DeliveryFailed) and result.exception.exit_code == 1
    assert result.output == "sent 0, retrying later 0, failed 2\n"
    assert "sharescan notify deliver --retry-failed" in str(result.exception)
    assert listed("--status", "failed") == [(1, "maya.chen@tessera-labs.com", "failed", 1),
                                            (2, "liam.novak@tessera-labs.com", "failed", 1)]
    failed = json.loads(run("list", "--status", "failed", "--format", "json"))
    assert failed[0]["last_error"].startswith("smtp: SMTPRecipientsRefused")
    assert "body" not in failed[0]

    smtp.fail = False
    assert run("deliver") == "sent 0, retrying later 0, failed 0\n"  # failed ones wait for --retry-failed
    assert run("deliver", "--retry-failed") == "sent 2, retrying later 0, failed 0\n"
    assert [rcpts for rcpts, _ in smtp.messages] == [["maya.chen@tessera-labs.com"], ["liam.novak@tessera-labs.com"]]
    assert listed("--status", "pending", "--status", "failed") == []
    csv_out = run("list", "--status", "sent", "--format", "csv").splitlines()
    assert csv_out[0] == ("id,created_at,run_id,channel,recipient,status,attempts,items,subject,last_error,"
                          "next_attempt_at,sent_at")  # the same fields as JSON
    assert len(csv_out) == 3
