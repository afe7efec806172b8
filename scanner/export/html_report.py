"""The HTML report: one self-contained file (inline CSS and SVG, no scripts, no requests), rendered
from the Jinja2 template ``templates/report.html.j2``.

Autoescaping is on for the whole template, and every value passes the environment's ``finalize``:
Drive-chosen text (file names, owners, titles) goes through :func:`scanner.safetext.display`, an
empty value shows as "—". Only the SVG charts (built from escaped labels) enter as ``Markup``.
The page's Content-Security-Policy also forbids scripts.

The report prints: landscape pages, table headers repeated on every page, long values wrapped,
no column clipped; on a phone each table row becomes a card of label/value lines.

It holds aggregates for everything but shows at most :data:`ROW_LIMIT` rows per table (a note under
a cut table says so and points to the CSV/JSONL files, which hold every row), so its size and the
memory to build it do not grow with the number of findings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from scanner.export.collect import ExportData
from scanner.export.model import (
    SEVERITIES,
    ActionRecord,
    BreachCandidate,
    ContentGap,
    CoverageRecord,
    FindingRecord,
    RunRecord,
)
from scanner.export.svg import SEVERITY_COLOURS, bar_chart, column_chart
from scanner.export.values import to_jsonable
from scanner.export.writers import WRITERS
from scanner.safetext import display

#: Most rows shown in one table of the report.
ROW_LIMIT = 5_000

#: How exposure classes read in the report.
EXPOSURE_WORDS = {
    "public": "public on the web", "published": "published to the web", "anyone_with_link": "anyone with the link",
    "external_domain": "an external domain", "external_user": "external people", "external_group": "an external group",
    "domain": "the whole organisation", "internal": "internal only",
}


def when(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def _finalize(value: Any) -> Any:
    if isinstance(value, Markup):  # the output of a macro or a chart, already safe
        return value
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, dt.datetime):
        return when(value)
    if isinstance(value, str):
        return display(value)
    return value


def _text(value: Any) -> str:
    """Lists and mappings as a readable line: 'a, b' and 'EMAIL_ADDRESS 38, PERSON 38'."""
    value = to_jsonable(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return "" if value is None else str(value)


def _safe_link(url: str | None) -> str | None:
    return url if url and urlparse(url).scheme in ("https", "http") else None


def _reasons(reasons: dict[str, Any]) -> str:
    """A coverage row's reasons as words: 'too large: 1 file; target: 403 insufficientFilePermissions'."""
    parts = []
    for key, value in reasons.items():
        label = key.replace("_", " ")
        if isinstance(value, int) and not isinstance(value, bool):
            parts.append(f"{label}: {value} file{'s' if value != 1 else ''}")
        else:
            parts.append(f"{label}: {value}")
    return "; ".join(parts)


def environment() -> Environment:
    env = Environment(loader=PackageLoader("scanner.export", "templates"), autoescape=True, finalize=_finalize,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(text=_text, when=when, link=_safe_link, reasons=_reasons,
                       exposure=lambda e: EXPOSURE_WORDS.get(e, e) if e else None)
    env.globals.update(SEVERITIES=SEVERITIES)
    return env


class _Earliest:
    """The ``limit`` smallest keys of a stream, ties kept in arrival order (``sorted(...)[:limit]``)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: list[tuple[Any, int, Any]] = []
        self.bound: Any = None
        self.seen = 0

    def offer(self, key: Any, make: Callable[[], Any]) -> None:
        self.seen += 1
        if self.bound is not None and key >= self.bound:
            return  # a later arrival with an equal key sorts after the kept ones
        self.items.append((key, self.seen, make()))
        if len(self.items) >= 2 * self.limit:
            self._trim()

    def _trim(self) -> None:
        self.items.sort(key=lambda t: (t[0], t[1]))
        del self.items[self.limit:]
        self.bound = self.items[-1][0] if self.items and len(self.items) == self.limit else None

    def rows(self) -> list[Any]:
        self._trim()
        return [row for _, _, row in self.items]


@dataclass(frozen=True)
class Window:
    file_name: str
    file_link: str | None
    exposure: str
    start: dt.datetime
    end: dt.datetime | None
    hours: float
    reshares: int


class FindingTables:
    """What the report keeps of the findings pass: the first findings (by id) and the earliest exposure windows."""

    def __init__(self, generated_at: dt.datetime, limit: int) -> None:
        self.generated_at = generated_at
        self.limit = limit
        self.rows: list[FindingRecord] = []
        self.windows = _Earliest(limit)

    def add(self, f: FindingRecord) -> None:
        if len(self.rows) < self.limit:
            self.rows.append(f)
        self.windows.offer(f.exposed_since or f.first_seen, lambda: self._window(f))

    def _window(self, f: FindingRecord) -> Window:
        start = f.exposed_since or f.first_seen
        end = f.remediated_at or f.resolved_at
        hours = ((end or self.generated_at) - start).total_seconds() / 3600
        return Window(f.file_name, f.file_link, f.exposure_before, start, end, round(hours, 1), f.recurrence_count)


@dataclass
class BreachGroup:
    """The breach candidates of one file, ranked by the most urgent of them."""

    rank: int
    file_id: str
    file_name: str
    file_link: str | None
    owner_email: str | None
    candidates: list[BreachCandidate] = field(default_factory=list)

    @property
    def state(self) -> str:
        return self.candidates[0].deadline_state


def breach_groups(candidates: Iterable[BreachCandidate], limit: int) -> tuple[list[BreachGroup], int]:
    """Group candidates (already overdue first, then by deadline) per file, in the order of each file's
    most urgent candidate; at most ``limit`` candidates. Returns (groups, candidates shown)."""
    groups: dict[str, BreachGroup] = {}
    shown = 0
    for b in candidates:
        if shown >= limit:
            break
        group = groups.get(b.file_id)
        if group is None:
            group = groups[b.file_id] = BreachGroup(len(groups) + 1, b.file_id, b.file_name, b.file_link, b.owner_email)
        group.candidates.append(b)
        shown += 1
    return list(groups.values()), shown


@dataclass(frozen=True)
class RunRow:
    run: RunRecord
    seen: int
    exposed: int
    analysed: int
    skipped: int
    failed: int


@dataclass
class Runs:
    """One pass over the scan runs: the chart's columns, capped table rows, targets not fully covered."""

    chart: list[tuple[str, dict[str, int]]] = field(default_factory=list)
    rows: list[RunRow] = field(default_factory=list)
    gaps: list[tuple[int, CoverageRecord]] = field(default_factory=list)
    gaps_total: int = 0

    @classmethod
    def read(cls, runs: Iterator[RunRecord], limit: int) -> Runs:
        out = cls()
        for r in runs:
            exposed = sum(c.files_exposed for c in r.coverage)
            out.chart.append((f"#{r.id} {r.started_at:%m-%d}", {
                "new findings": r.new_findings, "actions": r.actions, "files exposed": exposed}))
            if len(out.rows) < limit:
                out.rows.append(RunRow(r, sum(c.files_seen for c in r.coverage), exposed,
                                       sum(c.files_analysed for c in r.coverage),
                                       sum(c.files_skipped for c in r.coverage),
                                       sum(c.files_failed for c in r.coverage)))
            for c in r.coverage:
                if c.status != "done" or c.files_skipped or c.files_failed:
                    out.gaps_total += 1
                    if len(out.gaps) < limit:
                        out.gaps.append((r.id, c))
        return out


def _charts(data: ExportData, runs: Runs) -> list[Markup]:
    m = data.metrics
    sev = [(s.severity, s.findings) for s in m.by_severity if s.findings or s.severity in SEVERITIES[:4]]
    owners = list(m.by_owner.items())[:10]
    charts = [
        bar_chart(sev, title="Findings by severity", colours=SEVERITY_COLOURS),
        bar_chart([(EXPOSURE_WORDS.get(k, k), v) for k, v in m.by_exposure.items()], title="Findings by exposure"),
        bar_chart(owners, title="Findings by owner (top 10)"),
        bar_chart(list(m.by_status.items()), title="Findings by status"),
        bar_chart(list(m.open_by_age.items()), title="Open findings by age"),
    ]
    over_time = column_chart(runs.chart, [("new findings", "#d2452f"), ("actions", "#2e8b57"),
                                          ("files exposed", "#2f5fd0")], title="Per scan run")
    return [Markup(c) for c in [*charts, over_time]]  # noqa: S704 - built from escaped labels


def _actions(data: ExportData, limit: int) -> tuple[list[ActionRecord], dict[int, str], int]:
    """Sharing changes (a notify action is not a row of its own: its outcome shows on the finding's changes),
    whether each finding's owner was told, and how many changes there are in all."""
    notified: dict[int, str] = {}
    total = 0
    for a in data.actions():
        if a.action == "notify":
            if a.finding_id is not None:
                notified[a.finding_id] = "owner notified" if a.status == "applied" else f"not notified ({a.status})"
        else:
            total += 1
    rows = []
    for a in data.actions():
        if a.action != "notify":
            rows.append(a)
            if len(rows) >= limit:
                break
    return rows, notified, total


def render_report(data: ExportData, tables: FindingTables) -> str:
    """The page, once :meth:`ExportData.scan_findings` has fed ``tables`` (and computed the aggregates)."""
    limit = tables.limit
    runs = Runs.read(data.runs(), limit)
    groups, breach_shown = breach_groups(data.breach_candidates(), limit)
    actions, notified, actions_total = _actions(data, limit)
    gaps: list[ContentGap] = []
    for g in data.content_gaps():
        if len(gaps) >= limit:
            break
        gaps.append(g)
    exemptions = data.exemptions()
    scope = f"since {when(data.since)}" if data.since else "all time"
    if data.statuses:
        scope += f", status {', '.join(data.statuses)}"
    controls = data.controls
    sections = [
        ("summary", "Summary"), ("breach", "Breach candidates"), ("compliance", "Compliance controls"),
        ("charts", "Charts"), ("metrics", "Metrics"), ("findings", "Findings"), ("windows", "Exposure windows"),
        ("actions", "Remediation actions"), ("coverage", "Coverage"), ("exemptions", "Exceptions and accepted risks"),
    ]
    template = environment().get_template("report.html.j2")
    return template.render(
        data=data, sections=sections, scope=scope, runs=runs, charts=_charts(data, runs),
        groups=groups, breach_shown=breach_shown, findings=tables.rows, windows=tables.windows.rows(),
        actions=actions, notified=notified, actions_total=actions_total, content_gaps=gaps,
        exemptions=exemptions[:limit], exemptions_total=len(exemptions),
        frameworks=[(fw, [c for c in controls if c.framework == fw.id]) for fw in data.mapping.frameworks],
        generated=when(data.generated_at),
    )


@WRITERS.register
class HtmlWriter:
    name = "html"

    def __init__(self, row_limit: int | None = None) -> None:
        self.row_limit = ROW_LIMIT if row_limit is None else row_limit
        self.tables: FindingTables | None = None

    def start(self, data: ExportData, out_dir: Path, files: ExitStack) -> Callable[[FindingRecord], None]:
        self.tables = FindingTables(data.generated_at, self.row_limit)
        return self.tables.add

    def finish(self, data: ExportData, out_dir: Path) -> list[str]:
        assert self.tables is not None, "start() first"
        (out_dir / "report.html").write_text(render_report(data, self.tables), encoding="utf-8")
        return ["report.html"]
