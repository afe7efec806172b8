"""Outbox delivery over a local SMTP server and a local webhook receiver (real sockets on 127.0.0.1)."""

from __future__ import annotations

import datetime as dt
import json
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scanner.config import Settings
from scanner.notify.deliver import Deliverer
from scanner.notify.outbox import Outbox
from scanner.store.models import AuditEvent, Notification


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) for smtplib: EHLO, MAIL, RCPT, DATA, QUIT."""

    def _reply(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())

    def handle(self) -> None:
        server: Any = self.server
        self._reply("220 test ESMTP")
        rcpts: list[str] = []
        while True:
            line = self.rfile.readline().decode(errors="replace").strip()
            verb = line[:4].upper()
            if not line or verb == "QUIT":
                self._reply("221 bye")
                return
            if verb in ("EHLO", "HELO"):
                self._reply("250 test")
            elif verb == "MAIL":
                rcpts = []
                self._reply("250 ok")
            elif verb == "RCPT":
                if server.fail:
                    self._reply("451 try again later")
                    continue
                rcpts.append(line.split(":", 1)[1].strip(" <>"))
                self._reply("250 ok")
            elif verb == "DATA":
                self._reply("354 go")
                data = []
                while (chunk := self.rfile.readline().decode(errors="replace")) not in (".\r\n", ""):
                    data.append(chunk)
                server.messages.append((rcpts, "".join(data)))
                self._reply("250 queued")
            else:
                self._reply("250 ok")


class SmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.messages: list[tuple[list[str], str]] = []
        self.fail = False


@pytest.fixture()
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        server: Any = self.server
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server.received.append(json.loads(body))
        self.send_response(server.status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def webhook() -> Iterator[Any]:
    server: Any = HTTPServer(("127.0.0.1", 0), _Hook)
    server.received, server.status = [], 200
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


ITEM = {"finding_id": 1, "file_id": "F1", "file_name": "contractor_contacts.csv", "link": "https://x/F1",
        "rule_title": "Publicly reachable file holds contractor personal data", "severity": "critical",
        "categories": ["contractor_pii"], "detectors": {"contractor_roster": 8},
        "changes": ["removed anyone with the link (reader access)"], "pending": []}


def settings_for(smtp: SmtpServer, webhook: Any, **notifications: Any) -> Settings:
    return Settings.model_validate({"notifications": {
        "channels": ["smtp", "webhook"], "max_attempts": 2, "cc": ["security@tessera-labs.com"],
        "smtp": {"host": "127.0.0.1", "port": smtp.server_address[1], "starttls": False,
                 "sender": "sharescan@tessera-labs.com"},
        "webhook": {"url": f"http://127.0.0.1:{webhook.server_address[1]}/hook"}, **notifications}})


def test_digest_per_owner_and_delivery(sessions: sessionmaker[Session], smtp: SmtpServer, webhook: Any) -> None:
    settings = settings_for(smtp, webhook)
    with sessions() as s:
        box = Outbox(s, settings)
        box.add(batch="run:7", run_id=None, owner="maya@tessera-labs.com", item=ITEM)
        box.add(batch="run:7", run_id=None, owner="maya@tessera-labs.com", item={**ITEM, "finding_id": 2,
                                                                                  "file_name": "rates.xlsx"})
        box.add(batch="run:7", run_id=None, owner="maya@tessera-labs.com", item=ITEM)  # same finding: replaced
        s.commit()
        rows = s.scalars(select(Notification)).all()
        assert [(n.channel, n.recipient, len(n.payload["items"])) for n in rows] == [
            ("smtp", "maya@tessera-labs.com", 2), ("webhook", "maya@tessera-labs.com", 2)]
        assert rows[0].subject == "[sharescan] Sharing changed on 2 of your files"
        report = Deliverer(settings).deliver(s)
        assert sorted(report.sent) == [r.id for r in rows]
    [(rcpts, data)] = smtp.messages
    assert rcpts == ["maya@tessera-labs.com", "security@tessera-labs.com"]
    assert "contractor_contacts.csv" in data and "removed anyone with the link" in data
    [hook] = webhook.received
    assert hook["text"].startswith("*[sharescan] Sharing changed on 2 of your files*")
    with sessions() as s:
        assert [e.event_type for e in s.scalars(select(AuditEvent))] == ["notification.sent"] * 2
        assert Deliverer(settings).deliver(s).sent == []  # nothing sent twice


def test_failures_are_retried_with_backoff_never_lost(sessions: sessionmaker[Session], smtp: SmtpServer,
                                                      webhook: Any) -> None:
    settings = settings_for(smtp, webhook, channels=["smtp"])
    now = [dt.datetime(2026, 3, 1, tzinfo=dt.UTC)]
    deliverer = Deliverer(settings, clock=lambda: now[0])
    smtp.fail = True
    with sessions() as s:
        Outbox(s, settings).add(batch="run:1", run_id=None, owner="liam@tessera-labs.com", item=ITEM)
        s.commit()
        assert deliverer.deliver(s).retrying == [1]
        row = s.get_one(Notification, 1)
        assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, now[0] + dt.timedelta(seconds=60))
        assert "451" in (row.last_error or "")
        assert deliverer.deliver(s).retrying == []  # not due yet
        now[0] += dt.timedelta(minutes=2)
        assert deliverer.deliver(s).failed == [1]
        assert (row.status, row.attempts) == ("failed", 2)
        smtp.fail = False
        assert deliverer.deliver(s).sent == []  # failed ones wait for an explicit retry
        assert deliverer.deliver(s, retry_failed=True).sent == [1]
        assert (row.status, row.last_error) == ("sent", None)
    assert len(smtp.messages) == 1


@pytest.mark.parametrize(("cc", "expected"), [(["security@tessera-labs.com"], "security@tessera-labs.com"),
                                               ([], "admin@tessera-labs.com")])
def test_a_suspended_owners_digest_goes_to_the_security_contact(sessions: sessionmaker[Session], cc: list[str],
                                                                 expected: str) -> None:
    from scanner.store.snapshot import upsert_target

    settings = Settings.model_validate({"google": {"admin_subject": "admin@tessera-labs.com"},
                                        "notifications": {"channels": ["webhook"], "cc": cc,
                                                          "webhook": {"url": "https://hooks.example.org/x"}}})
    with sessions() as s:
        upsert_target(s, "user", "sam@tessera-labs.com", "sam@tessera-labs.com", active=False, skip_reason="suspended")
        upsert_target(s, "user", "maya@tessera-labs.com", "maya@tessera-labs.com")
        box = Outbox(s, settings)
        box.add(batch="run:1", run_id=None, owner="sam@tessera-labs.com", item=ITEM)
        box.add(batch="run:1", run_id=None, owner="maya@tessera-labs.com", item={**ITEM, "finding_id": 2})
        s.commit()
        rows = {n.recipient: n for n in s.scalars(select(Notification))}
    assert set(rows) == {expected, "maya@tessera-labs.com"}
    body = rows[expected].body
    assert body.startswith(f"Hello {expected},")
    assert "owners of these files are suspended or archived and cannot act on it: sam@tessera-labs.com" in body
    assert "  owner: sam@tessera-labs.com" in body
    assert "suspended" not in rows["maya@tessera-labs.com"].body


def test_a_shared_drive_items_notice_goes_to_the_security_contact_naming_the_drive(
    sessions: sessionmaker[Session],
) -> None:
    settings = Settings.model_validate({"google": {"admin_subject": "admin@tessera-labs.com"},
                                        "notifications": {"channels": ["webhook"], "cc": ["sec@tessera-labs.com"],
                                                          "webhook": {"url": "https://hooks.example.org/x"}}})
    with sessions() as s:
        Outbox(s, settings).add(batch="run:1", run_id=None, owner="", item=ITEM, shared_drive='"Client Delivery"')
        s.commit()
        [row] = s.scalars(select(Notification)).all()
    assert row.recipient == "sec@tessera-labs.com"
    assert 'files in shared drives have no owner ("Client Delivery")' in row.body
    assert '  shared drive: "Client Delivery"' in row.body
    assert "suspended" not in row.body
    assert row.subject == "[sharescan] Sharing changed on 1 file (security contact)"
