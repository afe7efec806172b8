"""Text that came from a Drive (file names, titles, owners' display names) made safe to show a person.

A file name is attacker-controlled: whoever can share a file with the domain chooses it. Before it
reaches any human-facing output it passes through one of these functions:

- :func:`display` for every output (terminal, CSV, HTML, e-mail, webhook): bidirectional-text
  controls (U+202E RIGHT-TO-LEFT OVERRIDE makes ``invoice\u202etxt.exe`` read ``invoiceexe.txt``)
  and other invisible control characters are replaced by a visible ``<U+XXXX>`` marker, so what a
  person reads is what the name really is. Tabs and newlines become single spaces (a name cannot
  forge a new line of a list or a CSV row shown in a viewer).
- :func:`slack_mrkdwn` for Slack-format webhooks: :func:`display`, then Slack's three escapes
  (``&``, ``<``, ``>``), so ``<!channel>`` cannot ping anyone and ``<https://…|text>`` cannot show a
  fake link.

HTML escaping stays with the HTML writer (autoescape); CSV formula neutralisation stays with the CSV
writer. These functions are pure and keep every other character as it is.
"""

from __future__ import annotations

import re
import unicodedata

#: Unicode bidirectional formatting characters (UAX #9): embeddings, overrides, isolates and marks.
BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e"  # LRE RLE PDF LRO RLO
    "\u2066\u2067\u2068\u2069"  # LRI RLI FSI PDI
    "\u200e\u200f\u061c"  # LRM RLM ALM
)

_LINE_BREAKS = re.compile(r"[\r\n\t\v\f\u0085\u2028\u2029]+")


def _marker(ch: str) -> str:
    return f"<U+{ord(ch):04X}>"


def _unsafe(ch: str) -> bool:
    if ch in BIDI_CONTROLS:
        return True
    category = unicodedata.category(ch)
    # Cc: C0/C1 controls (line breaks are handled before); Cf other than the bidi set, e.g. zero-width
    # joiners used in emoji, are kept; Cs/Co/Cn never reach here from valid UTF-8 text we decode.
    return category == "Cc"


def display(text: object) -> str:
    """``text`` as a person should see it: one line, no bidi tricks, no invisible control characters."""
    s = _LINE_BREAKS.sub(" ", str(text))
    if not any(_unsafe(ch) for ch in s):
        return s
    return "".join(_marker(ch) if _unsafe(ch) else ch for ch in s)


def slack_mrkdwn(text: object) -> str:
    """``text`` for a Slack-format message: :func:`display` plus Slack's escapes of ``& < >``."""
    return display(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
