"""Units of work done twice change nothing the second time (a retried or duplicated task), and the
run's state is read from the database; the shared quota bucket is one bucket for every process."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from scanner.connectors.google.client import GoogleClients
from scanner.detect.pipeline import ContentPipeline, DetectConfig
from scanner.drive.crawler import Crawler, TargetTask
from scanner.keys import ensure_key
from scanner.policy.loader import load_configured_rules
from scanner.run import ScanOptions, ScanService
from scanner.scan.analysis import AnalysisContext, analyse_file, candidate_ids
from scanner.scan.units import OutcomeKind, evaluated_file_ids, sum_outcomes
from scanner.store.models import AuditEvent, CrawlTarget, Evidence, Finding, ScanCoverage, ScanFileOutcome
from tests.scan.compare import scan_state


def _counts(app) -> tuple[int, ...]:
    with app.sessions() as s:
        return tuple(int(s.scalar(select(func.count()).select_from(t)) or 0)
                     for t in (AuditEvent, Finding, Evidence, ScanFileOutcome))


def test_a_file_analysed_again_for_the_same_run_changes_nothing(make_app, emulator) -> None:
    app = make_app()
    result = ScanService(app).run(ScanOptions(full=True))
    before, state = _counts(app), scan_state(app)
    key = ensure_key(app.settings.evidence_key_path)
    pipeline = ContentPipeline(DetectConfig.from_settings(app.settings), hmac_key=key)
    clients = GoogleClients(app.settings)
    ctx = AnalysisContext.build(app.settings, app.sessions, app.actor, clients,
                                load_configured_rules(app.settings).rules, run_id=result.run_id,
                                org_domains=frozenset(app.settings.organisation.domains), clock=ScanService(app).clock)
    ids = candidate_ids(app.sessions, result.run_id)
    calls = clients.stats.calls
    outcomes = [analyse_file(ctx, file_id, pipeline.analyze_bytes) for file_id in ids]
    assert {o.kind for o in outcomes} & {OutcomeKind.ANALYSED, OutcomeKind.CACHED}
    assert clients.stats.calls == calls  # nothing fetched again
    assert _counts(app) == before and scan_state(app) == state
    with app.sessions() as s:
        totals = sum_outcomes(s, result.run_id)
        assert totals.files_analysed == result.files_analysed and totals.files == len(ids)
        assert evaluated_file_ids(s, result.run_id) <= set(ids)


def test_a_target_crawled_again_for_the_same_run_is_not_read_twice(make_app, emulator) -> None:
    app = make_app()
    result = ScanService(app).run(ScanOptions(full=True))
    clients = GoogleClients(app.settings)
    crawler = Crawler(app.settings, clients, app.sessions)
    crawler.prepare_worker(result.run_id)
    with app.sessions() as s:
        cov, target = s.execute(select(ScanCoverage, CrawlTarget).join(CrawlTarget)
                                .where(ScanCoverage.run_id == result.run_id, ScanCoverage.status == "done",
                                       CrawlTarget.kind == "user").limit(1)).one()
        task = TargetTask(target_id=target.id, coverage_id=cov.id, kind=target.kind, key=target.key,
                          name=target.name, mode="full", cursor=None, start_token=None, pending_token=None,
                          crawl_started_at=cov.started_at, subject=target.key)
    payload = task.to_payload()
    assert TargetTask.from_payload(payload) == task
    calls = clients.stats.calls
    again = crawler.crawl_target(TargetTask.from_payload(payload))
    assert clients.stats.calls == calls
    assert again.status == "done" and again.files_seen == cov.files_seen


def test_the_quota_bucket_in_redis_is_shared_between_processes() -> None:
    pytest.importorskip("celery", reason="the celery extra is not installed")
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/14"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"Redis at {url} unreachable: {exc}")
    from scanner.scan.celery_exec import RedisRateLimiter

    key = f"sharescan:test:{uuid.uuid4().hex}"
    one = RedisRateLimiter(url, 600, key=key)  # 10 units/s, a burst of 50
    other = RedisRateLimiter(url, 600, key=key)
    assert one.acquire(50) == 0.0
    waited = other.acquire(5)  # the other "process" finds the bucket the first one emptied
    assert 0.3 < waited <= 0.5
    redis.Redis.from_url(url).delete(key)

    # the scanner's pacer takes it as its project bucket
    from scanner.connectors.google.quota import QuotaBudget, QuotaPacer

    slept: list[float] = []
    pacer = QuotaPacer(QuotaBudget(project_units_per_minute=600, user_units_per_minute=600),
                       sleep=slept.append, project=RedisRateLimiter(url, 600, key=key))  # type: ignore[arg-type]
    assert pacer.acquire(50, "a@example.com") == 0.0 and slept == []
    assert pacer.acquire(5, "b@example.com") > 0.3 and len(slept) == 1
    assert pacer.waited_seconds > 0.3
    redis.Redis.from_url(url).delete(key)


def test_celery_refuses_a_database_workers_cannot_share(make_sqlite_app) -> None:
    pytest.importorskip("celery", reason="the celery extra is not installed")
    from scanner.core.errors import ConfigError
    from scanner.scan.celery_exec import CeleryExecutor

    app = make_sqlite_app(executor={"kind": "celery", "broker_url": "redis://127.0.0.1:6379/14"})
    with pytest.raises(ConfigError, match="PostgreSQL"):
        CeleryExecutor(app)
