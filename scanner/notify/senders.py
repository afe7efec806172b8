"""Channels: SMTP (smtplib) and a Slack-compatible webhook (urllib). Each raises on failure."""

from __future__ import annotations

import json
import os
import smtplib
import urllib.error
import urllib.request
from email.message import EmailMessage
from typing import Protocol

from scanner.config import SmtpSettings
from scanner.notify.templates import webhook_payload


class SendError(Exception):
    """Sending failed; the message stays in the outbox."""


class Sender(Protocol):
    def send(self, recipient: str, subject: str, body: str) -> None: ...


class SmtpSender:
    def __init__(self, settings: SmtpSettings, *, cc: list[str] | None = None, timeout: float = 30.0) -> None:
        self.settings = settings
        self.cc = list(cc or [])
        self.timeout = timeout

    def send(self, recipient: str, subject: str, body: str) -> None:
        s = self.settings
        if not s.host or not s.sender:
            raise SendError("[notifications.smtp] host and sender are required")
        msg = EmailMessage()
        msg["From"] = s.sender
        msg["To"] = recipient
        if self.cc:
            msg["Cc"] = ", ".join(self.cc)
        msg["Subject"] = subject
        msg.set_content(body)
        try:
            with smtplib.SMTP(s.host, s.port, timeout=self.timeout) as smtp:
                if s.starttls:
                    smtp.starttls()
                if s.username:
                    smtp.login(s.username, os.environ.get(s.password_env, ""))
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            raise SendError(f"smtp: {type(exc).__name__}: {exc}") from exc


class WebhookSender:
    def __init__(self, url: str, *, timeout: float = 15.0) -> None:
        self.url = url
        self.timeout = timeout

    def send(self, recipient: str, subject: str, body: str) -> None:
        if not self.url:
            raise SendError("[notifications.webhook] url is required")
        data = json.dumps(webhook_payload(subject, body)).encode()
        if not self.url.startswith(("http://", "https://")):
            raise SendError("[notifications.webhook] url must be http(s)")
        request = urllib.request.Request(self.url, data=data, method="POST",  # noqa: S310 - http(s) only
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - configured URL
                if response.status >= 300:
                    raise SendError(f"webhook: HTTP {response.status}")
        except urllib.error.HTTPError as exc:
            raise SendError(f"webhook: HTTP {exc.code}") from exc
        except (OSError, urllib.error.URLError) as exc:
            raise SendError(f"webhook: {type(exc).__name__}: {exc}") from exc
