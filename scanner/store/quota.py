"""The quota ledger: API calls and Google quota units each run spent, per method.

Written once when a run ends (one multi-row insert), read by ``sharescan scans show``, exports and
``sharescan scan --estimate``. Costs come from ``scanner.connectors.google.quota`` (one table).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from scanner.store.models import QuotaLedgerEntry


@dataclass(frozen=True)
class LedgerLine:
    method: str
    calls: int
    units: int


def record_ledger(session: Session, run_id: int, calls: Mapping[str, int], units: Mapping[str, int]) -> None:
    """Replace ``run_id``'s ledger with these counts (a resumed or re-finished run records its totals once)."""
    session.execute(delete(QuotaLedgerEntry).where(QuotaLedgerEntry.run_id == run_id))
    rows = [{"run_id": run_id, "method": method, "calls": int(calls.get(method, 0)),
             "units": int(units.get(method, 0))} for method in sorted(set(calls) | set(units))]
    if rows:
        session.execute(insert(QuotaLedgerEntry), rows)


def run_ledger(session: Session, run_id: int) -> list[LedgerLine]:
    """The run's ledger, most units first."""
    rows = session.execute(select(QuotaLedgerEntry.method, QuotaLedgerEntry.calls, QuotaLedgerEntry.units)
                           .where(QuotaLedgerEntry.run_id == run_id)
                           .order_by(QuotaLedgerEntry.units.desc(), QuotaLedgerEntry.method))
    return [LedgerLine(method=m, calls=int(c), units=int(u)) for m, c, u in rows]
