"""User-entered text (names, notes, reasons, intake answers, messages that quote them) is shown as
typed, never interpreted: Streamlit renders labels, captions, toasts and messages as Markdown, so a
customer named `![x](https://evil.example/t.png)` would load an image, `[Click](...)` would be a
live link and `:red[...]` would fake styling. `plain` backslash-escapes every Markdown character,
and puts a zero-width space into what GitHub-flavoured Markdown would turn into a link by itself
(`https://...`, `www.`, `name@host`), since that happens after escapes are read. Charts read HTML
rather than Markdown: `chart_text` is their counterpart."""

from __future__ import annotations

import html
import re

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|:<>~$=&])")
_AUTOLINK = re.compile(r"(\\:)(//)|(www)(\\\.)|(@)", re.IGNORECASE)
ZWSP = "\u200b"


def plain(text: object) -> str:
    """`text` escaped so Markdown shows it exactly as written (None shows as nothing)."""
    if text is None:
        return ""
    escaped = _MARKDOWN.sub(r"\\\1", str(text))
    return _AUTOLINK.sub(
        lambda m: ZWSP.join(g for g in m.groups() if g) + (ZWSP if m.group(5) else ""), escaped
    ).replace("\n", "  \n")


def chart_text(text: object) -> str:
    """`text` for a plotly label, legend or hover: plotly reads a few HTML tags in them (`<a href>`
    would be a live link, `<b>` bold), and shows entities as the characters they stand for."""
    return html.escape("" if text is None else str(text), quote=False)
