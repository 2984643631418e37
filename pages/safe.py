"""User-entered text (names, notes, reasons, intake answers, messages that quote them) is shown as
typed, never interpreted: Streamlit renders labels, captions, toasts and messages as Markdown, so a
customer named `![x](https://evil.example/t.png)` would load an image, `[Click](...)` would be a
live link and `:red[...]` would fake styling. `plain` backslash-escapes every Markdown character."""

from __future__ import annotations

import re

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|:<>~$=&])")


def plain(text: object) -> str:
    """`text` escaped so Markdown shows it exactly as written (None shows as nothing)."""
    if text is None:
        return ""
    return _MARKDOWN.sub(r"\\\1", str(text)).replace("\n", "  \n")
