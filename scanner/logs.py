"""Logging for people and for machines: text lines, or one JSON object per line (``--log-format json``).

Every record carries the process's invocation id, and the scan run id while a scan runs, so the lines
of one night's run can be picked out of ``journalctl`` or ``kubectl logs``. Structured details travel
as ``extra={...}`` fields (counts, ids, entity types: never document text or matched values); an
exception is logged as its type and stack frames, not its message, which may quote data.

Progress lines and run summaries are logged on :data:`PROGRESS_LOGGER` at INFO, which is shown even
when the rest of the log is at WARNING: a run under cron or Kubernetes is never silent.

Stdlib only: the CLI imports this before it knows which command runs.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
import traceback
from enum import StrEnum
from typing import IO, Any


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


#: Progress lines and run summaries: always at INFO, whatever ``-v`` says.
PROGRESS_LOGGER = "scanner.progress"

#: Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime"}


class LogContext:
    """What every record of this process says about where it comes from (thread-safe)."""

    def __init__(self) -> None:
        self.invocation = os.urandom(6).hex()
        #: The format :func:`configure` chose (the CLI reports its own errors in it too).
        self.format = LogFormat.TEXT
        self._run_id: int | None = None
        self._lock = threading.Lock()

    @property
    def run_id(self) -> int | None:
        with self._lock:
            return self._run_id

    def bind_run(self, run_id: int | None) -> None:
        with self._lock:
            self._run_id = run_id


#: One per process: logging itself is process-wide.
CONTEXT = LogContext()


def bind_run(run_id: int | None) -> None:
    """Mark every record from now on (any thread) with this scan run id; None clears it."""
    CONTEXT.bind_run(run_id)


class ContextFilter(logging.Filter):
    """Adds ``invocation`` and ``run_id`` to every record that passes the handler."""

    def __init__(self, context: LogContext = CONTEXT) -> None:
        super().__init__()
        self.context = context

    def filter(self, record: logging.LogRecord) -> bool:
        record.invocation = self.context.invocation
        if getattr(record, "run_id", None) is None:  # a record may name its run itself (e.g. a run's summary)
            record.run_id = self.context.run_id
        return True


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, invocation, run_id, then the extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "invocation": getattr(record, "invocation", CONTEXT.invocation),
            "run_id": getattr(record, "run_id", CONTEXT.run_id),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and key not in out and not key.startswith("_"):
                out[key] = _jsonable(value)
        if record.exc_info and record.exc_info[0] is not None:
            out["error"] = record.exc_info[0].__name__
            out["stack"] = "".join(traceback.format_tb(record.exc_info[2])).rstrip()
        return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """``2026-03-01 02:00:03,123 WARNING scanner.connectors.google.client [run 42]: message``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(run)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        run_id = getattr(record, "run_id", None)
        record.run = f" [run {run_id}]" if run_id is not None else ""
        return super().format(record)

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return f"{ei[0].__name__}\n" + "".join(traceback.format_tb(ei[2])).rstrip()


class _OurHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler :func:`configure` installed (replaced, not stacked, when called again)."""


def configure(*, verbose: int = 0, fmt: LogFormat | str = LogFormat.TEXT,
              stream: IO[str] | None = None) -> logging.Handler:
    """Install one handler on the root logger: WARNING (``-v`` INFO, ``-vv`` DEBUG), progress at INFO."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _OurHandler):
            root.removeHandler(handler)
    handler = _OurHandler(stream)
    handler.addFilter(ContextFilter())
    CONTEXT.format = LogFormat(fmt)
    handler.setFormatter(JsonFormatter() if CONTEXT.format is LogFormat.JSON else TextFormatter())
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose >= 2 else logging.INFO if verbose == 1 else logging.WARNING)
    logging.getLogger(PROGRESS_LOGGER).setLevel(logging.INFO)
    return handler

