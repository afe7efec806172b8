"""The HTML report: one self-contained file (inline CSS and SVG, no scripts, no requests).

Every value from the database passes through :func:`html.escape` — file names, owners and
rule titles are attacker-controlled. The page's Content-Security-Policy also forbids scripts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from html import escape
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import urlparse

from scanner.cli.render import to_jsonable
from scanner.export.model import SEVERITIES, ExportData, FindingRecord
from scanner.export.svg import SEVERITY_COLOURS, bar_chart, column_chart


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


def _section(title: str, inner: str, anchor: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{inner}</section>'


def _summary(data: ExportData) -> str:
    f = data.findings
    open_n = sum(x.status == "open" for x in f)
    cards = [
        ("Findings", len(f), False), ("Open", open_n, open_n > 0),
        ("Remediated", sum(x.status == "remediated" for x in f), False),
        ("Accepted", sum(x.status == "accepted" for x in f), False),
        ("Breach candidates", len(data.breach_candidates), bool(data.breach_candidates)),
        ("Overdue notifications", sum(b.deadline_state == "overdue" for b in data.breach_candidates),
         any(b.deadline_state == "overdue" for b in data.breach_candidates)),
        ("Actions", len(data.actions), False), ("Scan runs", len(data.runs), False),
        ("Files not analysed", len(data.content_gaps), bool(data.content_gaps)),
        ("Re-shares", data.metrics.reshares_total, data.metrics.reshares_total > 0),
    ]
    html = "".join(f'<div class="card{" alert" if alert else ""}"><div class="n">{n}</div>'
                   f'<div class="l">{escape(label)}</div></div>' for label, n, alert in cards)
    chain = ("intact" if data.audit_chain_ok else "BROKEN — run sharescan audit verify")
    meta = (f'<p class="muted">Audit log: {data.audit_events} events, chain {escape(chain)}, head '
            f'<span class="mono">{escape(data.audit_head_hash)}</span></p>')
    return _section("Summary", f'<div class="cards">{html}</div>{meta}', "summary")


def _charts(data: ExportData) -> str:
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
    runs = [(f"#{r.id} {r.started_at:%m-%d}", {"new findings": r.new_findings, "actions": r.actions,
                                               "files exposed": sum(c.files_exposed for c in r.coverage)})
            for r in data.runs]
    over_time = column_chart(runs, [("new findings", "#d2452f"), ("actions", "#2e8b57"),
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


def _breach(data: ExportData) -> str:
    rows = [[_link(b.file_name, b.file_link), _cell(b.owner_email), escape(b.exposure), _cell(b.data_categories),
             _cell(b.entity_counts), _cell(b.exposure_start), _cell(b.exposure_end) if b.exposure_end else "ongoing",
             f"{b.exposure_hours:.1f}", _cell(b.detected_at), _cell(b.notification_deadline),
             f'<span class="state-{escape(b.deadline_state)}">{escape(b.deadline_state)}</span>']
            for b in data.breach_candidates]
    intro = (f'<p>Personal data exposed outside the organisation. GDPR Art. 33 deadline = detection + '
             f'{data.breach_deadline_hours} h.</p>')
    return _section("Breach candidates", intro + _table(
        ["file", "owner", "exposure", "categories", "entities", "exposed from", "until", "hours", "detected",
         "deadline", "state"], rows, numeric=(7,), empty="no breach candidates"), "breach")


def _findings(data: ExportData) -> str:
    rows = [[str(f.id), _sev(f.severity), _link(f.file_name, f.file_link), _cell(f.owner_email),
             escape(f.exposure_before), _cell(f.exposure_after), _cell(f.data_categories), _cell(f.entity_totals()),
             escape(f.rule_id), escape(f.status), _cell(f.first_seen), _cell(f.exposed_since),
             _cell(f.remediated_at)] for f in data.findings]
    return _section("Findings", _table(
        ["id", "severity", "file", "owner", "exposure", "after", "categories", "entities", "rule", "status",
         "first seen", "exposed since", "remediated"], rows, numeric=(0,), empty="no findings"), "findings")


def _windows(data: ExportData) -> str:
    def window(f: FindingRecord) -> list[str]:
        start = f.exposed_since or f.first_seen
        end = f.remediated_at or f.resolved_at
        hours = ((end or data.generated_at) - start).total_seconds() / 3600
        return [_link(f.file_name, f.file_link), escape(f.exposure_before), _cell(start),
                _cell(end) if end else "ongoing", f"{hours:.1f}", str(f.recurrence_count)]
    exposed = sorted(data.findings, key=lambda f: f.exposed_since or f.first_seen)
    return _section("Exposure windows", _table(["file", "exposure", "from", "until", "hours", "re-shares"],
                                               [window(f) for f in exposed], numeric=(4, 5)), "windows")


def _actions(data: ExportData) -> str:
    def acl(value: dict[str, Any] | None) -> str:
        if not value:
            return "—"
        keys = ("type", "role", "emailAddress", "domain", "allowFileDiscovery", "expirationTime")
        return escape(", ".join(f"{k}={value[k]}" for k in keys if k in value) or str(value))
    rows = [[str(a.id), escape(a.action), escape(a.mode), escape(a.status), escape(a.actor), _cell(a.file_id),
             acl(a.before), acl(a.after), _cell(a.completed_at or a.created_at), _cell(a.detail)]
            for a in data.actions]
    return _section("Remediation actions", _table(
        ["id", "action", "mode", "result", "actor", "file", "ACL before", "ACL after", "at", "detail"], rows,
        numeric=(0,), empty="no actions"), "actions")


def _coverage(data: ExportData) -> str:
    runs = [[f"#{r.id}", escape(r.kind), escape(r.status), escape(r.remediation_mode), _cell(r.started_at),
             _cell(r.finished_at), str(sum(c.files_seen for c in r.coverage)),
             str(sum(c.files_analysed for c in r.coverage)), str(sum(c.files_skipped for c in r.coverage)),
             str(sum(c.files_failed for c in r.coverage)), _cell(r.error)] for r in data.runs]
    gaps = [[f"#{r.id}", f"{escape(c.target_kind)}: {escape(c.target_key)}", escape(c.status),
             str(c.files_skipped), str(c.files_failed), _cell(c.reasons)]
            for r in data.runs for c in r.coverage if c.status != "done" or c.files_skipped or c.files_failed]
    files = [[_link(g.file_name, None), _cell(g.owner_email), escape(g.exposure), escape(g.content_status),
              escape(g.reason)] for g in data.content_gaps]
    inner = (_table(["run", "kind", "status", "mode", "started", "finished", "seen", "analysed", "skipped", "failed",
                     "error"], runs, numeric=(6, 7, 8, 9), empty="no scan runs in this export")
             + "<h3>Targets not fully covered</h3>"
             + _table(["run", "target", "status", "skipped", "failed", "reasons"], gaps, numeric=(3, 4),
                      empty="every target was fully covered")
             + "<h3>Exposed files whose content was not analysed</h3>"
             + _table(["file", "owner", "exposure", "content", "reason"], files, empty="none"))
    return _section("Coverage", inner, "coverage")


def _exemptions(data: ExportData) -> str:
    rows = [[str(e.id), escape(e.scope), escape(e.state),
             _cell(e.finding_id or e.rule_id or e.file_id or e.folder_id), escape(e.reason), escape(e.actor),
             _cell(e.created_at), _cell(e.expires_at)] for e in data.exemptions]
    return _section("Exceptions and accepted risks", _table(
        ["id", "scope", "state", "subject", "reason", "actor", "created", "expires"], rows, numeric=(0,),
        empty="no exceptions"), "exemptions")


def render_report(data: ExportData) -> str:
    template = Template(resources.files("scanner.export").joinpath("templates/report.html").read_text("utf-8"))
    body = "".join([_summary(data), _breach(data), _charts(data), _metrics(data), _findings(data), _windows(data),
                    _actions(data), _coverage(data), _exemptions(data)])
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

    def write(self, data: ExportData, out_dir: Path) -> list[str]:
        (out_dir / "report.html").write_text(render_report(data), encoding="utf-8")
        return ["report.html"]
