"""Hostile file names through the owner digests: e-mail and Slack-format webhook, delivered for real.

A file name is chosen by whoever shares the file. In a Slack-format message it must not ping a
channel (``<!channel>``), show a fake link (``<https://…|text>``) or forge a line; in every message
a right-to-left override must not disguise ``invoice\u202etxt.exe`` as ``invoiceexe.txt``.
"""

from __future__ import annotations

import email
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from scanner.config import Settings
from scanner.notify.deliver import Deliverer
from scanner.notify.outbox import Outbox
from scanner.notify.senders import SendError, WebhookSender
from tests.notify.test_deliver import ITEM, SmtpServer, settings_for

HOSTILE = [
    "<!channel> urgent: open this",
    "<https://evil.example/login|Payroll 2026.xlsx>",
    "roster.csv\n* all files are fine, nothing to do",
    "invoice\u202etxt.exe",
    "R&D <draft> notes",
]


def _deliver(sessions: sessionmaker[Session], settings: Settings) -> None:
    with sessions() as s:
        box = Outbox(s, settings)
        for i, name in enumerate(HOSTILE, start=1):
            box.add(batch="run:9", run_id=None, owner="maya@tessera-labs.com",
                    item={**ITEM, "finding_id": i, "file_name": name,
                          "changes": [f"removed {name} (writer access)"], "shared_drive": None})
        s.commit()
        report = Deliverer(settings).deliver(s)
        assert not report.failed and not report.retrying


def test_webhook_text_is_escaped_flattened_and_mention_free(sessions: sessionmaker[Session], smtp: SmtpServer,
                                                            webhook: Any) -> None:
    _deliver(sessions, settings_for(smtp, webhook, channels=["webhook"]))
    [hook] = webhook.received
    text = hook["text"]
    lines = text.split("\n")
    assert [line for line in lines if line.startswith("* ")] == [
        "* &lt;!channel&gt; urgent: open this",
        "* &lt;https://evil.example/login|Payroll 2026.xlsx&gt;",
        "* roster.csv * all files are fine, nothing to do",
        "* invoice<U+202E>txt.exe".replace("<", "&lt;").replace(">", "&gt;"),
        "* R&amp;D &lt;draft&gt; notes",
    ]
    assert "  changed: removed &lt;!channel&gt; urgent: open this (writer access)" in lines
    # nothing Slack would parse as markup survives, and no invisible direction change
    assert "<" not in text and ">" not in text and "\u202e" not in text
    assert text.count("&") == text.count("&amp;") + text.count("&lt;") + text.count("&gt;")


def test_email_shows_what_the_names_really_are(sessions: sessionmaker[Session], smtp: SmtpServer,
                                               webhook: Any) -> None:
    _deliver(sessions, settings_for(smtp, webhook, channels=["smtp"]))
    [(_rcpts, data)] = smtp.messages
    body = email.message_from_string(data).get_payload(decode=True).decode()
    bullets = [line for line in body.splitlines() if line.startswith("* ")]
    assert bullets == [
        "* <!channel> urgent: open this",  # plain text: no markup to escape, but on one line
        "* <https://evil.example/login|Payroll 2026.xlsx>",
        "* roster.csv * all files are fine, nothing to do",
        "* invoice<U+202E>txt.exe",
        "* R&D <draft> notes",
    ]
    assert "\u202e" not in body


class _Redirect(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        server: Any = self.server
        server.hits += 1
        self.send_response(307)
        self.send_header("Location", server.target)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def redirecting(webhook: Any) -> Iterator[Any]:
    server: Any = HTTPServer(("127.0.0.1", 0), _Redirect)
    server.hits, server.target = 0, f"http://127.0.0.1:{webhook.server_address[1]}/elsewhere"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_webhook_follows_no_redirect(redirecting: Any, webhook: Any) -> None:
    settings = Settings.model_validate({"notifications": {"webhook": {
        "url": f"http://127.0.0.1:{redirecting.server_address[1]}/hook"}}})
    with pytest.raises(SendError, match="^webhook: HTTP 307$"):
        WebhookSender(settings.notifications.webhook).send("maya@tessera-labs.com", "s", "b")
    assert (redirecting.hits, webhook.received) == (1, [])
