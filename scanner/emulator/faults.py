"""Fault injection: probabilistic or scripted errors, latency, token expiry, dropped connections, and
killing the client process at a chosen request (crash tests).

``kill_before``: SIGKILL ``pid`` on this request and drop it unanswered (the change is *not* made).
``kill_after``: make the change, then SIGKILL ``pid`` before answering (the change *is* made, the
client never learns it). Both fire once per rule unless ``times`` says otherwise.
"""

from __future__ import annotations

import fnmatch
import random
import threading
from dataclasses import dataclass, field
from typing import Any

# kind -> (status, reason, message, domain); domains as in Drive's "Resolve errors" guide
FAULT_KINDS: dict[str, tuple[int, str, str, str]] = {
    "429": (429, "rateLimitExceeded", "Rate Limit Exceeded", "usageLimits"),
    "rateLimitExceeded": (403, "rateLimitExceeded", "Rate Limit Exceeded", "usageLimits"),
    "userRateLimitExceeded": (403, "userRateLimitExceeded", "User Rate Limit Exceeded", "usageLimits"),
    "sharingRateLimitExceeded": (403, "sharingRateLimitExceeded", "Sharing Rate Limit Exceeded", "global"),
    "500": (500, "backendError", "Internal Error", "global"),
    "backendError": (500, "backendError", "Backend Error", "global"),
    "503": (503, "backendError", "The service is currently unavailable.", "global"),
}
KILLS = {"kill_before", "kill_after"}
SPECIAL = {"ok", "latency", "expire_token", "drop", *KILLS}


@dataclass
class FaultRule:
    """One rule. `endpoint` is an fnmatch pattern over names such as ``drive.files.list``.

    Either `sequence` (consumed one item per matching call, e.g. ``["429", "ok"]``) or `kind` with
    `rate` (probability per call) and optional `times` (max firings). `latency` seconds apply to
    ``kind="latency"`` (and are added before any other fault of this rule). `path` narrows the rule
    to requests whose URL path matches (fnmatch, e.g. ``"*/files/FILE_ID*"`` for one file). The kill
    kinds need `pid` and fire once unless `times` is set.
    """

    endpoint: str = "*"
    kind: str = "429"
    rate: float = 1.0
    times: int | None = None
    sequence: list[str] = field(default_factory=list)
    latency: float = 0.0
    fired: int = 0
    path: str = "*"
    pid: int | None = None

    def __post_init__(self) -> None:
        for k in [self.kind, *self.sequence]:
            if k not in FAULT_KINDS and k not in SPECIAL:
                raise ValueError(f"unknown fault kind {k!r}; use one of {sorted([*FAULT_KINDS, *SPECIAL])}")
        if KILLS & {self.kind, *self.sequence}:
            if not self.pid or self.pid <= 1:
                raise ValueError("kill faults need the pid of the process to kill")
            if self.times is None and not self.sequence:
                self.times = 1

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultRule:
        pid = data.get("pid")
        return cls(endpoint=data.get("endpoint", "*"), kind=str(data.get("kind", "429")),
                   rate=float(data.get("rate", 1.0)), times=data.get("times"),
                   sequence=[str(s) for s in data.get("sequence", [])], latency=float(data.get("latency", 0.0)),
                   path=str(data.get("path", "*")), pid=int(pid) if pid is not None else None)

    def to_json(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "kind": self.kind, "rate": self.rate, "times": self.times,
                "sequence": self.sequence, "latency": self.latency, "fired": self.fired, "path": self.path,
                "pid": self.pid}


@dataclass(frozen=True)
class Fault:
    kind: str
    latency: float = 0.0
    pid: int | None = None

    @property
    def error(self) -> tuple[int, str, str, str] | None:
        return FAULT_KINDS.get(self.kind)


@dataclass
class FaultPlan:
    rules: list[FaultRule] = field(default_factory=list)
    seed: int = 0
    _rng: random.Random = field(default_factory=random.Random, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._rng.seed(self.seed)

    def pick(self, endpoint: str, path: str = "") -> Fault | None:
        """The fault for this call, if any (first matching rule that fires)."""
        if not self.rules:
            return None
        with self._lock:
            for rule in self.rules:
                if not fnmatch.fnmatchcase(endpoint, rule.endpoint):
                    continue
                if rule.path != "*" and not fnmatch.fnmatchcase(path, rule.path):
                    continue
                if rule.sequence:
                    if rule.fired >= len(rule.sequence):
                        continue
                    kind = rule.sequence[rule.fired]
                    rule.fired += 1
                    if kind == "ok":
                        return None
                    return Fault(kind, rule.latency, rule.pid)
                if rule.times is not None and rule.fired >= rule.times:
                    continue
                if self._rng.random() < rule.rate:
                    rule.fired += 1
                    return Fault(rule.kind, rule.latency, rule.pid)
        return None
