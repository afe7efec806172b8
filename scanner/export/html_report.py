"""The HTML report: one self-contained file (inline CSS and SVG, no scripts, no requests).

Every value from the database passes through :func:`html.escape` — file names, owners and
rule titles are attacker-controlled. The page's Content-Security-Policy also forbids scripts.

The report holds aggregates for everything but shows at most :data:`ROW_LIMIT` rows per table
(a note under a cut table says so and points to the CSV/JSONL files, which hold every row), so its
size and the memory to build it do not grow with the number of findings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from html import escape
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import urlparse

from scanner.cli.render import to_jsonable
from scanner.export.collect import ExportData
from scanner.export.model import SEVERITIES, FindingRecord, RunRecord
from scanner.export.svg import SEVERITY_COLOURS, bar_chart, column_chart

#: Most rows shown in one table of the report.
ROW_LIMIT = 5_000


def _t(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def _cell(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return escape(_t(value))
    value = to_jsonable(value)
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list):
        return escape(", ".join(str(v) for v in value))
    if isinstance(value, dict):
        return escape(", ".join(f"{k}: {v}" for k, v in value.items()))
    return escape(str(value))


def _link(name: str, url: str | None) -> str:
    label = escape(name or "(untitled)")
    if url and urlparse(url).scheme in ("https", "http"):
        return f'<a href="{escape(url, quote=True)}" rel="noopener noreferrer">{label}</a>'
    return label


def _sev(severity: str) -> str:
    cls = severity if severity in SEVERITIES else "info"
    return f'<span class="sev sev-{cls}">{escape(severity)}</span>'


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, numeric: Sequence[int] = (),
           empty: str = "none") -> str:
    body = ["<tr>" + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
                             for i, c in enumerate(r)) + "</tr>" for r in rows]
    if not body:
        return f'<p class="empty">{escape(empty)}</p>'
    head = "".join(f'<th class="num">{escape(h)}</th>' if i in numeric else f"<th>{escape(h)}</th>"
                   for i, h in enumerate(headers))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _take(rows: Iterable[list[str]], limit: int) -> list[list[str]]:
    out: list[list[str]] = []
    for row in rows:
        if len(out) >= limit:
            break
        out.append(row)
    return out


def _cut(shown: int, total: int, what: str, where: str) -> str:
    """The note under a table that shows only part of its rows ("" when it shows them all)."""
    if shown >= total:
        return ""
    return (f'<p class="muted">Showing {shown:,} of {total:,} {escape(what)}. Every row is in {escape(where)} '
            f'(sharescan export --format csv or --format jsonl).</p>')


class _Earliest:
    """The ``limit`` smallest keys of a stream, ties kept in arrival order (``sorted(...)[:limit]``)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: list[tuple[Any, int, list[str]]] = []
        self.bound: Any = None
        self.seen = 0

    def offer(self, key: Any, make: Callable[[], list[str]]) -> None:
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

    def rows(self) -> list[list[str]]:
        self._trim()
        return [row for _, _, row in self.items]


def _section(title: str, inner: str, anchor: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{inner}</section>'


def _summary(data: ExportData) -> str:
    status = data.metrics.by_status
    open_n = status.get("open", 0)
    cards = [
        ("Findings", data.findings_total, False), ("Open", open_n, open_n > 0),
        ("Remediated", status.get("remediated", 0), False),
        ("Accepted", status.get("accepted", 0), False),
        ("Breach candidates", data.breach_total, bool(data.breach_total)),
        ("Overdue notifications", data.breach_overdue, data.breach_overdue > 0),
        ("Actions", data.actions_total, False), ("Scan runs", data.runs_total, False),
        ("Files not analysed", data.content_gaps_total, bool(data.content_gaps_total)),
        ("Re-shares", data.metrics.reshares_total, data.metrics.reshares_total > 0),
    ]
    html = "".join(f'<div class="card{" alert" if alert else ""}"><div class="n">{n}</div>'
                   f'<div class="l">{escape(label)}</div></div>' for label, n, alert in cards)
    chain = ("intact" if data.audit_chain_ok else "BROKEN — run sharescan audit verify")
    meta = (f'<p class="muted">Audit log: {data.audit_events} events, chain {escape(chain)}, head '
            f'<span class="mono">{escape(data.audit_head_hash)}</span></p>')
    return _section("Summary", f'<div class="cards">{html}</div>{meta}', "summary")


@dataclass
class _Runs:
    """One pass over the scan runs: the chart's columns (one small tuple per run) and capped table rows."""

    chart: list[tuple[str, dict[str, int]]]
    rows: list[list[str]]
    gaps: list[list[str]]
    gaps_total: int

    @classmethod
    def read(cls, runs: Iterator[RunRecord], limit: int) -> _Runs:
        out = cls([], [], [], 0)
        for r in runs:
            out.chart.append((f"#{r.id} {r.started_at:%m-%d}", {
                "new findings": r.new_findings, "actions": r.actions,
                "files exposed": sum(c.files_exposed for c in r.coverage)}))
            if len(out.rows) < limit:
                out.rows.append([f"#{r.id}", escape(r.kind), escape(r.status), escape(r.remediation_mode),
                                 _cell(r.started_at), _cell(r.finished_at), str(sum(c.files_seen for c in r.coverage)),
                                 str(sum(c.files_analysed for c in r.coverage)),
                                 str(sum(c.files_skipped for c in r.coverage)),
                                 str(sum(c.files_failed for c in r.coverage)), _cell(r.error)])
            for c in r.coverage:
                if c.status != "done" or c.files_skipped or c.files_failed:
                    out.gaps_total += 1
                    if len(out.gaps) < limit:
                        out.gaps.append([f"#{r.id}", f"{escape(c.target_kind)}: {escape(c.target_key)}",
                                         escape(c.status), str(c.files_skipped), str(c.files_failed),
                                         _cell(c.reasons)])
        return out


def _charts(data: ExportData, runs: _Runs) -> str:
    m = data.metrics
    sev = [(s.severity, s.findings) for s in m.by_severity if s.findings or s.severity in SEVERITIES[:4]]
    owners = list(m.by_owner.items())[:10]
    charts = [
        bar_chart(sev, title="Findings by severity", colours=SEVERITY_COLOURS),
        bar_chart(list(m.by_exposure.items()), title="Findings by exposure"),
        bar_chart(owners, title="Findings by owner (top 10)"),
        bar_chart(list(m.by_status.items()), title="Findings by status"),
        bar_chart(list(m.open_by_age.items()), title="Open findings by age"),
    ]
    over_time = column_chart(runs.chart, [("new findings", "#d2452f"), ("actions", "#2e8b57"),
                                          ("files exposed", "#2f5fd0")], title="Per scan run")
    inner = f'<div class="grid">{"".join(f"<div>{c}</div>" for c in charts)}</div><h3>Over time</h3>{over_time}'
    return _section("Charts", inner, "charts")


def _metrics(data: ExportData) -> str:
    rows = []
    for s in data.metrics.by_severity:
        if not s.findings:
            continue
        rows.append([_sev(s.severity), str(s.findings), str(s.open), _cell(s.time_to_detect.median_hours),
                     _cell(s.time_to_detect.max_hours), _cell(s.time_to_remediate.median_hours),
                     _cell(s.time_to_remediate.max_hours)])
    table = _table(["severity", "findings", "open", "detect median h", "detect max h", "remediate median h",
                    "remediate max h"], rows, numeric=(1, 2, 3, 4, 5, 6), empty="no findings")
    note = ('<p class="muted">Time to detect = first seen − exposed since; time to remediate = remediated at − '
            'first seen.</p>')
    return _section("Metrics", table + note, "metrics")


def _breach(data: ExportData, limit: int) -> str:
    rows = _take(([_link(b.file_name, b.file_link), _cell(b.owner_email), escape(b.exposure),
                   _cell(b.data_categories), _cell(b.entity_counts), _cell(b.exposure_start),
                   _cell(b.exposure_end) if b.exposure_end else "ongoing", f"{b.exposure_hours:.1f}",
                   _cell(b.detected_at), _cell(b.notification_deadline),
                   f'<span class="state-{escape(b.deadline_state)}">{escape(b.deadline_state)}</span>']
                  for b in data.breach_candidates()), limit)
    intro = (f'<p>Personal data exposed outside the organisation. GDPR Art. 33 deadline = detection + '
             f'{data.breach_deadline_hours} h.</p>')
    return _section("Breach candidates", intro + _table(
        ["file", "owner", "exposure", "categories", "entities", "exposed from", "until", "hours", "detected",
         "deadline", "state"], rows, numeric=(7,), empty="no breach candidates")
        + _cut(len(rows), data.breach_total, "breach candidates (overdue first, then by deadline)",
               "csv/breach_candidates.csv and jsonl/breach_candidates.jsonl"), "breach")


class FindingTables:
    """What the report keeps of the findings pass: the first rows (by id) and the earliest exposure windows."""

    def __init__(self, generated_at: dt.datetime, limit: int) -> None:
        self.generated_at = generated_at
        self.limit = limit
        self.rows: list[list[str]] = []
        self.windows = _Earliest(limit)

    def add(self, f: FindingRecord) -> None:
        if len(self.rows) < self.limit:
            self.rows.append([str(f.id), _sev(f.severity), _link(f.file_name, f.file_link), _cell(f.owner_email),
                              escape(f.exposure_before), _cell(f.exposure_after), _cell(f.data_categories),
                              _cell(f.entity_totals()), escape(f.rule_id), escape(f.status), _cell(f.first_seen),
                              _cell(f.exposed_since), _cell(f.remediated_at)])
        self.windows.offer(f.exposed_since or f.first_seen, lambda: self._window(f))

    def _window(self, f: FindingRecord) -> list[str]:
        start = f.exposed_since or f.first_seen
        end = f.remediated_at or f.resolved_at
        hours = ((end or self.generated_at) - start).total_seconds() / 3600
        return [_link(f.file_name, f.file_link), escape(f.exposure_before), _cell(start),
                _cell(end) if end else "ongoing", f"{hours:.1f}", str(f.recurrence_count)]


def _findings(data: ExportData, tables: FindingTables) -> str:
    return _section("Findings", _table(
        ["id", "severity", "file", "owner", "exposure", "after", "categories", "entities", "rule", "status",
         "first seen", "exposed since", "remediated"], tables.rows, numeric=(0,), empty="no findings")
        + _cut(len(tables.rows), data.findings_total, "findings (by id)", "csv/findings.csv and jsonl/findings.jsonl"),
        "findings")


def _windows(data: ExportData, tables: FindingTables) -> str:
    rows = tables.windows.rows()
    return _section("Exposure windows", _table(["file", "exposure", "from", "until", "hours", "re-shares"],
                                               rows, numeric=(4, 5))
                    + _cut(len(rows), data.findings_total, "exposure windows (earliest first)",
                           "csv/findings.csv and jsonl/findings.jsonl"), "windows")


def _actions(data: ExportData, limit: int) -> str:
    def acl(value: dict[str, Any] | None) -> str:
        if not value:
            return "—"
        keys = ("type", "role", "emailAddress", "domain", "allowFileDiscovery", "expirationTime")
        return escape(", ".join(f"{k}={value[k]}" for k in keys if k in value) or str(value))
    rows = _take(([str(a.id), escape(a.action), escape(a.mode), escape(a.status), escape(a.actor), _cell(a.file_id),
                   acl(a.before), acl(a.after), _cell(a.completed_at or a.created_at), _cell(a.detail)]
                  for a in data.actions()), limit)
    return _section("Remediation actions", _table(
        ["id", "action", "mode", "result", "actor", "file", "ACL before", "ACL after", "at", "detail"], rows,
        numeric=(0,), empty="no actions")
        + _cut(len(rows), data.actions_total, "actions (by id)", "csv/actions.csv and jsonl/actions.jsonl"),
        "actions")


def _coverage(data: ExportData, runs: _Runs, limit: int) -> str:
    files = _take(([_link(g.file_name, None), _cell(g.owner_email), escape(g.exposure), escape(g.content_status),
                    escape(g.reason)] for g in data.content_gaps()), limit)
    inner = (_table(["run", "kind", "status", "mode", "started", "finished", "seen", "analysed", "skipped", "failed",
                     "error"], runs.rows, numeric=(6, 7, 8, 9), empty="no scan runs in this export")
             + _cut(len(runs.rows), data.runs_total, "scan runs", "csv/scan_runs.csv and jsonl/scan_runs.jsonl")
             + "<h3>Targets not fully covered</h3>"
             + _table(["run", "target", "status", "skipped", "failed", "reasons"], runs.gaps, numeric=(3, 4),
                      empty="every target was fully covered")
             + _cut(len(runs.gaps), runs.gaps_total, "targets not fully covered",
                    "csv/coverage.csv and jsonl/scan_runs.jsonl")
             + "<h3>Exposed files whose content was not analysed</h3>"
             + _table(["file", "owner", "exposure", "content", "reason"], files, empty="none")
             + _cut(len(files), data.content_gaps_total, "files not analysed",
                    "csv/content_gaps.csv and jsonl/content_gaps.jsonl"))
    return _section("Coverage", inner, "coverage")


def _exemptions(data: ExportData, limit: int) -> str:
    exemptions = data.exemptions()
    rows = [[str(e.id), escape(e.scope), escape(e.state),
             _cell(e.finding_id or e.rule_id or e.file_id or e.folder_id), escape(e.reason), escape(e.actor),
             _cell(e.created_at), _cell(e.expires_at)] for e in exemptions[:limit]]
    return _section("Exceptions and accepted risks", _table(
        ["id", "scope", "state", "subject", "reason", "actor", "created", "expires"], rows, numeric=(0,),
        empty="no exceptions")
        + _cut(len(rows), len(exemptions), "exceptions", "csv/exemptions.csv and jsonl/exemptions.jsonl"),
        "exemptions")


def render_report(data: ExportData, tables: FindingTables) -> str:
    """The page, once :meth:`ExportData.scan_findings` has fed ``tables`` (and computed the aggregates)."""
    template = Template(resources.files("scanner.export").joinpath("templates/report.html").read_text("utf-8"))
    limit = tables.limit
    runs = _Runs.read(data.runs(), limit)
    body = "".join([_summary(data), _breach(data, limit), _charts(data, runs), _metrics(data),
                    _findings(data, tables), _windows(data, tables), _actions(data, limit),
                    _coverage(data, runs, limit), _exemptions(data, limit)])
    scope = f"since {_t(data.since)}" if data.since else "all time"
    if data.statuses:
        scope += f", status {', '.join(data.statuses)}"
    return template.substitute(
        title="sharescan compliance report",
        subtitle=escape(f"Generated {_t(data.generated_at)} · {scope} · sharescan {data.tool_version}"),
        body=body,
        footer=escape("Contains entity types, counts and masked previews only — never the values found. "
                      "Verify this export with: sharescan export verify DIR --public-key KEY.pub"),
    )


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
