"""SMTP over TLS for real: a local server with generated certificates, STARTTLS and SMTPS.

A server whose certificate is for another name, or not signed by a trusted CA, never sees the login
nor a digest; with the right name and the CA file configured, the digest is delivered.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import socketserver
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from scanner.config import Settings
from scanner.notify.senders import SendError, SmtpSender

PASSWORD = "hunter2-smtp-password"  # noqa: S105 - a test fixture's password


# --------------------------------------------------------------------------- certificates


@dataclass(frozen=True)
class Pki:
    ca: Path  # the CA certificate (what ca_file points at)
    right: tuple[Path, Path]  # cert + key for 127.0.0.1, signed by the CA
    other_name: tuple[Path, Path]  # cert + key for mail.other.example, signed by the CA
    self_signed: tuple[Path, Path]  # cert + key for 127.0.0.1, signed by nobody we trust


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject: str, sans: list[x509.GeneralName], key: Any, issuer: str, signer: Any, ca: bool) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if ca:
        builder = builder.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                      content_commitment=False, key_encipherment=False,
                                                      data_encipherment=False, key_agreement=False,
                                                      encipher_only=False, decipher_only=False), critical=True)
    return builder.sign(signer, hashes.SHA256())


def _write(tmp: Path, stem: str, cert: x509.Certificate, key: Any) -> tuple[Path, Path]:
    cert_path, key_path = tmp / f"{stem}.pem", tmp / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    tmp = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("sharescan test CA", [], ca_key, "sharescan test CA", ca_key, ca=True)
    ca_path, _ = _write(tmp, "ca", ca, ca_key)
    loopback = [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    right_key, other_key, self_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    return Pki(
        ca=ca_path,
        right=_write(tmp, "right", _cert("127.0.0.1", loopback, right_key, "sharescan test CA", ca_key, False),
                     right_key),
        other_name=_write(tmp, "other", _cert("mail.other.example", [x509.DNSName("mail.other.example")], other_key,
                                              "sharescan test CA", ca_key, False), other_key),
        self_signed=_write(tmp, "self", _cert("127.0.0.1", loopback, self_key, "127.0.0.1", self_key, False),
                           self_key),
    )


# --------------------------------------------------------------------------- a TLS-capable SMTP server


class _Handler(socketserver.StreamRequestHandler):
    """EHLO (STARTTLS and AUTH PLAIN offered), STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA, QUIT."""

    server: TlsSmtpServer

    def setup(self) -> None:
        if self.server.implicit:
            self.request = self.server.context.wrap_socket(self.request, server_side=True)
        super().setup()

    def _reply(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())

    def handle(self) -> None:
        tls = self.server.implicit
        self._reply("220 test ESMTP")
        while True:
            line = self.rfile.readline().decode(errors="replace").strip()
            verb = line[:8].upper()
            if not line or verb.startswith("QUIT"):
                self._reply("221 bye")
                return
            if verb.startswith(("EHLO", "HELO")):
                offers = (["STARTTLS"] if self.server.offer_starttls and not tls else []) + ["AUTH PLAIN"]
                for offer in ["test", *offers[:-1]]:
                    self._reply(f"250-{offer}")
                self._reply(f"250 {offers[-1]}")
            elif verb.startswith("STARTTLS"):
                self._reply("220 go ahead")
                self.connection = self.server.context.wrap_socket(self.connection, server_side=True)
                self.rfile = self.connection.makefile("rb")
                self.wfile = self.connection.makefile("wb", buffering=0)
                tls = True
            elif verb.startswith("AUTH"):
                _, user, password = base64.b64decode(line.split()[-1]).decode().split("\0")
                self.server.logins.append((user, password, tls))
                self._reply("235 ok")
            elif verb.startswith("DATA"):
                self._reply("354 go")
                data = []
                while (chunk := self.rfile.readline().decode(errors="replace")) not in (".\r\n", ""):
                    data.append(chunk)
                self.server.messages.append(("".join(data), tls))
                self._reply("250 queued")
            else:
                self._reply("250 ok")


class TlsSmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, cert: tuple[Path, Path], *, implicit: bool, offer_starttls: bool = True) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(*cert)
        self.implicit = implicit
        self.offer_starttls = offer_starttls
        self.logins: list[tuple[str, str, bool]] = []
        self.messages: list[tuple[str, bool]] = []

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # a client that refuses our certificate ends the handshake: expected here


@pytest.fixture()
def serve() -> Iterator[Any]:
    servers: list[TlsSmtpServer] = []

    def start(cert: tuple[Path, Path], **kw: Any) -> TlsSmtpServer:
        server = TlsSmtpServer(cert, **kw)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _sender(server: TlsSmtpServer, security: str, ca_file: Path | None) -> SmtpSender:
    settings = Settings.model_validate({"notifications": {"smtp": {
        "host": "127.0.0.1", "port": server.server_address[1], "security": security,
        "ca_file": str(ca_file) if ca_file else "", "username": "sharescan", "sender": "sharescan@tessera-labs.com",
        "timeout_seconds": 10}}})
    return SmtpSender(settings.notifications.smtp)


@pytest.mark.parametrize("security", ["starttls", "tls"])
@pytest.mark.parametrize(("cert", "trust_ca", "error"), [
    ("other_name", True, "certificate verify failed: IP address mismatch"),
    ("self_signed", False, "certificate verify failed: self-signed certificate"),
    ("right", False, "certificate verify failed: unable to get local issuer certificate"),
    ("right", True, None),
])
def test_the_server_certificate_and_name_are_verified(pki: Pki, serve: Any, monkeypatch: pytest.MonkeyPatch,
                                                      security: str, cert: str, trust_ca: bool,
                                                      error: str | None) -> None:
    monkeypatch.setenv("SHARESCAN_SMTP_PASSWORD", PASSWORD)
    server = serve(getattr(pki, cert), implicit=security == "tls")
    sender = _sender(server, security, pki.ca if trust_ca else None)
    if error is None:
        sender.send("maya@tessera-labs.com", "[sharescan] 1 of your files", "body\n")
        assert server.logins == [("sharescan", PASSWORD, True)]
        assert [tls for _, tls in server.messages] == [True]
        return
    with pytest.raises(SendError) as info:
        sender.send("maya@tessera-labs.com", "[sharescan] 1 of your files", "body\n")
    assert str(info.value).startswith("smtp: SSLCertVerificationError: ") and error in str(info.value)
    assert (server.logins, server.messages) == ([], [])  # neither the password nor the digest went out


def test_a_server_without_starttls_is_refused_not_used_in_clear(pki: Pki, serve: Any,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHARESCAN_SMTP_PASSWORD", PASSWORD)
    server = serve(pki.right, implicit=False, offer_starttls=False)
    with pytest.raises(SendError, match="^smtp: SMTPNotSupportedError: STARTTLS extension not supported"):
        _sender(server, "starttls", pki.ca).send("maya@tessera-labs.com", "s", "b\n")
    assert (server.logins, server.messages) == ([], [])
