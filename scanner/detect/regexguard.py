"""A time bound, set by sharescan, on every recognizer pattern.

Presidio runs its patterns with the ``regex`` module and a 60 s timeout per pattern per call,
then logs and carries on: a catastrophic custom pattern such as ``(a+)+$`` on a long run of
``a`` costs a minute per text segment and the document still looks fully analysed.

``RegexGuard.install(recognizers)`` gives each pattern of each ``PatternRecognizer`` a
``GuardedRegex``: the same compiled ``regex`` pattern, run with ``timeout=seconds`` (the engine
stops backtracking there) and with the engine's time over the whole iteration bounded by the same
time (what Presidio does with each match - e.g. the e-mail recognizer's first domain-list load -
is not counted). A pattern that
timed out is recorded once (recognizer and pattern name - configuration, never text) and is not
run again on the rest of that document; the pipeline turns the records into
``ContentResult.partial``. Detections found by every other pattern stand.

RE2 (``google-re2``, linear time) was considered for these patterns: Presidio's own predefined
patterns use look-behind and look-ahead, which RE2 does not support, so the bound is a timeout.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Iterable, Iterator
from typing import Any

import regex

from scanner.detect.models import PartialKind, PartialReason

DEFAULT_SECONDS = 1.0


class RegexTimeBound(TimeoutError):
    """Our bound stopped a pattern (Presidio catches ``TimeoutError`` and keeps earlier matches)."""


class QuietOwnTimeouts(logging.Filter):
    """Drops Presidio's warning and traceback for a pattern *our* bound stopped: sharescan reports it
    itself, as the file's partial reason (Presidio's line says "60 seconds", which is not what ran)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, RegexTimeBound)


class GuardedRegex:
    """Stands in for a pattern's compiled regex inside a Presidio ``PatternRecognizer``."""

    def __init__(self, compiled: Any, source: str, guard: RegexGuard) -> None:
        self.compiled = compiled
        self.source = source
        self.guard = guard

    def finditer(self, text: str, *args: Any, **kwargs: Any) -> Iterator[Any]:
        kwargs.pop("timeout", None)  # Presidio's 60 s: ours replaces it
        return self.guard.run(self, text, args, kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.compiled, name)


class RegexGuard:
    """Per process (one per ``Analyzer``); ``begin()`` before each document, ``reasons`` after."""

    def __init__(self, seconds: float = DEFAULT_SECONDS) -> None:
        if not 0 < seconds < float("inf"):
            raise ValueError(f"regex time bound must be a positive number of seconds, not {seconds!r}")
        self.seconds = seconds
        self._timed_out: dict[str, PartialReason] = {}
        self.patterns = 0

    def install(self, recognizers: Iterable[Any]) -> int:
        """Wrap the patterns of every pattern recognizer; returns how many were wrapped."""
        for rec in recognizers:
            flags = getattr(rec, "global_regex_flags", None)
            if not getattr(rec, "patterns", None):
                continue
            # predefined recognizers share their class's Pattern objects: each engine gets copies
            rec.patterns = [copy.copy(p) for p in rec.patterns]
            for pattern in rec.patterns:
                compiled = regex.compile(pattern.regex, flags=flags or 0)
                # Presidio recompiles only when the flags differ from these
                pattern.compiled_with_flags = flags
                pattern.compiled_regex = GuardedRegex(compiled, f"{rec.name}/{pattern.name}", self)
                self.patterns += 1
        return self.patterns

    def begin(self) -> None:
        """A new document: every pattern runs again."""
        self._timed_out.clear()

    @property
    def reasons(self) -> tuple[PartialReason, ...]:
        return tuple(self._timed_out.values())

    def run(self, guarded: GuardedRegex, text: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Iterator[Any]:
        if guarded.source in self._timed_out:
            return  # stopped once in this document: not run again on its other segments
        matches = guarded.compiled.finditer(text, *args, timeout=self.seconds, **kwargs)
        spent = 0.0  # time inside the regex engine only (not what the caller does with each match)
        try:
            while True:
                started = time.monotonic()
                try:
                    match = next(matches)
                except StopIteration:
                    return
                finally:
                    spent += time.monotonic() - started
                if spent > self.seconds:
                    raise TimeoutError("regex time bound")
                yield match
        except TimeoutError:
            self._timed_out[guarded.source] = PartialReason(PartialKind.REGEX_TIMEOUT, guarded.source, self.seconds)
            # Presidio catches this and keeps the pattern's earlier matches; QuietOwnTimeouts drops its log
            raise RegexTimeBound(f"regex time bound ({self.seconds}s)") from None
