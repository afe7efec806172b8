"""Batch requests (multipart/mixed of application/http parts), answered like Google's batch endpoint.

A part fails on its own, as with Google: an error in one inner call is that part's response, and a
backend call that is dropped (the ``drop`` fault) answers its part with 503 backendError instead of
closing the batch's connection (which would fail, and make the client re-send, every part).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from email.parser import BytesParser
from email.policy import compat32
from http import HTTPStatus

from .errors import ApiError, DropConnection, bad_request
from .faults import FAULT_KINDS
from .handlers.common import Request, Response

MAX_CALLS = 100


def parse_parts(content_type: str, body: bytes) -> list[tuple[str | None, Request]]:
    """Split a batch body into (Content-ID, inner request) pairs."""
    if "multipart/" not in content_type.lower():
        raise bad_request("Batch requests must use multipart/mixed.")
    message = BytesParser(policy=compat32).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    if not message.is_multipart():
        raise bad_request("Invalid multipart request.")
    parts: list[tuple[str | None, Request]] = []
    payloads = message.get_payload()
    assert isinstance(payloads, list)
    for part in payloads:
        if isinstance(part, str):
            continue
        raw = part.get_payload(decode=False)
        text = raw if isinstance(raw, str) else str(raw)
        parts.append((part.get("Content-ID"), _parse_http(text)))
    return parts


def _parse_http(text: str) -> Request:
    text = text.replace("\r\n", "\n")
    head, _, body = text.partition("\n\n")
    lines = head.strip("\n").split("\n")
    try:
        method, target, _version = lines[0].split(" ", 2)
    except ValueError as exc:
        raise bad_request("Invalid batch part request line.") from exc
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return Request.build(method, target, headers, body.encode())


def _response_id(content_id: str | None) -> str:
    if not content_id:
        return "<response-item>"
    inner = content_id.strip()
    if inner.startswith("<") and inner.endswith(">"):
        inner = inner[1:-1]
    return f"<response-{inner}>"


def _dropped_part() -> Response:
    status, reason, message, domain = FAULT_KINDS["503"]
    err = ApiError(status, reason, message, domain=domain)
    return Response(err.code, err.payload(), {"Content-Type": "application/json; charset=UTF-8"})


def execute(content_type: str, body: bytes, dispatch: Callable[[Request], Response]) -> Response:
    parts = parse_parts(content_type, body)
    if len(parts) > MAX_CALLS:
        raise ApiError(400, "batchSizeTooLarge", f"A batch request cannot contain more than {MAX_CALLS} "
                                                 "requests.")
    boundary = "batch_" + secrets.token_hex(12)
    out = bytearray()
    for content_id, request in parts:
        try:
            response = dispatch(request)
        except DropConnection:
            response = _dropped_part()
        phrase = HTTPStatus(response.status).phrase if response.status in HTTPStatus._value2member_map_ else ""
        out += (f"--{boundary}\r\nContent-Type: application/http\r\n"
                f"Content-ID: {_response_id(content_id)}\r\n\r\n").encode()
        out += f"HTTP/1.1 {response.status} {phrase}\r\n".encode()
        headers = dict(response.headers)
        headers.setdefault("Content-Type", "application/json; charset=UTF-8")
        headers["Vary"] = "Origin, X-Origin, Referer"
        headers["Content-Length"] = str(len(response.body))
        for name, value in headers.items():
            out += f"{name}: {value}\r\n".encode()
        out += b"\r\n" + response.body + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return Response(200, bytes(out), {"Content-Type": f"multipart/mixed; boundary={boundary}"})
