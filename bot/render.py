"""Turning the assistant's replies into what each channel can show.

A reply is ``{"text": str, "buttons": [{"title": str, "payload": str}, ...]}`` (Rasa's REST
format). Channels limit message length (Telegram 4,096 characters after entity parsing,
Zalo 2,000 by third-party docs), so long texts are split at paragraph, line, sentence or
word boundaries; buttons go with the last part. All dynamic text is escaped for the channel's
formatting (Telegram HTML parse mode), so a citizen's or an admin's "<b>" stays literal.
"""

from __future__ import annotations

import html
import re
from typing import Any

TELEGRAM_LIMIT = 4096
ZALO_LIMIT = 2000
_BREAKS = ("\n\n", "\n", ". ", " ")


def split_text(text: str, limit: int) -> list[str]:
    """Parts of at most `limit` characters, cut at the most natural boundary available."""
    text = text.strip()
    parts: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = -1
        for sep in _BREAKS:
            cut = window.rfind(sep)
            if cut >= limit // 2:
                cut += len(sep.rstrip()) if sep.strip() else 0
                break
        if cut < limit // 2:
            cut = limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return parts


def telegram_html(text: str) -> str:
    """Plain text escaped for parse_mode=HTML."""
    return html.escape(text, quote=False)


def _fit(text: str, limit: int, escape) -> list[str]:
    """Escaped parts of `text`, each within `limit` (escaping can lengthen: & -> &amp;)."""
    size = limit
    while True:
        escaped = [escape(piece) for piece in split_text(text, size)]
        if size <= 1 or all(len(e) <= limit for e in escaped):
            return escaped
        size = max(int(size * 0.8), 1)


def split_reply(reply: dict[str, Any], limit: int, escape=lambda t: t) -> list[dict[str, Any]]:
    """One reply -> one or more channel messages; buttons go with the last one."""
    text = str(reply.get("text") or "").strip()
    buttons = [b for b in reply.get("buttons") or [] if b.get("title") and b.get("payload")]
    out = [{"text": part, "buttons": []} for part in _fit(text, limit, escape)]
    if not out and buttons:
        out.append({"text": escape("Bạn chọn một mục dưới đây:"), "buttons": []})
    if out:
        out[-1]["buttons"] = buttons
    return out


_TAGS = re.compile(r"<[^>]+>")


def plain(text: str) -> str:
    """Text without HTML tags (for channels that show plain text)."""
    return html.unescape(_TAGS.sub("", text))
