"""The HTML report: self-contained, escaped, and rendered by a real headless browser."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from scanner.config import Settings
from scanner.export.service import export
from tests.export.factory import NOW, Story

SCREENSHOT_DIR = Path(os.environ.get("SHARESCAN_SCREENSHOT_DIR", tempfile.gettempdir()))


@pytest.fixture
def report(sessions: sessionmaker[Session], story: Story, settings: Settings, tmp_path: Path) -> Path:
    export(sessions, settings, ["html"], tmp_path / "out", now=NOW)
    return tmp_path / "out" / "report.html"


def test_self_contained_and_escaped(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    assert "<script" not in html.lower()  # the attacker's name is escaped, and there are no scripts of ours
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt; Q3 roster.xlsx" in html
    assert "=HYPERLINK(&quot;http://evil.example/x&quot;,&quot;click me&quot;)" in html
    # No external resources: no src=, no stylesheet links, no url(), no @import.
    assert not re.search(r"\bsrc\s*=", html, re.I)
    assert not re.search(r"<link\b|@import|url\(", html, re.I)
    assert "default-src 'none'" in html
    # Links only to the Drive files themselves.
    hrefs = set(re.findall(r'href="([^"]+)"', html))
    assert hrefs and all(h.startswith("https://docs.google.com/") for h in hrefs)
    for section in ("Summary", "Breach candidates", "Charts", "Metrics", "Findings", "Exposure windows",
                    "Remediation actions", "Coverage", "Exceptions and accepted risks"):
        assert f"<h2>{section}</h2>" in html
    assert html.count("<svg") == 6


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _chrome_args(profile: str) -> list[str]:
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}"]


@pytest.mark.browser
@pytest.mark.timeout(180)
def test_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium not installed (apt-get install chromium)")
    url = report.resolve().as_uri()
    dom = subprocess.run([browser, *_chrome_args(str(tmp_path / "p1")), "--dump-dom", url],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = dom.stdout
    assert "sharescan compliance report" in text
    assert "&lt;script&gt;alert('pwned')&lt;/script&gt; Q3 roster.xlsx" in text  # text, not an element
    assert "<script" not in text.lower()
    assert "overdue" in text and "2026-03-09 12:00 UTC" in text  # breach deadline rendered
    assert "too_large: 2.1 GB &gt; 25 MB" in text  # coverage gap reason
    assert text.count("<svg") == 6
    shot = SCREENSHOT_DIR / "sharescan-report.png"
    png = subprocess.run([browser, *_chrome_args(str(tmp_path / "p2")), f"--screenshot={shot}",
                          "--window-size=1280,2000", "--hide-scrollbars", url],
                         capture_output=True, text=True, timeout=120)
    assert png.returncode == 0, png.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000
