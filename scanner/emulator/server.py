"""The HTTP server and the `Emulator` object: routing, auth, faults, counters; threads on 127.0.0.1."""

from __future__ import annotations

import contextlib
import http.server
import os
import signal
import socket
import threading
import time
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Any

from . import admin, batch
from .auth import Delegation, ServiceAccountKey, TokenError, TokenIssuer
from .errors import ApiError, DropConnection, unauthenticated
from .faults import Fault, FaultPlan, FaultRule
from .handlers import changes, directory, drives, files, labels, orgunits, permissions, policies, reports, revisions
from .handlers import discovery as discovery_docs
from .handlers.common import Ctx, ListCache, Request, Response, Route, Settings
from .state import persist
from .state.mutate import MutationError
from .state.workspace import Workspace
from .telemetry import CallCounters

ROUTES: list[Route] = [*files.ROUTES, *permissions.ROUTES, *revisions.ROUTES, *drives.ROUTES, *changes.ROUTES,
                       *directory.ROUTES, *reports.ROUTES, *policies.ROUTES, *labels.ROUTES, *orgunits.ROUTES]


class Emulator:
    """Google Drive v3, Admin SDK Directory and Reports, Cloud Identity policies, Drive Labels and OAuth on
    127.0.0.1.

    ``with Emulator(seed="demo") as emu:`` starts it; ``emu.endpoint`` is the base URL,
    ``emu.write_key_file(path)`` the service-account key, ``emu.counters`` / ``emu.events`` telemetry.
    """

    def __init__(self, workspace: Workspace | None = None, *, seed: str | None = "demo", host: str = "127.0.0.1",
                 port: int = 0, key: ServiceAccountKey | None = None, settings: Settings | None = None,
                 token_lifetime: int = 3600) -> None:
        if workspace is None:
            from .seeds import build_seed

            workspace = build_seed(seed or "demo")
        self.workspace = workspace
        self.host = host
        self.port = port
        self.key = key or ServiceAccountKey.generate()
        self.issuer = TokenIssuer(self.key, lifetime=token_lifetime)
        self.settings = settings or Settings()
        self.faults = FaultPlan()
        self._counters = CallCounters()
        self._cache = ListCache()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # ---- lifecycle ----------------------------------------------------------------------------
    def start(self) -> str:
        if self._server is not None:
            return self.base_url
        self._server = _Server((self.host, self.port), _Handler, self)
        self.port = self._server.server_address[1]
        self.base_url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"sharescan-emulator:{self.port}", daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        server.join_handlers(timeout=5)

    def serve_forever(self) -> None:
        """Run in the foreground (the CLI); returns on KeyboardInterrupt."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # ---- public helpers -----------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return self.base_url

    @property
    def token_uri(self) -> str:
        return self.base_url + "/token"

    def service_account_info(self) -> dict[str, str]:
        return self.key.info(self.token_uri)

    def write_key_file(self, path: str | Path) -> Path:
        return self.key.write(path, self.token_uri)

    @property
    def counters(self) -> dict[str, int]:
        return self._counters.snapshot()

    def reset_counters(self) -> None:
        self._counters.reset()

    @property
    def events(self) -> list[dict[str, Any]]:
        with self.workspace.lock:
            return [e.to_json() for e in self.workspace.events]

    def set_faults(self, plan: FaultPlan | list[FaultRule] | None) -> None:
        if plan is None:
            plan = FaultPlan()
        elif isinstance(plan, list):
            plan = FaultPlan(plan)
        self.faults = plan

    @property
    def delegation(self) -> Delegation:
        """Domain-wide delegation of the key's client ID: ``emu.delegation.refuse(scope, subject)``."""
        return self.issuer.delegation

    def expire_tokens(self) -> int:
        return self.issuer.expire_all()

    def access_token(self, user: str, scopes: frozenset[str] | None = None) -> str:
        """A bearer token minted directly (no JWT): handy for quick tests and benchmarks."""
        from .auth import READ_SCOPES

        return self.issuer.issue_for_test(user, scopes or frozenset(READ_SCOPES))

    def replace_workspace(self, ws: Workspace) -> None:
        with self.workspace.lock:
            self.workspace = ws
            self._cache = ListCache()

    def save_state(self, path: str | Path) -> None:
        with self.workspace.lock:
            persist.save_file(self.workspace, path)

    def load_state(self, path: str | Path) -> None:
        self.replace_workspace(persist.load_file(path))

    # ---- dispatch -----------------------------------------------------------------------------
    def dispatch(self, req: Request) -> Response:
        """Answer one request (also used for each part of a batch)."""
        try:
            if req.path.startswith("/_emulator/"):
                return admin.handle(self, req)
            if req.path == "/token" and req.method == "POST":
                return self._token(req)
            if req.path.startswith("/discovery/"):
                return discovery_docs.serve(self.base_url, req)
            if req.path == "/batch/drive/v3" and req.method == "POST":
                self._counters.hit("batch")
                self._inject("batch")
                self._authenticate(req)
                return batch.execute(req.headers.get("content-type", ""), req.body, self.dispatch)
            route, params = self._route(req)
            endpoint = route.endpoint
            if endpoint == "drive.files.get" and req.param("alt") == "media":
                endpoint = "drive.files.download"
            self._counters.hit(endpoint)
            fault = self._inject(endpoint, req.path)
            grant = self._authenticate(req)
            ws = self.workspace
            with ws.lock:
                ctx = Ctx(ws, grant.subject, grant.scopes, self.settings, self._cache)
                ws.audit.api_client = self.key.client_id  # audit events of this call name the API client
                try:
                    response = route.handler(ctx, req, **params)
                finally:
                    ws.audit.api_client = None
            if fault is not None and fault.kind == "kill_after":
                _kill(fault.pid)
                raise DropConnection()
            return response
        except ApiError as exc:
            return Response(exc.code, exc.payload(),
                            {"Content-Type": "application/json; charset=UTF-8", **exc.extra_headers})
        except MutationError as exc:
            err = ApiError(exc.code, exc.reason, exc.message)
            return Response(err.code, err.payload(), {"Content-Type": "application/json; charset=UTF-8"})

    def _route(self, req: Request) -> tuple[Route, dict[str, str]]:
        allowed = False
        for route in ROUTES:
            m = route.pattern.match(req.path)
            if m:
                if route.method == req.method:
                    from urllib.parse import unquote

                    return route, {k: unquote(v) for k, v in m.groupdict().items()}
                allowed = True
        if allowed:
            raise ApiError(405, "httpMethodNotAllowed", f"Method {req.method} not allowed for {req.path}")
        raise ApiError(404, "notFound", f"Not Found: {req.path}")

    def _inject(self, endpoint: str, path: str = "") -> Fault | None:
        """Apply the fault picked for this call before it is handled; returns it when it acts after."""
        fault = self.faults.pick(endpoint, path)
        if fault is None:
            return None
        if fault.latency:
            time.sleep(fault.latency)
        if fault.kind == "latency":
            return None
        if fault.kind == "expire_token":
            self.issuer.expire_all()
            return None
        if fault.kind == "kill_after":
            return fault
        if fault.kind == "kill_before":
            _kill(fault.pid)
            raise DropConnection()
        if fault.kind == "drop":
            raise DropConnection()
        error = fault.error
        if error is not None:
            status, reason, message, domain = error
            raise ApiError(status, reason, message, domain=domain)
        return None

    def _authenticate(self, req: Request) -> Any:
        grant = self.issuer.lookup(req.headers.get("authorization"))
        if grant is None:
            raise unauthenticated()
        return grant

    def _token(self, req: Request) -> Response:
        self._counters.hit("oauth.token")
        try:
            self._inject("oauth.token")
        except ApiError as exc:
            return Response(exc.code, exc.payload(), {"Content-Type": "application/json"})

        def known_user(email: str) -> tuple[bool, bool]:
            user = self.workspace.users.get(email.lower())
            return user is not None, bool(user and user.suspended)

        try:
            body = self.issuer.grant(req.body, known_user)
        except TokenError as exc:
            status = 401 if exc.error in ("invalid_client", "unauthorized_client") else 400
            return Response(status, exc.body(), {"Content-Type": "application/json; charset=utf-8"})
        return Response.json(body)


def _kill(pid: int | None) -> None:
    """SIGKILL the client process a kill fault names (a crash test), and wait until it is gone."""
    if not pid:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    for _ in range(200):  # its socket must not outlive it: the answer must never arrive
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if _is_zombie(pid):
            return
        time.sleep(0.01)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] == "Z"
    except OSError:
        return True


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], handler: type[_Handler], emulator: Emulator) -> None:
        self.emulator = emulator
        self._conns: set[socket.socket] = set()
        self._handler_threads: set[threading.Thread] = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        t = threading.Thread(target=self._serve_one, args=(request, client_address), daemon=True)
        with self._conn_lock:
            self._conns.add(request)
            self._handler_threads.add(t)
        t.start()

    def _serve_one(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._conn_lock:
                self._conns.discard(request)
                self._handler_threads.discard(threading.current_thread())

    def close_connections(self) -> None:
        with self._conn_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def join_handlers(self, timeout: float) -> None:
        with self._conn_lock:
            threads = list(self._handler_threads)
        for t in threads:
            t.join(timeout)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ESF"
    sys_version = ""
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        req = Request.build(self.command, self.path, dict(self.headers.items()), body)
        try:
            resp = self.server.emulator.dispatch(req)
        except DropConnection:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        phrase = HTTPStatus(resp.status).phrase if resp.status in HTTPStatus._value2member_map_ else "Unknown"
        head = [f"HTTP/1.1 {resp.status} {phrase}"]
        headers = {"Date": self.date_time_string(), "Server": "ESF", **resp.headers}
        if self.command == "HEAD" or resp.status in (204, 304):
            payload = b""
            if resp.status != 204:
                headers["Content-Length"] = str(len(resp.body))
        else:
            payload = resp.body
            headers["Content-Length"] = str(len(payload))
        if self.headers.get("Connection", "").lower() == "close":
            headers["Connection"] = "close"
            self.close_connection = True
        head.extend(f"{k}: {v}" for k, v in headers.items())
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _handle
