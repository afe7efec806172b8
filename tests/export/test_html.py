"""The HTML report: self-contained, escaped, readable; laid out and printed by a real headless Chromium.

The browser tests assert layout, not pixels: at 1400 px and 390 px no element is wider than the
viewport (measured by a script in a copy of the report — the report itself allows no scripts), and
the report printed to PDF holds every column header of every table (pypdf extracts the text).
They run on the story of ``factory.py`` and on the demo's report (a real scan of the emulated
workspace). Screenshots and PDFs land in $SHARESCAN_SCREENSHOT_DIR (default: the temp directory).
"""

from __future__ import annotations

import html as html_lib
import json
import os
import re
import shutil
import subprocess
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session, sessionmaker

from scanner.config import Settings
from scanner.export.service import export
from tests.export.factory import NOW, SCRIPT_NAME, Story

SCREENSHOT_DIR = Path(os.environ.get("SHARESCAN_SCREENSHOT_DIR", tempfile.gettempdir()))
SECTIONS = ("Contents", "Summary", "Breach candidates", "Compliance controls", "Charts", "Metrics", "Findings",
            "Exposure windows", "Remediation actions", "Coverage", "Exceptions and accepted risks")


@pytest.fixture
def report(sessions: sessionmaker[Session], story: Story, settings: Settings, tmp_path: Path) -> Path:
    export(sessions, settings, ["html"], tmp_path / "out", now=NOW)
    return tmp_path / "out" / "report.html"


def _section(html: str, anchor: str) -> str:
    found = re.search(rf'<section id="{anchor}">(.*?)</section>', html, re.S)
    assert found is not None, anchor
    return found.group(1)


def test_self_contained_and_escaped(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    assert "<script" not in html.lower()  # the attacker's name is escaped, and there are no scripts of ours
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt; Q3 roster.xlsx" in html
    assert "=HYPERLINK(&#34;http://evil.example/x&#34;,&#34;click me&#34;)" in html
    # No external resources: no src=, no stylesheet links, no url(), no @import.
    assert not re.search(r"\bsrc\s*=", html, re.I)
    assert not re.search(r"<link\b|@import|url\(", html, re.I)
    assert "default-src 'none'" in html
    # Links only to the Drive files themselves and to the report's own sections.
    hrefs = set(re.findall(r'href="([^"]+)"', html))
    assert {h for h in hrefs if not h.startswith("#")} and all(
        h.startswith(("https://docs.google.com/", "#")) for h in hrefs)
    for section in SECTIONS:
        assert f"<h2>{section}</h2>" in html
    assert html.count("<svg") == 6


def test_reads_like_a_report_not_like_python(report: Path) -> None:
    """No reprs, no None, no raw dicts; changes as before → after in words; who acted and for whom."""
    html = report.read_text(encoding="utf-8")
    assert "None" not in re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    assert not re.search(r"\{'|'\}|\[\]|allow_file_discovery|allowFileDiscovery", html)
    actions = _section(html, "actions")
    assert 'anyone with the link (reader)<span class="arrow">→</span>removed' in actions
    assert "maria@tessera-labs.com" in actions and "sharescan@scanner-1" in actions  # acted as / on behalf of
    assert '<td data-label="action">notify' not in actions  # a notice is not a row of its own ...
    assert '<td data-label="owner told">owner notified</td>' in actions  # ... it shows on the change it follows
    assert "\n—\n" not in html
    findings = _section(html, "findings")
    assert 'anyone with the link<span class="arrow">→</span>internal only' in findings  # exposure_after filled
    coverage = _section(html, "coverage")
    assert "too large: 1 file; target: 403 insufficientFilePermissions" in coverage
    assert "shared drive Clients <span class=\"muted\">(0AClientsDrive)</span>" in coverage
    breach = _section(html, "breach")
    # ranked per file: the overdue payroll sheet first, then the roster
    assert breach.index("1. <a href=\"https://docs.google.com/spreadsheets/d/1PayrollBBB") < breach.index(
        "2. <a href=\"https://docs.google.com/spreadsheets/d/1RosterAAA")
    compliance = _section(html, "compliance")
    assert "GDPR (Regulation (EU) 2016/679)" in compliance and '<span class="state-fail">fail</span>' in compliance


def test_bidi_and_control_characters_are_made_visible(sessions: sessionmaker[Session], story: Story,
                                                      settings: Settings, tmp_path: Path) -> None:
    from scanner.store.models import DriveFileRow

    with sessions.begin() as s:
        s.get_one(DriveFileRow, "1RosterAAA").name = "invoice\u202etxt.exe\nsecond line"
    export(sessions, settings, ["html"], tmp_path / "o", now=NOW)
    html = (tmp_path / "o" / "report.html").read_text(encoding="utf-8")
    assert "\u202e" not in html and "invoice&lt;U+202E&gt;txt.exe second line" in html


# --------------------------------------------------------------------------- in a real browser
def _chromium() -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("chromium not installed (apt-get install chromium)")
    return browser


def _run(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", "--disable-sync", "--hide-scrollbars",
             f"--user-data-dir={profile}"]
    proc = subprocess.run([browser, *flags, *args], capture_output=True, text=True, timeout=150)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


#: Appended to a copy of the report: lists every element whose box reaches past the viewport's right edge.
MEASURE = """<script>
window.addEventListener('load', () => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.width > 0 && (box.right > width + 0.5 || box.left < -0.5) && !el.closest('thead')) {
      wide.push(el.tagName + (el.id ? '#' + el.id : '') + ' ' + Math.round(box.left) + '..' + Math.round(box.right));
    }
  }
  const out = document.createElement('pre');
  out.id = 'measured';
  out.textContent = JSON.stringify({viewport: width, scroll: document.documentElement.scrollWidth, wide: wide});
  document.body.appendChild(out);
});
</script>"""


def _measure(browser: str, report: Path, width: int, tmp: Path) -> dict[str, object]:
    html = report.read_text(encoding="utf-8")
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    probe = tmp / f"probe-{width}.html"
    probe.write_text(html.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    dom = _run(browser, tmp / f"profile-m{width}", f"--window-size={width},900", "--virtual-time-budget=5000",
               "--dump-dom", probe.as_uri()).stdout
    found = re.search(r'<pre id="measured">(.*?)</pre>', dom, re.S)
    assert found is not None, dom[-500:]
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def _headers(report: Path) -> list[str]:
    html = report.read_text(encoding="utf-8")
    cells = re.findall(r"<th(?![^>]*colspan)[^>]*>(.*?)</th>", html, re.S)
    return sorted({html_lib.unescape(re.sub(r"<[^>]+>", "", h)).strip() for h in cells} - {""})


def _pdf_text(browser: str, report: Path, tmp: Path, name: str) -> str:
    pdf = SCREENSHOT_DIR / f"{name}.pdf"
    _run(browser, tmp / f"profile-{name}", "--no-pdf-header-footer", f"--print-to-pdf={pdf}", report.as_uri())
    reader = PdfReader(str(pdf))
    assert len(reader.pages) >= 2
    for page in reader.pages:  # landscape pages
        assert float(page.mediabox.width) > float(page.mediabox.height)
    # NFKC: the PDF's "ﬁ" ligatures back to letters
    return " ".join(" ".join(unicodedata.normalize("NFKC", p.extract_text()).split()) for p in reader.pages)


def _check_report_in_browser(report: Path, tmp: Path, name: str) -> str:
    browser = _chromium()
    for width in (1400, 390):
        measured = _measure(browser, report, width, tmp)
        assert measured["wide"] == [], f"{width} px: elements wider than the viewport: {measured['wide']}"
        assert measured["scroll"] == measured["viewport"], measured
        shot = SCREENSHOT_DIR / f"{name}-{width}.png"
        _run(browser, tmp / f"profile-s{width}", f"--screenshot={shot}", f"--window-size={width},2400",
             report.as_uri())
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = _pdf_text(browser, report, tmp, name)
    missing = [h for h in _headers(report) if " ".join(h.split()) not in text]
    assert missing == [], f"column headers missing from the printed PDF: {missing}"
    return text


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_story_report_in_chromium(report: Path, tmp_path: Path) -> None:
    text = _check_report_in_browser(report, tmp_path, "sharescan-report")
    assert SCRIPT_NAME in text  # a name, shown as text
    assert "overdue" in text and "2026-03-09 12:00 UTC" in text  # breach deadline printed, not clipped
    assert "too large: 1 file; target: 403 insufficientFilePermissions" in text


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo's report: a real scan of the emulated workspace, remediation enforced, then exported."""
    from scanner.demo import run_demo

    out = tmp_path_factory.mktemp("demo") / "demo"
    result = run_demo(out)
    assert result.report_path is not None
    yield result.report_path


@pytest.mark.browser
@pytest.mark.timeout(900)
def test_demo_report_prints_every_column(demo_report: Path, tmp_path: Path) -> None:
    html = demo_report.read_text(encoding="utf-8")
    actions = _section(html, "actions")
    # who acted: the impersonated owner (or a shared drive's member), on behalf of the demo's run
    assert re.search(r'<td class="long" data-label="acted as">[a-z.]+@tessera-labs\.com</td>'
                     r'<td class="long" data-label="on behalf of">sharescan-demo</td>', actions)
    assert "→</span>removed" in actions or "→</span>people at tessera-labs.com" in actions
    findings = _section(html, "findings")
    assert '<span class="arrow">→</span>internal only' in findings or '<span class="arrow">→</span>the whole' \
        in findings  # exposure after the verified fix
    runs = _section(html, "coverage")
    analysed = [int(n) for n in re.findall(r'<td class="num" data-label="analysed">(\d+)</td>', runs)]
    assert analysed and analysed[0] > 0  # per target, not a dead column
    _check_report_in_browser(demo_report, tmp_path, "sharescan-demo-report")
