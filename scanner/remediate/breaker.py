"""The error-rate breaker: when to stop acting because too many attempted actions failed.

It counts actions that were *attempted* (an enforced change that ran, whatever its outcome), never
the planned total: with 125 actions planned, 26 failures in a row are 100% of what was tried, not
21% of the plan. It trips when, after at least ``min_sample`` attempts, more than ``max_rate`` of
them failed, or when ``max_consecutive`` attempts failed in a row (whatever the sample).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ErrorRateBreaker:
    max_rate: float
    min_sample: int
    max_consecutive: int
    attempted: int = 0
    failed: int = 0
    consecutive: int = 0

    def record(self, *, failed: bool) -> None:
        self.attempted += 1
        if failed:
            self.failed += 1
            self.consecutive += 1
        else:
            self.consecutive = 0

    @property
    def tripped(self) -> str | None:
        """Why to stop now (None: go on)."""
        if self.consecutive >= self.max_consecutive:
            return f"{self.consecutive} attempted actions failed in a row (max_consecutive_failures=" \
                   f"{self.max_consecutive})"
        if self.attempted >= self.min_sample and self.failed > self.max_rate * self.attempted:
            return (f"{self.failed} of {self.attempted} attempted actions failed "
                    f"({self.failed / self.attempted:.0%} > max_error_rate={self.max_rate:.0%})")
        return None

    def state(self) -> dict[str, int]:
        return {"attempted": self.attempted, "failed": self.failed, "consecutive_failures": self.consecutive}
