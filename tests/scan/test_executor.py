"""The in-process executor (fetch threads, an analysis process pool) gives the results of the
sequential path: the same findings, actions, coverage, stored analyses and outcomes, against the
emulator over real HTTP; and its fetches do overlap."""

from __future__ import annotations

import threading
from pathlib import Path

from scanner.detect.pipeline import ContentPipeline, DetectConfig
from scanner.emulator.faults import FaultRule
from scanner.keys import ensure_key
from scanner.run import ScanOptions, ScanService
from scanner.scan.executor import InProcessExecutor, SequentialExecutor
from tests.scan.compare import assert_same, scan_state


def _two_runs(app, executor_for) -> dict:
    for full in (True, False):
        ScanService(app, executor=executor_for(app)).run(ScanOptions(full=full))
    return scan_state(app)


def test_process_pool_and_fetch_threads_match_the_sequential_path(make_app, emulator, tmp_path: Path) -> None:
    reference = make_app(database={"url": f"sqlite:///{tmp_path / 'sequential.db'}"})
    key = ensure_key(reference.settings.evidence_key_path)
    pipeline = ContentPipeline(DetectConfig.from_settings(reference.settings), hmac_key=key)
    expected = _two_runs(reference, lambda app: SequentialExecutor(pipeline.analyze_bytes))

    concurrent = make_app(executor={"analysis_processes": 2, "pool_min_files": 0, "fetch_concurrency": 4,
                                    "fetch_per_user": 2})
    executors: list[InProcessExecutor] = []

    def pooled(app) -> InProcessExecutor:
        executors.append(InProcessExecutor(app.settings, hmac_key=key))
        return executors[-1]

    got = _two_runs(concurrent, pooled)
    assert_same(expected, got)
    assert all(e.processes == 2 and e._use_pool for e in executors)
    # one pool of two processes per run, however many fetch threads asked for it at once
    assert all(len(e.stats.peak_rss_kib) <= 2 for e in executors), [e.stats.peak_rss_kib for e in executors]
    assert any(o[2] == "analysed" for o in got["outcomes"])  # the pool analysed files, the cache was not all


def test_fetches_overlap_within_the_per_user_bound(make_app, emulator) -> None:
    """With latency on every export/download, fetches run at once on several threads, never more than
    fetch_per_user for one impersonated user."""
    app = make_app(executor={"fetch_concurrency": 6, "fetch_per_user": 2})
    peak: dict[str, int] = {}
    current: dict[str, int] = {}
    lock = threading.Lock()
    from scanner.connectors.google import fetch as content

    original = content.ContentFetcher.fetch

    def counting(self, file, *, as_user: str, max_bytes: int):
        with lock:
            current[as_user] = current.get(as_user, 0) + 1
            peak[as_user] = max(peak.get(as_user, 0), current[as_user])
        try:
            return original(self, file, as_user=as_user, max_bytes=max_bytes)
        finally:
            with lock:
                current[as_user] -= 1

    emulator.set_faults([FaultRule(endpoint="drive.files.export", kind="latency", latency=0.2),
                         FaultRule(endpoint="drive.files.download", kind="latency", latency=0.2)])
    content.ContentFetcher.fetch = counting  # type: ignore[method-assign]
    try:
        result = ScanService(app).run(ScanOptions(full=True))
    finally:
        content.ContentFetcher.fetch = original  # type: ignore[method-assign]
    assert result.files_analysed > 2
    assert max(peak.values()) == 2, peak


class _BatchExecutor(SequentialExecutor):
    """The analysis as Celery tasks do it, in this process: batches of files, fetches overlapping."""

    name = "batches"

    def analyse(self, ctx, file_ids, progress=None) -> None:
        from scanner.scan.analysis import analyse_files

        self.batches = 0
        for start in range(0, len(file_ids), 7):
            analyse_files(ctx, file_ids[start:start + 7], self.analyze, fetch_threads=3)
            self.batches += 1


def test_batches_of_files_match_the_sequential_path(make_app, emulator, tmp_path: Path) -> None:
    """``analyse_files`` (a Celery task's batch: one read session, overlapping fetches, one transaction)
    gives the results of one file at a time, on a full and an incremental run."""
    reference = make_app(database={"url": f"sqlite:///{tmp_path / 'sequential.db'}"})
    key = ensure_key(reference.settings.evidence_key_path)
    pipeline = ContentPipeline(DetectConfig.from_settings(reference.settings), hmac_key=key)
    expected = _two_runs(reference, lambda app: SequentialExecutor(pipeline.analyze_bytes))
    batched: list[_BatchExecutor] = []

    def batches(app) -> _BatchExecutor:
        batched.append(_BatchExecutor(pipeline.analyze_bytes))
        return batched[-1]

    got = _two_runs(make_app(), batches)
    assert_same(expected, got)
    assert batched[0].batches > 1
