"""The error-rate breaker counts attempted actions (not the planned total), with a minimum sample
and a consecutive-failure cap; a stopped remediation makes the scan exit 11 and says why."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from scanner.cli.context import State
from scanner.cli.scan import scan
from scanner.core.errors import ExitCode
from scanner.emulator import FaultRule
from scanner.emulator.seeds.builder import anyone_perm, make_file
from scanner.emulator.seeds.demo import MAYA, fid
from scanner.remediate.breaker import ErrorRateBreaker
from scanner.store.models import AuditEvent, RemediationAction

from ..run.conftest import make_app  # noqa: F401 - the fixture

F, OK = True, False


@pytest.mark.parametrize(("outcomes", "stops_after"), [
    # 26 failures in a row of a large plan: the cap stops the 6th, whatever the plan's size.
    ([F] * 26, 5),
    # Under the minimum sample only the cap applies: 4 failures, a success, 4 more.
    ([F, F, F, F, OK, F, F, F, F], None),
    # From the 10th attempt on, more than 20% failed: 3 of 10 stops (2 of 10 would not).
    ([F, OK, F, OK, OK, OK, OK, OK, OK, F], 10),
    ([F, OK, F, OK, OK, OK, OK, OK, OK, OK, OK], None),
    ([OK] * 9 + [F, F, F], 12),
])
def test_breaker_trips_on_attempted_actions(outcomes: list[bool], stops_after: int | None) -> None:
    breaker = ErrorRateBreaker(max_rate=0.2, min_sample=10, max_consecutive=5)
    stopped = None
    for n, failed in enumerate(outcomes, start=1):
        breaker.record(failed=failed)
        if breaker.tripped is not None:
            stopped = n
            break
    assert stopped == stops_after


EXTRA = 40  # public copies of the contractor roster: a plan far larger than the failures allowed


def add_public_rosters(emulator) -> None:
    ws = emulator.workspace
    source = ws.files[fid("roster_csv")]
    with ws.lock:
        for n in range(EXTRA):
            make_file(ws, fid=f"rostercopy{n:03d}", name=f"roster copy {n}.csv", mime="text/csv", owner=MAYA,
                      created="2026-01-12T09:30:00.000Z", perms=[anyone_perm()], content=source.content)


def test_failures_stop_remediation_after_the_cap_and_the_scan_exits_11(make_app, emulator) -> None:  # noqa: F811
    add_public_rosters(emulator)
    app = make_app(limits={"max_retries": 0},
                   remediation={"max_actions_per_run": 200, "max_error_rate": 0.2, "error_rate_min_sample": 10,
                                "max_consecutive_failures": 5})
    emulator.set_faults([FaultRule("drive.permissions.delete", kind="500")])
    state = State(None, 0, False)
    state._app = app
    out = CliRunner().invoke(scan, ["--full", "--apply", "--no-progress", "--format", "json"], obj=state)
    assert out.exit_code == int(ExitCode.REMEDIATION_STOPPED), out.output
    with app.sessions() as s:
        failed = s.scalars(select(RemediationAction).where(RemediationAction.status == "failed")).all()
        stops = [e.data for e in s.scalars(select(AuditEvent).where(AuditEvent.event_type == "remediation.stopped"))]
    assert len(failed) == 5  # not 11 (20% of the ~55 planned), not 26
    assert emulator.counters["drive.permissions.delete"] == 5
    assert stops == [{"reason": "5 attempted actions failed in a row (max_consecutive_failures=5)",
                      "attempted": 5, "failed": 5, "consecutive_failures": 5}]
    assert "remediation stopped: error rate: 5 attempted actions failed in a row" in " ".join(out.output.split())
