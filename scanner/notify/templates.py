"""Message text. Only file names, links, rule titles, data categories, counts and what changed —
never document content or matched values.

Every value that comes from a Drive (file and drive names, owners, links, what a change touched)
is made safe for the channel it goes to: ``TextStyle.PLAIN`` (e-mail) through
``safetext.display`` (bidi and control characters shown as ``<U+XXXX>``, line breaks flattened, so
a name cannot forge a line of the digest); ``TextStyle.SLACK`` (webhooks) through
``safetext.slack_mrkdwn`` (the same, plus ``& < >`` escaped: no ``<!channel>`` mention, no
``<https://…|fake>`` link).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from scanner.safetext import display, slack_mrkdwn


class TextStyle(StrEnum):
    PLAIN = "plain"  # e-mail
    SLACK = "slack"  # Slack-format mrkdwn (incoming webhooks)


#: How each notification channel shows text.
CHANNEL_STYLES: dict[str, TextStyle] = {"smtp": TextStyle.PLAIN, "webhook": TextStyle.SLACK}
_ESCAPE: dict[TextStyle, Callable[[object], str]] = {TextStyle.PLAIN: display, TextStyle.SLACK: slack_mrkdwn}

SUBJECT = "[sharescan] Sharing changed on {count} of your files"
SUBJECT_DRY = "[sharescan] {count} of your files are shared too widely"
#: When some files are not the recipient's (a suspended owner's, a shared drive's): the security contact.
SUBJECT_CONTACT = "[sharescan] Sharing changed on {files} (security contact)"
SUBJECT_CONTACT_DRY = "[sharescan] {files} shared too widely (security contact)"

INTRO = {
    True: ("The security team's scanner found files you own shared beyond the organisation while they hold "
           "sensitive data, and changed their sharing as described below."),
    False: ("The security team's scanner found files you own shared beyond the organisation while they hold "
            "sensitive data. Please review their sharing."),
}
ON_BEHALF = ("You receive this notice because the owners of these files are suspended or archived and cannot "
             "act on it: {owners}.")
IN_SHARED_DRIVES = ("You receive this notice as the security contact: files in shared drives have no owner "
                    "({drives}).")
OUTRO = ("If a change breaks legitimate work, reply to the security team: every change is recorded and can be "
         "undone exactly (sharescan restore).")

#: Per action: the line that explains one change (params: what, role, domain, until).
ACTION_LINES = {
    "revoke": "removed {what} ({role} access)",
    "downgrade": "limited {what} to people at {domain} (same {role} access)",
    "unpublish": "stopped publishing the document to the web",
    "expire": "{what} access now expires in {until}",
    "limit_access": "made the folder a folder with limited access (inherited access no longer reaches it)",
    "label": "applied the classification label {title} (Drive's own protections now apply to it)",
}


def change_line(action: str, params: dict[str, Any]) -> str:
    template = ACTION_LINES.get(action, action)
    return template.format(**{"what": "", "role": "", "domain": "", "until": "", "title": "", **params})


def item_text(item: dict[str, Any], style: TextStyle = TextStyle.PLAIN) -> str:
    esc = _ESCAPE[style]
    counts = ", ".join(f"{esc(name)}: {esc(count)}" for name, count in sorted((item.get("detectors") or {}).items()))
    categories = ", ".join(esc(c) for c in item.get("categories") or []) or "-"
    lines = [
        f"* {esc(item.get('file_name') or item.get('file_id'))}",
        *([f"  owner: {esc(item['on_behalf_of'])}"] if item.get("on_behalf_of") else []),
        *([f"  shared drive: {esc(item['shared_drive'])}"] if item.get("shared_drive") else []),
        f"  link: {esc(item.get('link') or '-')}",
        f"  why: {esc(item.get('rule_title'))} (severity {esc(item.get('severity'))})",
        f"  data found: {categories}" + (f" ({counts})" if counts else ""),
    ]
    radius = item.get("blast_radius") or {}
    if radius:
        lines.append(f"  folder: {radius.get('sensitive_descendants', 0)} of its {radius.get('descendants', 0)} "
                     "items hold sensitive data")
    for change in item.get("changes") or []:
        lines.append(f"  changed: {esc(change)}")
    for pending in item.get("pending") or []:
        lines.append(f"  still to do: {esc(pending)}")
    ask = item.get("justify") or {}
    if ask:
        lines.append(f"  to keep this sharing, give a reason by {esc(ask.get('deadline'))}: reply to the security "
                     f"team with the token {esc(ask.get('token'))} (or run: {esc(ask.get('command'))}); otherwise "
                     "the changes above are made then")
    return "\n".join(lines)


def render_digest(recipient: str, items: list[dict[str, Any]],
                  style: TextStyle = TextStyle.PLAIN) -> tuple[str, str]:
    esc = _ESCAPE[style]
    changed = any(item.get("changes") for item in items)
    owners = sorted({str(i["on_behalf_of"]) for i in items if i.get("on_behalf_of")})
    drives = sorted({str(i["shared_drive"]) for i in items if i.get("shared_drive")})
    if owners or drives:
        files = f"{len(items)} file" + ("" if len(items) == 1 else "s")
        subject = (SUBJECT_CONTACT if changed else SUBJECT_CONTACT_DRY).format(files=files)
    else:
        subject = (SUBJECT if changed else SUBJECT_DRY).format(count=len(items))
    intro = [INTRO[changed]] + ([ON_BEHALF.format(owners=", ".join(esc(o) for o in owners))] if owners else []) + (
        [IN_SHARED_DRIVES.format(drives=", ".join(esc(d) for d in drives))] if drives else [])
    body = "\n\n".join([f"Hello {esc(recipient)},", *intro, *(item_text(i, style) for i in items), OUTRO])
    return esc(subject), body + "\n"


def webhook_payload(subject: str, body: str) -> dict[str, Any]:
    """Slack-compatible incoming-webhook body; ``subject`` and ``body`` rendered in ``TextStyle.SLACK``."""
    return {"text": f"*{subject}*\n{body}"}
