import pytest

from scanner.safetext import display, slack_mrkdwn


@pytest.mark.parametrize(("raw", "shown"), [
    ("roster.xlsx", "roster.xlsx"),
    ("invoice\u202etxt.exe", "invoice<U+202E>txt.exe"),
    ("a\u2066b\u2069c", "a<U+2066>b<U+2069>c"),
    ("line one\nline two\r\n- forged", "line one line two - forged"),
    ("tab\tseparated", "tab separated"),
    ("bell\x07", "bell<U+0007>"),
    ("Zoë — Łódź 北京", "Zoë — Łódź 北京"),
    ("family \U0001F468\u200d\U0001F469", "family \U0001F468\u200d\U0001F469"),
])
def test_display(raw: str, shown: str) -> None:
    assert display(raw) == shown


@pytest.mark.parametrize(("raw", "shown"), [
    ("<!channel> urgent", "&lt;!channel&gt; urgent"),
    ("<https://evil.example|payroll.xlsx>", "&lt;https://evil.example|payroll.xlsx&gt;"),
    ("R&D plan\n• forged bullet", "R&amp;D plan • forged bullet"),
    ("x\u202ey", "x&lt;U+202E&gt;y"),
])
def test_slack_mrkdwn(raw: str, shown: str) -> None:
    assert slack_mrkdwn(raw) == shown
