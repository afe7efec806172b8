"""Channels: SMTP (smtplib) and a Slack-compatible webhook (urllib). Each raises on failure.

Transport security: SMTP is STARTTLS (refused when the server does not offer it) or SMTPS, always with
a verifying ``ssl.create_default_context()`` (the server's certificate chain and its name;
``ca_file`` for a private CA); a login is only ever sent inside TLS (the configuration refuses a
username with ``security = "none"``). The webhook verifies HTTPS certificates (urllib's default) and
follows no redirect (the digest would go wherever a redirect points).
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from typing import Any, Protocol

from scanner.config import SmtpSettings, WebhookSettings
from scanner.notify.templates import webhook_payload


class SendError(Exception):
    """Sending failed; the message stays in the outbox."""


class Sender(Protocol):
    def send(self, recipient: str, subject: str, body: str) -> None: ...


class SmtpSender:
    def __init__(self, settings: SmtpSettings, *, cc: list[str] | None = None) -> None:
        self.settings = settings
        self.cc = list(cc or [])

    def tls_context(self) -> ssl.SSLContext:
        """Certificate chain and host name verified; the system's CAs, or only ``ca_file``'s."""
        return ssl.create_default_context(cafile=self.settings.ca_file or None)

    def send(self, recipient: str, subject: str, body: str) -> None:
        s = self.settings
        if not s.host or not s.sender:
            raise SendError("[notifications.smtp] host and sender are required")
        password = ""
        if s.username:
            if s.security == "none":  # the configuration refuses this; never send a password in clear
                raise SendError("smtp: a login needs TLS ([notifications.smtp] security)")
            password = os.environ.get(s.password_env, "")
            if not password:
                raise SendError(f"smtp: the password for {s.username} is not set (environment variable "
                                f"{s.password_env})")
        msg = EmailMessage()
        msg["From"] = s.sender
        msg["To"] = recipient
        if self.cc:
            msg["Cc"] = ", ".join(self.cc)
        msg["Subject"] = subject
        msg.set_content(body)
        try:
            smtp: smtplib.SMTP
            if s.security == "tls":
                smtp = smtplib.SMTP_SSL(s.host, s.effective_port, timeout=s.timeout_seconds,
                                        context=self.tls_context())
            else:
                smtp = smtplib.SMTP(s.host, s.effective_port, timeout=s.timeout_seconds)
            with smtp:
                if s.security == "starttls":
                    smtp.starttls(context=self.tls_context())  # SMTPNotSupportedError if not offered
                if s.username:
                    smtp.login(s.username, password)
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            raise SendError(f"smtp: {type(exc).__name__}: {exc}") from exc


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        return None  # urllib then raises HTTPError for the 3xx


class WebhookSender:
    def __init__(self, settings: WebhookSettings) -> None:
        self.settings = settings
        self._opener = urllib.request.build_opener(_NoRedirect)

    def send(self, recipient: str, subject: str, body: str) -> None:
        url = self.settings.url
        if not url:
            raise SendError("[notifications.webhook] url is required")
        if not url.startswith(("http://", "https://")):
            raise SendError("[notifications.webhook] url must be http(s)")
        data = json.dumps(webhook_payload(subject, body)).encode()
        request = urllib.request.Request(url, data=data, method="POST",  # noqa: S310 - http(s) only
                                         headers={"Content-Type": "application/json"})
        try:
            with self._opener.open(request, timeout=self.settings.timeout_seconds) as response:
                if response.status >= 300:
                    raise SendError(f"webhook: HTTP {response.status}")
        except urllib.error.HTTPError as exc:
            raise SendError(f"webhook: HTTP {exc.code}") from exc
        except (OSError, urllib.error.URLError) as exc:
            raise SendError(f"webhook: {type(exc).__name__}: {exc}") from exc
