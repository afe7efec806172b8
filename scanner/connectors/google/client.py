"""Google API clients: service-account credentials with domain-wide delegation, Drive v3 and
Admin SDK Directory resources built from googleapiclient's bundled static discovery documents,
and one retry/quota policy for every call.

Emulator mode (``settings.google.endpoint`` / ``$SHARESCAN_GOOGLE_ENDPOINT``): the same
discovery documents with ``rootUrl`` rewritten to the endpoint, so base, batch and upload URLs
all go there, an ``httplib2.Http(proxy_info=None)`` transport (httplib2 would otherwise honour
``http_proxy`` even for 127.0.0.1) and the OAuth token endpoint ``{endpoint}/token``.

Thread safety: ``httplib2.Http`` is not thread-safe, so every call runs on a transport owned by
the calling thread (the request's own credentials are re-wrapped around it). Resources and
credentials are cached per (subject, scopes) inside the object; nothing is global.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import random
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email.feedparser import FeedParser
from email.message import Message
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import google_auth_httplib2
import httplib2
from google.auth import exceptions as auth_exceptions
from google.oauth2 import service_account
from googleapiclient import _auth
from googleapiclient.discovery import Resource, build_from_document, fix_method_name
from googleapiclient.errors import BatchError, HttpError
from googleapiclient.http import BatchHttpRequest, HttpRequest

from scanner.config import Settings
from scanner.connectors.google.hints import http_hint, is_connection_refused, refresh_hint, refused_hint
from scanner.connectors.google.quota import Bucket, QuotaPacer, budget_for, ledger_method, method_cost
from scanner.core.errors import ConfigError, GoogleApiError
from scanner.keys import read_key_file

log = logging.getLogger(__name__)

SCOPE = "https://www.googleapis.com/auth/"
DRIVE_READ_SCOPES = (SCOPE + "drive.readonly", SCOPE + "drive.metadata.readonly")
DRIVE_WRITE_SCOPES = (SCOPE + "drive",)
DIRECTORY_SCOPES = (SCOPE + "admin.directory.user.readonly", SCOPE + "admin.directory.domain.readonly")
DIRECTORY_GROUP_SCOPE = SCOPE + "admin.directory.group.member.readonly"
REPORTS_AUDIT_SCOPE = SCOPE + "admin.reports.audit.readonly"
#: Drive sharing posture (optional): the Cloud Identity Policy API and the org units its policies name.
POLICY_SCOPE = SCOPE + "cloud-identity.policies.readonly"
ORGUNIT_SCOPE = SCOPE + "admin.directory.orgunit.readonly"

DRIVE_DOC = "drive.v3"
DIRECTORY_DOC = "admin.directory_v1"
REPORTS_DOC = "admin.reports_v1"
CLOUD_IDENTITY_DOC = "cloudidentity.v1"

#: Drive accepts at most 100 calls per batch request.
MAX_BATCH = 100
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 64.0
RETRY_AFTER_CAP_SECONDS = 300.0


class GoogleCallError(GoogleApiError):
    """A Google API call failed (after retries when the failure was transient)."""

    def __init__(self, message: str, *, status: int | None, reason: str, method: str = "",
                 timed_out: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.method = method
        #: The connection timed out ([google] http_timeout_seconds), after retries.
        self.timed_out = timed_out


@dataclass
class CallTally:
    """API calls made on behalf of one unit of work (e.g. one crawl target). Thread-safe."""

    calls: int = 0
    retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, calls: int = 0, retries: int = 0) -> None:
        with self._lock:
            self.calls += calls
            self.retries += retries


@dataclass
class CallStats:
    """Every API call made through one GoogleClients (each HTTP attempt and each batch part): the
    run's quota ledger (calls and quota units per method, downloads apart as ``drive.files.get[media]``)."""

    calls: int = 0
    retries: int = 0
    units: int = 0
    by_method: Counter[str] = field(default_factory=Counter)
    units_by_method: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, method: str, calls: int, units: int, retries: int = 0) -> None:
        with self._lock:
            self.calls += calls
            self.units += units
            self.retries += retries
            self.by_method[method] += calls
            self.units_by_method[method] += units


@dataclass(frozen=True)
class BatchResult:
    """One part of a batch: the parsed response or the error it ended with."""

    response: Any = None
    error: GoogleCallError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def load_discovery(name: str, endpoint: str = "") -> dict[str, Any]:
    """The bundled static discovery document, with every root URL pointed at ``endpoint``."""
    ref = resources.files("googleapiclient").joinpath(f"discovery_cache/documents/{name}.json")
    doc: dict[str, Any] = json.loads(ref.read_text(encoding="utf-8"))
    if endpoint:
        root = endpoint.rstrip("/") + "/"
        doc["rootUrl"] = root
        doc["mtlsRootUrl"] = root
        doc["baseUrl"] = root + doc.get("servicePath", "")
    return doc


def error_reason(exc: HttpError) -> str:
    """The Google error reason (``rateLimitExceeded``, ``notFound``...) of an HttpError."""
    try:
        body = json.loads(exc.content.decode("utf-8") if isinstance(exc.content, bytes) else exc.content)
    except (ValueError, UnicodeDecodeError, AttributeError):
        return ""
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        errors = err.get("errors") or []
        if errors and isinstance(errors[0], dict) and errors[0].get("reason"):
            return str(errors[0]["reason"])
        for detail in err.get("details") or []:
            if isinstance(detail, dict) and detail.get("reason"):
                return str(detail["reason"])
        return str(err.get("status") or "")
    if isinstance(err, str):  # OAuth-style {"error": "invalid_grant"}
        return err
    return ""


def _retry_after(exc: HttpError) -> float | None:
    value = exc.resp.get("retry-after") if exc.resp is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (ValueError, TypeError):
        return None  # malformed: the exponential backoff applies
    return max(0.0, parsed.timestamp() - time.time())


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, HttpError):
        status = exc.resp.status
        if status in RETRYABLE_STATUSES:
            return True
        return status == 403 and error_reason(exc) in RATE_LIMIT_REASONS
    if isinstance(exc, auth_exceptions.RefreshError):
        return bool(getattr(exc, "retryable", False))
    return isinstance(
        exc,
        BatchError | socket.timeout | TimeoutError | ConnectionError | http.client.HTTPException
        | httplib2.HttpLib2Error | auth_exceptions.TransportError,
    )


def to_call_error(exc: BaseException, method: str) -> GoogleCallError:
    if isinstance(exc, HttpError):
        status = exc.resp.status
        reason = error_reason(exc)
        return GoogleCallError(f"{method}: HTTP {status} {reason}".strip(), status=status, reason=reason,
                               method=method)
    if isinstance(exc, auth_exceptions.RefreshError):
        # e.g. ('unauthorized_client: ...', {...}) or ('invalid_grant: ...', {...})
        first = str(exc.args[0]) if exc.args else str(exc)
        reason = first.split(":", 1)[0].strip() or "refresh_error"
        return GoogleCallError(f"{method}: token refresh failed: {reason}", status=None, reason=reason,
                               method=method)
    reason = type(exc).__name__
    return GoogleCallError(f"{method}: {reason}: {exc}", status=None, reason=reason, method=method,
                           timed_out=isinstance(exc, TimeoutError))


def _subject_of(request: HttpRequest) -> str:
    """Who the request acts as (its delegated credentials' subject), for per-user pacing."""
    creds = getattr(request.http, "credentials", None)
    return str(getattr(creds, "_subject", None) or "")


def _built_once(build: Callable[[], Resource]) -> Callable[[], Resource]:
    """``build`` called the first time only (under a lock: threads share resources), its result cached."""
    lock = threading.Lock()
    built: list[Resource] = []

    def nested() -> Resource:
        if not built:
            with lock:
                if not built:
                    built.append(cache_nested_resources(build()))
        return built[0]
    return nested


def cache_nested_resources(resource: Resource) -> Resource:
    """Build each of ``resource``'s nested resources once, when it is first used: googleapiclient re-creates
    them (and every method on them) on each ``drive.files()`` call; building all of them up front costs
    ~70 methods per impersonated user where a crawl uses four resources. Resources hold no per-call state,
    so threads can share them."""
    for name in (getattr(resource, "_resourceDesc", None) or {}).get("resources", {}):
        attr = fix_method_name(name)
        resource._set_dynamic_attr(attr, _built_once(getattr(resource, attr)))
    return resource


class FastBatchHttpRequest(BatchHttpRequest):  # type: ignore[misc]
    """googleapiclient's batch request with its body written directly: the stock one builds an email
    ``MIMENonMultipart`` per part and runs the email generator over the whole batch (header folding and
    all), which was most of the CPU of sending a 100-part batch. The body is the same multipart/mixed
    document (same parts, headers and payloads; ``tests/connectors/google/test_client_build.py`` parses
    both and compares them); responses are parsed by the stock code."""

    def _serialize_request(self, request: HttpRequest) -> str:
        parsed = urlsplit(request.uri)
        target = parsed.path + (f"?{parsed.query}" if parsed.query else "")
        headers = dict(request.headers)
        if request.http is not None:
            credentials = _auth.get_credentials_from_http(request.http)
            if credentials is not None:
                _auth.apply_credentials(credentials, headers)
        content_type = headers.pop("content-type", "application/json")
        lines = [f"{request.method} {target} HTTP/1.1", f"Content-Type: {content_type}", "MIME-Version: 1.0"]
        lines += [f"{key}: {value}" for key, value in headers.items()]
        lines.append(f"Host: {parsed.netloc}")
        body = request.body
        if body is not None:
            text = body.decode("utf-8") if isinstance(body, bytes) else str(body)
            lines.append(f"content-length: {len(body)}")
            return "\n".join(lines) + "\n\n" + text
        return "\n".join(lines) + "\n\n"

    def _execute(self, http: Any, order: list[str], requests: dict[str, HttpRequest]) -> None:
        boundary = f"==============={uuid.uuid4().hex}=="
        parts = [f"--{boundary}\nContent-Type: application/http\nMIME-Version: 1.0\n"
                 f"Content-Transfer-Encoding: binary\nContent-ID: {self._id_to_header(request_id)}\n\n"
                 f"{self._serialize_request(requests[request_id])}" for request_id in order]
        body = "\n".join(parts) + f"\n--{boundary}--\n"
        self._send(http, body, {"content-type": f'multipart/mixed; boundary="{boundary}"'})

    def _send(self, http: Any, body: str, headers: dict[str, str]) -> None:
        """POST the batch and keep each part's response (googleapiclient's own parsing)."""
        resp, content = http.request(self._batch_uri, method="POST", body=body, headers=headers)
        if resp.status >= 300:
            raise HttpError(resp, content, uri=self._batch_uri)
        parser = FeedParser()
        parser.feed(f"content-type: {resp['content-type']}\r\n\r\n" + content.decode("utf-8"))
        mime_response = parser.close()
        if not mime_response.is_multipart():
            raise BatchError("Response not in multipart/mixed format.", resp=resp, content=content)
        for part in mime_response.get_payload():
            if not isinstance(part, Message):
                continue
            request_id = self._header_to_id(part["Content-ID"])
            response, part_content = self._deserialize_response(part.get_payload())
            if isinstance(part_content, str):
                part_content = part_content.encode("utf-8")
            self._responses[request_id] = (response, part_content)


class _Outcomes:
    """Collects batch part results (googleapiclient calls ``add`` once per part)."""

    def __init__(self) -> None:
        self.parts: dict[int, tuple[Any, HttpError | None]] = {}

    def add(self, request_id: str, response: Any, exception: HttpError | None) -> None:
        self.parts[int(request_id)] = (response, exception)


class GoogleClients:
    """Authorised Drive and Directory resources plus the retry/quota policy for calling them."""

    def __init__(
        self,
        settings: Settings,
        *,
        credentials_file: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        rate_limiter: Bucket | None = None,
    ) -> None:
        self.settings = settings
        self.endpoint = settings.google.endpoint.rstrip("/")
        self.credentials_file = credentials_file or settings.google.service_account_file
        self.max_retries = settings.limits.max_retries
        self.timeout = settings.google.http_timeout_seconds
        self._sleep = sleep
        self._rng = rng
        self.limiter = QuotaPacer(budget_for(settings.limits), sleep=sleep, project=rate_limiter)
        self.stats = CallStats()
        self._lock = threading.Lock()
        self._key_info: dict[str, Any] | None = None
        self._base: service_account.Credentials | None = None
        self._docs: dict[str, dict[str, Any]] = {}
        self._credentials: dict[tuple[str, tuple[str, ...]], service_account.Credentials] = {}
        self._resources: dict[tuple[str, str, tuple[str, ...]], Resource] = {}
        self._local = threading.local()

    # ------------------------------------------------------------------ building
    @property
    def emulated(self) -> bool:
        return bool(self.endpoint)

    def _new_http(self) -> httplib2.Http:
        if self.emulated:
            return httplib2.Http(proxy_info=None, timeout=self.timeout)
        return httplib2.Http(timeout=self.timeout)

    def _thread_http(self) -> httplib2.Http:
        http: httplib2.Http | None = getattr(self._local, "http", None)
        if http is None:
            http = self._new_http()
            self._local.http = http
        return http

    def _key(self) -> dict[str, Any]:
        with self._lock:
            return self._key_unlocked()

    def _key_unlocked(self) -> dict[str, Any]:
        """The service account key file as JSON (read once). Call with the lock held."""
        if self._key_info is None:
            if not self.credentials_file:
                raise ConfigError("[google] service_account_file: required to call Google APIs "
                                  "(or set SHARESCAN_GOOGLE_KEY_FILE)")
            raw = read_key_file(self.credentials_file, loose=self.settings.keys.loose_permissions,
                                what="service account key file")
            try:
                info = json.loads(raw.decode("utf-8"))
            except ValueError as exc:
                raise ConfigError(f"{self.credentials_file}: cannot read service account key: {exc}") from None
            if self.emulated:
                info["token_uri"] = f"{self.endpoint}/token"
            self._key_info = info
        return self._key_info

    @property
    def client_id(self) -> str:
        """The key's OAuth client ID (what the Admin console's domain-wide delegation lists)."""
        return str(self._key().get("client_id", ""))

    def _delegation_of(self, request: HttpRequest) -> tuple[str, tuple[str, ...]]:
        """The subject and scopes the request's credentials were made for."""
        creds = getattr(request.http, "credentials", None)
        with self._lock:
            for (subject, scopes), cached in self._credentials.items():
                if cached is creds:
                    return subject, scopes
        return "", ()

    def describe_failure(self, error: BaseException, method: str, request: HttpRequest) -> GoogleCallError:
        """The call error with what to change to fix it (setting or Admin console step) when that is known."""
        failure = to_call_error(error, method)
        if isinstance(error, auth_exceptions.RefreshError):
            subject, scopes = self._delegation_of(request)
            hint = refresh_hint(failure.reason, subject=subject, client_id=self.client_id, scopes=scopes)
        elif is_connection_refused(error):
            hint = refused_hint(self.endpoint)
        else:
            hint = http_hint(failure.status, failure.reason, method)
        if hint:
            failure.args = (f"{failure}: {hint}",)
        return failure

    def _base_credentials(self) -> service_account.Credentials:
        """The service account's credentials, its private key parsed once (parsing a PEM RSA key costs
        ~0.1 s of CPU: once per impersonated user it was a tenth of a crawl's CPU). Call with the lock held."""
        if self._base is None:
            try:
                self._base = service_account.Credentials.from_service_account_info(self._key_unlocked())
            except (ValueError, KeyError) as exc:
                raise ConfigError(f"{self.credentials_file}: not a service account key: {exc}") from None
        return self._base

    def credentials(self, subject: str, scopes: Sequence[str]) -> service_account.Credentials:
        """Delegated credentials for ``subject`` with ``scopes`` (cached; copies of one parsed key, which
        share its signer)."""
        key = (subject, tuple(scopes))
        with self._lock:
            creds = self._credentials.get(key)
            if creds is None:
                creds = self._base_credentials().with_scopes(list(scopes)).with_subject(subject)
                self._credentials[key] = creds
            return creds

    def _doc(self, name: str) -> dict[str, Any]:
        with self._lock:
            doc = self._docs.get(name)
            if doc is None:
                doc = load_discovery(name, self.endpoint)
                self._docs[name] = doc
            return doc

    def _resource(self, doc_name: str, subject: str, scopes: Sequence[str]) -> Resource:
        key = (doc_name, subject, tuple(scopes))
        with self._lock:
            cached = self._resources.get(key)
        if cached is not None:
            return cached
        creds = self.credentials(subject, scopes)
        authed = google_auth_httplib2.AuthorizedHttp(creds, http=self._new_http())
        resource = cache_nested_resources(build_from_document(self._doc(doc_name), http=authed))
        with self._lock:
            return self._resources.setdefault(key, resource)

    def drive(self, subject: str, *, write: bool = False) -> Resource:
        """Drive v3 as ``subject`` (read-only scopes unless ``write``)."""
        return self._resource(DRIVE_DOC, subject, DRIVE_WRITE_SCOPES if write else DRIVE_READ_SCOPES)

    def directory_scopes(self) -> tuple[str, ...]:
        g = self.settings.google
        return DIRECTORY_SCOPES + ((DIRECTORY_GROUP_SCOPE,) if g.groups or g.expand_groups else ())

    def directory(self, subject: str) -> Resource:
        """Admin SDK Directory v1 as ``subject`` (an administrator)."""
        return self._resource(DIRECTORY_DOC, subject, self.directory_scopes())

    def reports(self, subject: str) -> Resource:
        """Admin SDK Reports v1 (the audit logs) as ``subject`` (an administrator), read-only."""
        return self._resource(REPORTS_DOC, subject, (REPORTS_AUDIT_SCOPE,))
    def cloud_identity(self, subject: str) -> Resource:
        """Cloud Identity v1 (Policy API) as ``subject`` (a super administrator), read-only."""
        return self._resource(CLOUD_IDENTITY_DOC, subject, (POLICY_SCOPE,))

    def org_units(self, subject: str) -> Resource:
        """Admin SDK Directory v1 with the read-only org unit scope, as ``subject`` (an administrator)."""
        return self._resource(DIRECTORY_DOC, subject, (ORGUNIT_SCOPE,))

    def batch_uri(self, api: str = "drive") -> str:
        doc = self._doc(DRIVE_DOC if api == "drive" else DIRECTORY_DOC)
        return str(doc["rootUrl"]) + str(doc["batchPath"])

    # ------------------------------------------------------------------ calling
    def _authed(self, request: HttpRequest) -> google_auth_httplib2.AuthorizedHttp:
        creds = getattr(request.http, "credentials", None)
        return google_auth_httplib2.AuthorizedHttp(creds, http=self._thread_http(), max_refresh_attempts=1)

    def _backoff(self, attempt: int, exc: BaseException | None) -> float:
        if isinstance(exc, HttpError):
            after = _retry_after(exc)
            if after is not None:
                return min(after, RETRY_AFTER_CAP_SECONDS)
        return self._rng() * min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)

    def execute(self, request: HttpRequest, *, cost: int | None = None, tally: CallTally | None = None) -> Any:
        """Run one request with retries and quota pacing; raises GoogleCallError when it fails.

        ``cost`` defaults to the method's quota units (scanner.connectors.google.quota.METHOD_COSTS).
        """
        method = request.methodId or request.uri.split("?", 1)[0]
        entry = ledger_method(request.methodId, request.uri)
        units = cost if cost is not None else method_cost(request.methodId, request.uri)
        subject = _subject_of(request)
        refreshed = False
        attempt = 0
        while True:
            self.limiter.acquire(units, subject)
            self.stats.add(entry, 1, units, retries=1 if attempt else 0)
            if tally is not None:
                tally.add(1, 1 if attempt else 0)
            try:
                return request.execute(http=self._authed(request), num_retries=0)
            except HttpError as exc:
                if exc.resp.status == 401 and not refreshed:
                    refreshed = True
                    self._force_refresh(request)
                    continue
                error: BaseException = exc
            except (auth_exceptions.GoogleAuthError, OSError, http.client.HTTPException,
                    httplib2.HttpLib2Error) as exc:
                error = exc
            if not is_retryable(error) or attempt >= self.max_retries or is_connection_refused(error):
                raise self.describe_failure(error, method, request) from error
            delay = self._backoff(attempt, error)
            log.warning("retrying %s on %s in %.1fs after %s (retry %d of %d)", method,
                        urlsplit(request.uri).netloc, delay, to_call_error(error, method).reason or "error",
                        attempt + 1, self.max_retries)
            attempt += 1
            self._sleep(delay)

    def pages(self, request: Callable[[str | None], HttpRequest], *, token: str | None = None,
              tally: CallTally | None = None) -> Iterator[Any]:
        """Every page of a listing, from ``token`` (the first page when None), one ``execute`` each;
        ``request(page_token)`` builds the request for one page."""
        while True:
            page = self.execute(request(token), tally=tally)
            yield page
            token = page.get("nextPageToken")
            if not token:
                return

    def _force_refresh(self, request: HttpRequest) -> None:
        creds = getattr(request.http, "credentials", None)
        if creds is not None:
            creds.token = None  # the next call fetches a new access token

    def execute_batch(
        self,
        requests: Sequence[HttpRequest],
        *,
        api: str = "drive",
        tally: CallTally | None = None,
    ) -> list[BatchResult]:
        """Run requests in batches of at most 100; parts that failed transiently are re-sent.

        Returns one BatchResult per request, in order. Requests in one call should share a subject.
        """
        results: list[BatchResult | None] = [None] * len(requests)
        for start in range(0, len(requests), MAX_BATCH):
            chunk = {start + i: r for i, r in enumerate(requests[start : start + MAX_BATCH])}
            self._run_batch(chunk, results, api, tally)
        return [r if r is not None else BatchResult(error=GoogleCallError(
            "batch part got no response", status=None, reason="noResponse")) for r in results]

    def _run_batch(
        self,
        pending: dict[int, HttpRequest],
        results: list[BatchResult | None],
        api: str,
        tally: CallTally | None,
    ) -> None:
        attempt = 0
        while pending:
            failed: dict[int, HttpRequest] = {}
            last_error: BaseException | None = None
            costs = {index: method_cost(r.methodId, r.uri) for index, r in pending.items()}
            first = next(iter(pending.values()))
            self.limiter.acquire(sum(costs.values()), _subject_of(first))
            for index, r in pending.items():
                self.stats.add(ledger_method(r.methodId, r.uri) if r.methodId else "batch", 1, costs[index],
                               retries=1 if attempt else 0)
            if tally is not None:
                tally.add(len(pending), len(pending) if attempt else 0)

            outcomes = _Outcomes()
            batch = FastBatchHttpRequest(callback=outcomes.add, batch_uri=self.batch_uri(api))
            for index, request in pending.items():
                batch.add(request, request_id=str(index))
            try:
                batch.execute(http=self._authed(first))
            except (HttpError, BatchError, auth_exceptions.GoogleAuthError, OSError, http.client.HTTPException,
                    httplib2.HttpLib2Error) as exc:
                if not is_retryable(exc) or attempt >= self.max_retries:
                    for index, request in pending.items():
                        results[index] = BatchResult(error=to_call_error(exc, request.methodId or "batch"))
                    return
                failed = dict(pending)
                last_error = exc
            else:
                for index, request in pending.items():
                    response, exception = outcomes.parts.get(index, (None, None))
                    if exception is None and index in outcomes.parts:
                        results[index] = BatchResult(response=response)
                    elif exception is not None and is_retryable(exception) and attempt < self.max_retries:
                        failed[index] = request
                        last_error = exception
                    elif exception is not None:
                        results[index] = BatchResult(error=to_call_error(exception, request.methodId or "batch"))
                    elif attempt < self.max_retries:
                        failed[index] = request  # no part in the response: send it again
                    else:
                        results[index] = BatchResult(error=GoogleCallError(
                            "batch part got no response", status=None, reason="noResponse",
                            method=request.methodId or "batch"))
            if not failed:
                return
            delay = self._backoff(attempt, last_error)
            log.warning("retrying %d batch part(s) on %s in %.1fs after %s (retry %d of %d)", len(failed),
                        urlsplit(self.batch_uri(api)).netloc, delay,
                        to_call_error(last_error, "batch").reason if last_error else "no response",
                        attempt + 1, self.max_retries)
            attempt += 1
            self._sleep(delay)
            pending = failed
