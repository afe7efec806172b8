"""A scan run as cron or a Kubernetes CronJob runs it: no TTY, stderr to a file. The log read back must
show progress lines and a summary, the metrics file must be valid Prometheus text, and the exit code
must follow the contract."""

from __future__ import annotations

import json
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from scanner.emulator import Emulator
from tests.installation import Run


def records(stderr: str) -> list[dict[str, object]]:
    lines = [line for line in stderr.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line is one JSON object


def test_cron_run_logs_progress_lines_and_a_json_summary(sharescan: Run, emulator: Emulator) -> None:
    result = sharescan("--log-format", "json", "scan", "--full", "--progress-interval", "0.05", "--fail-on", "high")
    logged = records(result.stderr)
    summaries = [r for r in logged if r.get("event") == "summary"]
    assert len(summaries) == 1, result.stderr
    summary = summaries[0]
    run_id = summary["summary"]["run_id"]  # type: ignore[index]
    assert summary["run_id"] == run_id
    assert summary["summary"]["status"] == "completed"  # type: ignore[index]
    assert summary["exit_code"] == 10 == result.returncode  # dry-run leaves high findings open

    progress = [r for r in logged if r.get("event") == "progress"]
    phases = {r["phase"] for r in progress}
    assert {"crawling", "analysing exposed files"} <= phases, phases
    for line in progress:
        assert {"done", "total", "files_per_second", "eta_seconds", "elapsed_seconds"} <= set(line)
        assert "ETA" in str(line["message"])
    # every line names the run from the moment it exists (a tick may come before the run row is written)
    named = [r["run_id"] for r in progress]
    first = next(i for i, r in enumerate(named) if r is not None)
    assert set(named[first:]) == {run_id} and set(named[:first]) <= {None}
    last = [r for r in progress if r["phase"] == "analysing exposed files"][-1]
    assert last["done"] == last["total"] and last["eta_seconds"] == 0.0

    assert len({r["invocation"] for r in logged}) == 1
    with emulator.workspace.lock:
        names = [f.name for f in emulator.workspace.files.values() if len(f.name) > 6]
    assert names and not [n for n in names if n in result.stderr], "file names in the log"
    assert json.loads(json.dumps(summary))  # stdout carries the human summary line
    assert result.stdout.startswith(f"run {run_id} completed (full)")


def test_text_log_has_plain_progress_lines_with_eta(sharescan: Run) -> None:
    result = sharescan("scan", "--full", "--progress-interval", "0.05")
    lines = [line for line in result.stderr.splitlines() if " scanner.progress " in line]
    assert result.returncode == 0, result.stderr  # no --fail-on: findings alone do not fail the run
    assert any("crawling: " in line and " targets " in line and "ETA " in line for line in lines), result.stderr
    assert any("analysing exposed files: " in line and "files/s" in line for line in lines), result.stderr
    assert any("scan summary: run " in line for line in lines)
    assert all("[run " in line for line in lines)


def test_metrics_file_for_the_textfile_collector(sharescan: Run, tmp_path: Path) -> None:
    path = tmp_path / "textfile" / "sharescan.prom"
    result = sharescan("scan", "--full", "--no-progress", "--fail-on", "critical", "--metrics-file", str(path))
    assert result.returncode == 10, result.stderr
    text = path.read_text(encoding="utf-8")
    assert not list(path.parent.glob(".*.tmp")), "temporary file left behind"
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    assert value("sharescan_last_run_exit_code") == 10
    assert value("sharescan_last_run_status", status="completed", kind="full") == 1
    assert value("sharescan_last_run_status", status="failed", kind="full") == 0
    assert value("sharescan_last_success_timestamp_seconds") == value("sharescan_last_run_end_timestamp_seconds") > 0
    assert value("sharescan_last_run_duration_seconds") > 0
    assert value("sharescan_files", exposure="public") >= 1
    assert value("sharescan_findings", severity="critical", status="open") >= 1
    assert value("sharescan_last_run_api_calls", method="drive.files.list") >= 1
    assert value("sharescan_last_run_targets", status="done") >= 1
    assert value("sharescan_last_run_targets", status="failed") == 0
    assert not any("@" in str(labels) for _, labels in samples), "an e-mail address in a label"


def test_metrics_file_says_how_a_failed_run_ended(sharescan: Run, tmp_path: Path) -> None:
    first = sharescan("scan", "--full", "--no-progress")
    assert first.returncode == 0 and "crawling: " not in first.stderr  # --no-progress: no progress lines
    path = tmp_path / "failed.prom"
    result = sharescan("scan", "--no-progress", "--metrics-file", str(path),
                       env={"SHARESCAN_GOOGLE_KEY_FILE": str(tmp_path / "missing.json")})
    assert result.returncode == 2, result.stderr
    text = path.read_text(encoding="utf-8")
    samples = {s.name + str(sorted(s.labels.items())): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    assert samples["sharescan_last_run_exit_code[]"] == 2
    # the last success is still the first run's
    assert samples["sharescan_last_success_timestamp_seconds[]"] > 0


def test_scheduler_run_once_logs_progress_too(sharescan: Run) -> None:
    result = sharescan("--log-format", "json", "schedule", "run", "--once", "--full", "--progress-interval", "0.05")
    assert result.returncode == 0, result.stderr
    phases = {r.get("phase") for r in records(result.stderr) if r.get("event") == "progress"}
    assert {"crawling", "analysing exposed files"} <= phases
