"""Where a scan's units of work run: the ``Executor`` interface and the in-process executor.

``InProcessExecutor`` (the default, ``[executor] kind = "in-process"``):

- crawl: the planned targets on ``[limits] workers`` threads (one quota limiter);
- analysis, a pipeline: a planner thread reads the candidate files' plans ``PLAN_BATCH`` at a time
  (one read-only session each, ``prepare_many``); content fetches overlap on ``fetch_concurrency``
  threads (at most ``fetch_per_user`` per impersonated user, all within the quota pacer); extraction +
  detection run in a pool of ``analysis_processes`` processes (0 = one per core), each building its
  analyzer once; the scan process records outcomes in file id order (so findings, evidence and the
  audit chain come out as on a sequential run), up to ``RECORD_BATCH`` ready files per transaction.
  Detection is CPU-bound: threads would share one core under the GIL. Each process keeps the
  extractors' memory bounds; fetched bytes are held only by the fetch threads.

``scanner.scan.celery_exec.CeleryExecutor`` (``kind = "celery"``) sends the same units to
``sharescan worker`` processes.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from scanner.config import Settings
from scanner.core.unread import Unread
from scanner.detect.models import ContentResult
from scanner.drive.crawler import Crawler, TargetResult, TargetTask, crawl_in_threads
from scanner.scan.analysis import (
    AnalysisContext,
    Analyze,
    Fetched,
    FilePlan,
    analyse_fetched,
    fetch,
    lean,
    prepare_many,
    record_many,
)
from scanner.scan.units import FileOutcome, OutcomeKind

log = logging.getLogger(__name__)


class Progress(Protocol):
    def advance(self, amount: int = 1) -> None: ...


class Executor(Protocol):
    """Runs a scan's units of work; the scan process plans and reduces."""

    name: str

    def crawl(self, crawler: Crawler, tasks: list[TargetTask]) -> list[TargetResult]:
        """Crawl every task; results in any order (the crawler absorbs remote run state itself)."""
        ...

    def analyse(self, ctx: AnalysisContext, file_ids: Sequence[str], progress: Progress | None = None) -> None:
        """Analyse every candidate file; each outcome is stored in ``scan_file_outcomes``."""
        ...

    def close(self) -> None: ...


def analysis_processes(settings: Settings) -> int:
    """``[executor] analysis_processes``, 0 meaning one per core."""
    return settings.executor.analysis_processes or max(1, os.cpu_count() or 1)


# ----------------------------------------------------------------------------- analysis worker processes
_WORKER_PIPELINE: Any = None
#: Files whose records share one transaction when they are ready together (one commit, not one per file).
RECORD_BATCH = 200
#: Files planned per read-only session, and the batches planned ahead of the one being dispatched.
PLAN_BATCH = 100
PLANS_AHEAD = 2

#: A file's plan (None: gone from the snapshot) with its fresh analysis or failed read, ready to record.
Settled = tuple[FilePlan | None, ContentResult | None, Unread | None]


def _settled(plan: FilePlan | None) -> Future[Settled]:
    """A file with nothing to fetch: ready to record as it is."""
    future: Future[Settled] = Future()
    future.set_result((plan, None, None))
    return future


def _init_analysis_process(settings: Settings, hmac_key: bytes) -> None:
    """Each analysis process builds its analyzer once (recognizers, dictionaries, the NLP model)."""
    global _WORKER_PIPELINE
    from scanner.detect.pipeline import ContentPipeline, DetectConfig

    _WORKER_PIPELINE = ContentPipeline(DetectConfig.from_settings(settings), hmac_key=hmac_key)


def _analyse_in_process(data: bytes, mime_type: str, name: str) -> tuple[ContentResult, float, int, int]:
    """The analysis, its CPU seconds, and this process's id and peak RSS (KiB)."""
    assert _WORKER_PIPELINE is not None, "analysis process not initialised"
    started = time.process_time()
    content = lean(_WORKER_PIPELINE.analyze_bytes(data, mime_type, name))
    return content, time.process_time() - started, os.getpid(), _peak_rss_kib()


def _peak_rss_kib() -> int:
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


@dataclass
class AnalysisStats:
    """What the analysis phase cost: for benchmarks and the latency-overhead figure."""

    files_fetched: int = 0
    files_analysed: int = 0
    #: CPU seconds of extraction + detection, summed over the processes that did it.
    analysis_cpu_seconds: float = 0.0
    #: Wall seconds of the whole analysis phase (plans, fetches, analyses, records).
    phase_seconds: float = 0.0
    #: Wall seconds the scan process spent writing outcomes (findings, evidence, pending reads).
    record_seconds: float = 0.0
    #: Wall seconds the planner thread spent reading plans (batches of files per read-only session).
    plan_seconds: float = 0.0
    #: Peak RSS (KiB) per analysis process id.
    peak_rss_kib: dict[int, int] = field(default_factory=dict)


class _UserSlots:
    """At most ``per_user`` fetches in flight per impersonated user."""

    def __init__(self, per_user: int) -> None:
        self.per_user = per_user
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}

    @contextmanager
    def acquire(self, subject: str) -> Iterator[None]:
        with self._lock:
            slot = self._slots.setdefault(subject.lower(), threading.BoundedSemaphore(self.per_user))
        with slot:
            yield


class InProcessExecutor:
    """Threads for crawl and fetches, a process pool for analysis (see the module docstring).

    ``analyze`` replaces the process pool by a function called in the fetch threads, one file at a
    time (tests inject a pipeline this way); ``hmac_key`` is the evidence key the analyzers use. A run
    with fewer than ``[executor] pool_min_files`` files to analyse does not start the pool (building
    an analyzer per process costs seconds): they are analysed here, one at a time."""

    name = "in-process"

    def __init__(self, settings: Settings, *, hmac_key: bytes | None = None, analyze: Analyze | None = None,
                 processes: int | None = None) -> None:
        if analyze is None and hmac_key is None:
            raise ValueError("an analysis function or the evidence key is needed")
        self.settings = settings
        self.hmac_key = hmac_key
        self._analyze = analyze
        self._injected = analyze is not None
        self._analyze_lock = threading.Lock()
        self.processes = analysis_processes(settings) if processes is None else processes
        self._pool: ProcessPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._use_pool = False
        self.stats = AnalysisStats()
        self._stats_lock = threading.Lock()

    # ------------------------------------------------------------------ crawl
    def crawl(self, crawler: Crawler, tasks: list[TargetTask]) -> list[TargetResult]:
        return crawl_in_threads(crawler, tasks)

    # ------------------------------------------------------------------ analysis
    def _process_pool(self) -> ProcessPoolExecutor:
        with self._pool_lock:  # fetch threads ask at once: one pool, started once
            return self._start_pool()

    def _start_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            key = self.hmac_key
            assert key is not None
            # forkserver: children do not inherit this process's threads, sockets or database pool
            context = multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")
            self._pool = ProcessPoolExecutor(max_workers=self.processes, mp_context=context,
                                             initializer=_init_analysis_process,
                                             initargs=(self.settings, key))
        return self._pool

    def _local(self) -> Analyze:
        if self._analyze is None:
            from scanner.detect.pipeline import ContentPipeline, DetectConfig

            assert self.hmac_key is not None
            self._analyze = ContentPipeline(DetectConfig.from_settings(self.settings),
                                            hmac_key=self.hmac_key).analyze_bytes
        return self._analyze

    def _analyse_bytes(self, data: bytes, mime_type: str, name: str) -> ContentResult:
        if self._use_pool:
            content, cpu, pid, rss = self._process_pool().submit(_analyse_in_process, data, mime_type, name).result()
        else:
            with self._analyze_lock:  # one pipeline object: one file at a time
                started = time.thread_time()
                content = lean(self._local()(data, mime_type, name))
                cpu, pid, rss = time.thread_time() - started, os.getpid(), _peak_rss_kib()
        with self._stats_lock:
            self.stats.files_analysed += 1
            self.stats.analysis_cpu_seconds += cpu
            self.stats.peak_rss_kib[pid] = max(rss, self.stats.peak_rss_kib.get(pid, 0))
        return content

    def analyse(self, ctx: AnalysisContext, file_ids: Sequence[str], progress: Progress | None = None) -> None:
        ex = self.settings.executor
        # Worth a pool? Counted on the ids alone (a cheap upper bound of the files to fetch).
        self._use_pool = not self._injected and self.processes > 0 and len(file_ids) >= ex.pool_min_files
        slots = _UserSlots(ex.fetch_per_user)
        # Files planned and not yet recorded: enough that the fetch threads always have work while
        # this thread waits for the oldest one. Only a plan (and, once analysed, the lean result) is
        # held per file; fetched bytes live in the fetch threads only.
        window = max(RECORD_BATCH, 4 * ex.fetch_concurrency)
        in_flight: deque[Future[Settled]] = deque()
        started = time.monotonic()

        def fetch_and_analyse(plan: FilePlan) -> Settled:
            fetched: Fetched = fetch(ctx, plan.file, slots.acquire)
            with self._stats_lock:
                self.stats.files_fetched += 1
            fresh, unread = analyse_fetched(fetched, self._analyse_bytes)
            return plan, fresh, unread

        def settle() -> None:
            """Record the oldest file, and those after it that are ready, in one transaction."""
            batch = [in_flight.popleft().result()]
            while in_flight and in_flight[0].done() and len(batch) < RECORD_BATCH:
                batch.append(in_flight.popleft().result())
            items = [(plan, fresh, unread) for plan, fresh, unread in batch if plan is not None]
            if not items:
                return
            began = time.monotonic()
            record_many(ctx, items)
            self.stats.record_seconds += time.monotonic() - began
            if progress is not None:
                progress.advance(len(items))

        def timed_plans(chunk: Sequence[str]) -> list[FilePlan | None]:
            began = time.monotonic()
            plans = prepare_many(ctx, chunk)
            self.stats.plan_seconds += time.monotonic() - began
            return plans

        # A planner thread reads the next batches of plans (one read-only session per batch); files
        # to fetch go to the fetch threads (and their analysis to the processes); records are written
        # here, a batch per transaction, in file id order.
        chunks = [file_ids[i:i + PLAN_BATCH] for i in range(0, len(file_ids), PLAN_BATCH)]
        with ThreadPoolExecutor(max_workers=ex.fetch_concurrency, thread_name_prefix="fetch") as fetchers, \
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="plan") as planner:
            planned: deque[Future[list[FilePlan | None]]] = deque(
                planner.submit(timed_plans, chunk) for chunk in chunks[:PLANS_AHEAD])
            try:
                for index in range(len(chunks)):
                    plans = planned.popleft().result()
                    if index + PLANS_AHEAD < len(chunks):
                        planned.append(planner.submit(timed_plans, chunks[index + PLANS_AHEAD]))
                    for plan in plans:
                        if plan is not None and plan.must_fetch:
                            in_flight.append(fetchers.submit(fetch_and_analyse, plan))
                        else:
                            in_flight.append(_settled(plan))
                        while len(in_flight) >= window:
                            settle()
                while in_flight:
                    settle()
            finally:
                for future in in_flight:
                    future.cancel()
                for plans_future in planned:
                    plans_future.cancel()
                self.stats.phase_seconds += time.monotonic() - started

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class SequentialExecutor:
    """One file at a time in this thread, start to end (``analyse_file``): the reference the other
    executors must match, and the simplest way to debug a file's analysis."""

    name = "sequential"

    def __init__(self, analyze: Analyze) -> None:
        self.analyze = analyze

    def crawl(self, crawler: Crawler, tasks: list[TargetTask]) -> list[TargetResult]:
        return [crawler.crawl_target(task) for task in tasks]

    def analyse(self, ctx: AnalysisContext, file_ids: Sequence[str], progress: Progress | None = None) -> None:
        from scanner.scan.analysis import analyse_file

        for file_id in file_ids:
            outcome: FileOutcome = analyse_file(ctx, file_id, self.analyze)
            if progress is not None and outcome.kind is not OutcomeKind.GONE:
                progress.advance()

    def close(self) -> None:
        return None
