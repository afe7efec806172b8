"""Celery as the distributed executor (``[executor] kind = "celery"``, ``sharescan worker``).

The scan process plans, then sends units of work over ``[executor] broker_url`` (Redis or RabbitMQ):
one ``sharescan.crawl_target`` task per target (its payload: the TargetTask's ids and cursors) and
``sharescan.analyse_files`` tasks of ``files_per_task`` file ids. Workers share the database
(PostgreSQL) and write as the in-process path does; the scan process waits, absorbs the crawl
results, sums the stored outcomes, closes and remediates (remediation stays a single reducer here,
with the run's global limits and kill switch).

Delivery: ``acks_late`` and ``task_reject_on_worker_lost`` - a task is acknowledged after it ran, so a
killed worker's task is delivered again (on Redis after ``visibility_timeout_seconds``). Tasks are
idempotent: a crawl continues from its committed cursor and a finished target is not crawled again;
a file whose outcome row exists for the run is not analysed again. Audit appends are serialised by
``store/audit.py`` (an advisory lock on PostgreSQL). All processes draw Drive quota from one token
bucket for the project and one per impersonated user, in Redis, when the broker is Redis
(``RedisRateLimiter``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from scanner.config import Settings
from scanner.connectors.google.quota import budget_for
from scanner.core.errors import ConfigError
from scanner.drive.crawler import Crawler, RunState, TargetResult, TargetTask

if TYPE_CHECKING:
    from celery import Celery

    from scanner.app import App
    from scanner.scan.analysis import AnalysisContext
    from scanner.scan.executor import Progress

log = logging.getLogger(__name__)

CRAWL_TASK = "sharescan.crawl_target"
ANALYSE_TASK = "sharescan.analyse_files"


def _require_celery() -> None:
    try:
        import celery  # noqa: F401
    except ImportError as exc:  # pragma: no cover - the extra is installed in dev and CI
        raise ConfigError("[executor] kind = \"celery\" needs the celery extra: pip install 'sharescan[celery]'") \
            from exc


def make_celery(settings: Settings) -> Celery:
    """The Celery app of this installation (broker, result backend, delivery guarantees, tasks)."""
    _require_celery()
    from celery import Celery

    ex = settings.executor
    where = settings.source or "settings"
    if not ex.broker_url:
        raise ConfigError(f"{where}: [executor] broker_url: required with kind = \"celery\"")
    redis = ex.broker_url.startswith(("redis://", "rediss://"))
    app = Celery("sharescan", broker=ex.broker_url, backend=ex.broker_url if redis else "rpc://")
    app.conf.update(
        task_serializer="json", result_serializer="json", accept_content=["json"],
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_default_queue=ex.queue, task_track_started=True, result_expires=7 * 86_400,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        broker_transport_options={"visibility_timeout": ex.visibility_timeout_seconds},
        result_backend_transport_options={"visibility_timeout": ex.visibility_timeout_seconds},
    )
    app.task(name=CRAWL_TASK, acks_late=True, reject_on_worker_lost=True)(crawl_target_task)
    app.task(name=ANALYSE_TASK, acks_late=True, reject_on_worker_lost=True)(analyse_files_task)
    return app


# ----------------------------------------------------------------------------- worker side
class _Worker:
    """What one worker process builds once: the App, Google clients, the analyzer, per-run contexts."""

    _lock = threading.Lock()
    _instance: _Worker | None = None
    #: Set by ``sharescan worker`` before the worker starts (the process, or its pool's children, build
    #: their own App from them: database connections are never shared across a fork).
    settings_for_process: Settings | None = None

    def __init__(self, settings: Settings) -> None:
        from scanner.app import App
        from scanner.connectors.google.client import GoogleClients

        self.settings = settings
        self.app = App(settings, actor="sharescan-worker")
        self.clients = GoogleClients(settings, rate_limiter=shared_limiter(settings))
        self._pipeline: Any = None
        self._contexts: dict[int, AnalysisContext] = {}

    @classmethod
    def get(cls) -> _Worker:
        with cls._lock:
            if cls._instance is None:
                settings = cls.settings_for_process
                if settings is None:
                    from scanner.config import load_settings

                    settings = load_settings(None)
                cls._instance = _Worker(settings)
            return cls._instance

    def pipeline(self) -> Any:
        if self._pipeline is None:
            from scanner.detect.pipeline import ContentPipeline, DetectConfig
            from scanner.keys import ensure_key

            key = ensure_key(self.settings.evidence_key_path, loose=self.settings.keys.loose_permissions)
            self._pipeline = ContentPipeline(DetectConfig.from_settings(self.settings), hmac_key=key)
        return self._pipeline

    def context(self, run_id: int, org_domains: Sequence[str]) -> AnalysisContext:
        if run_id not in self._contexts:
            from scanner.policy.loader import load_configured_rules
            from scanner.scan.analysis import AnalysisContext
            from scanner.store.models import utcnow

            rules = load_configured_rules(self.settings)
            self._contexts = {run_id: AnalysisContext.build(
                self.settings, self.app.sessions, self.app.actor, self.clients, rules.rules, run_id=run_id,
                org_domains=frozenset(org_domains), clock=utcnow)}
        return self._contexts[run_id]


def run_worker(settings: Settings, *, concurrency: int = 1, loglevel: str = "INFO",
               hostname: str | None = None) -> None:
    """Start a Celery worker for this installation (blocks until it is stopped). One task at a time in
    this process by default (``solo``); ``concurrency`` > 1 forks that many pool processes."""
    _Worker.settings_for_process = settings
    app = make_celery(settings)
    argv = ["worker", f"--loglevel={loglevel}", "--without-gossip", "--without-mingle", "--without-heartbeat",
            f"--concurrency={concurrency}", f"--queues={settings.executor.queue}",
            "--pool=solo" if concurrency == 1 else "--pool=prefork"]
    if hostname:
        argv.append(f"--hostname={hostname}")
    app.worker_main(argv)


def crawl_target_task(run_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    """Crawl one target of ``run_id`` from its committed cursor; returns its result and run state."""
    worker = _Worker.get()
    crawler = Crawler(worker.settings, worker.clients, worker.app.sessions)
    crawler.prepare_worker(run_id)
    result = crawler.crawl_target(TargetTask.from_payload(payload))
    state = crawler.take_state()
    return {"result": dataclasses.asdict(result), "state": dataclasses.asdict(state)}


def analyse_files_task(run_id: int, file_ids: list[str], org_domains: list[str]) -> int:
    """Analyse and evaluate these candidate files of ``run_id`` (outcomes stored); returns how many."""
    from scanner.scan.analysis import analyse_files

    worker = _Worker.get()
    ctx = worker.context(run_id, org_domains)
    # one read session and one write transaction per task; a worker lost before the commit leaves
    # nothing of the task, and the re-delivered task does it all (outcomes already stored are kept)
    analyse_files(ctx, file_ids, worker.pipeline().analyze_bytes,
                  fetch_threads=ctx.settings.executor.fetch_per_user)
    return len(file_ids)


# ----------------------------------------------------------------------------- shared quota
class RedisRateLimiter:
    """The token bucket of ``scanner.connectors.google.quota.RateLimiter``, kept in Redis so that every process of
    an installation (scan process and workers) draws from one budget. Same ``reserve``/``acquire`` contract.

    As the pacer's project bucket it also gives the per-user buckets (``user_bucket``: Google's per-user
    quota holds across workers too), in Redis beside it, keyed by a hash of the impersonated user (no
    address in Redis)."""

    _SCRIPT = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'last')
local tokens = tonumber(state[1]) or capacity
local last = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - last) * rate) - cost
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'last', tostring(now))
redis.call('EXPIRE', KEYS[1], 3600)
if tokens < 0 then return tostring(-tokens / rate) end
return '0'
"""

    def __init__(self, url: str, units_per_minute: int, *, key: str = "sharescan:quota:project",
                 burst_seconds: float = 5.0) -> None:
        import redis

        self.url = url
        self.units_per_minute = units_per_minute
        self.rate = units_per_minute / 60.0
        self.burst_seconds = burst_seconds
        self.capacity = max(self.rate * burst_seconds, 1.0)
        self.key = key
        self._redis = redis.Redis.from_url(url)
        self._script = self._redis.register_script(self._SCRIPT)
        self.waited_seconds = 0.0

    def user_key(self, subject: str) -> str:
        """The Redis key of ``subject``'s bucket: beside the project's, named by a hash of the address."""
        digest = hashlib.sha256(subject.strip().lower().encode("utf-8")).hexdigest()[:32]
        return f"{self.key}:user:{digest}"

    def user_bucket(self, subject: str, units_per_minute: int) -> RedisRateLimiter:
        """The bucket of one impersonated user, shared by every process (``QuotaPacer``'s user buckets)."""
        return RedisRateLimiter(self.url, units_per_minute, key=self.user_key(subject),
                                burst_seconds=self.burst_seconds)

    def reserve(self, cost: int = 1) -> float:
        """Take ``cost`` units now (in Redis, atomically); returns the seconds to wait before using them
        (``QuotaPacer`` waits the longer of this and the user's bucket)."""
        wait = float(self._script(keys=[self.key], args=[self.rate, self.capacity, cost]))
        self.waited_seconds += wait
        return wait

    def acquire(self, cost: int = 1) -> float:
        wait = self.reserve(cost)
        if wait > 0:
            time.sleep(wait)
        return wait


def shared_limiter(settings: Settings) -> Any:
    """One quota bucket for every process when the broker is Redis (the project's, which also gives the
    per-user buckets); else this process's own buckets."""
    url = settings.executor.broker_url
    if url.startswith(("redis://", "rediss://")):
        return RedisRateLimiter(url, budget_for(settings.limits).project_units_per_minute)
    return None


# ----------------------------------------------------------------------------- scan side
class CeleryExecutor:
    """Sends a run's units to ``sharescan worker`` processes and waits for them."""

    name = "celery"

    def __init__(self, app: App) -> None:
        if app.settings.database_url.startswith("sqlite"):
            raise ConfigError(f"{app.settings.source or 'settings'}: [executor] kind = \"celery\": workers need a "
                              "database they share: set [database] url to PostgreSQL")
        self.settings = app.settings
        self.celery = make_celery(app.settings)
        self.queue = app.settings.executor.queue

    def _wait(self, results: list[Any]) -> list[Any]:
        timeout = self.settings.executor.task_timeout_seconds
        return [r.get(timeout=timeout, propagate=True, disable_sync_subtasks=False) for r in results]

    def crawl(self, crawler: Crawler, tasks: list[TargetTask]) -> list[TargetResult]:
        sent = [self.celery.send_task(CRAWL_TASK, args=(crawler.run_id, t.to_payload()), queue=self.queue)
                for t in tasks]
        out: list[TargetResult] = []
        for answer in self._wait(sent):
            result = TargetResult(**answer["result"])
            state = answer["state"]
            crawler.absorb(result, RunState(shortcuts=tuple(tuple(p) for p in state["shortcuts"]),  # type: ignore[misc]
                                            changed_folders=tuple(state["changed_folders"]),
                                            files_removed=int(state["files_removed"])))
            out.append(result)
        return out

    def analyse(self, ctx: AnalysisContext, file_ids: Sequence[str], progress: Progress | None = None) -> None:
        size = self.settings.executor.files_per_task
        domains = sorted(ctx.org_domains)
        chunks = [list(file_ids[i:i + size]) for i in range(0, len(file_ids), size)]
        sent = [self.celery.send_task(ANALYSE_TASK, args=(ctx.run_id, chunk, domains), queue=self.queue)
                for chunk in chunks]
        timeout = self.settings.executor.task_timeout_seconds
        for r in sent:
            done = r.get(timeout=timeout, propagate=True, disable_sync_subtasks=False)
            if progress is not None:
                progress.advance(int(done))

    def close(self) -> None:
        self.celery.close()
