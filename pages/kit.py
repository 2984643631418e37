"""The pages' small UI kit (never imported by core/): one way to run a user action and say how it
went, and one way to keep which dialog is open.

`act(call, success, page=...)` runs one service call. Its outcome is one message, kept under
one session key (MESSAGE): a toast or a line at the top of the page on success, the refusal's
own sentence on failure (a DomainError's text; anything else is logged and the person reads
that nothing was changed). A message belongs to a page: `show(page)` draws it there and a
message of another page is dropped, so a sentence never shows up on the wrong screen. Banners
stay until the page's next action; toasts show once. A failure inside a dialog is drawn by
`Dialogs.error` at the dialog's top; `inline=True` draws the sentence at once where the
button is (forms lower down a page). A success may offer one follow-up, `then=`: a button drawn
beside its banner ("Open Tue 8 Dec")."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from core.base.errors import DomainError
from pages.safe import plain

log = logging.getLogger(__name__)

MESSAGE = "kit_message"  # {"kind", "text", "page", "where", "then"}: the last action's outcome
FOLLOWED = "kit_followed"  # a follow-up was clicked: the next `show` runs the whole page
UNEXPECTED = "Something went wrong and nothing was changed. Try again, or reload the page."
ICONS = {"success": ":material/check_circle:", "error": ":material/error:", "info": ":material/info:",
         "warning": ":material/warning:"}  # fmt: skip


@dataclass(frozen=True)
class Then:
    """The one follow-up a success offers beside its banner: a button and what it does."""

    label: str
    on_click: Callable[..., Any]
    args: tuple = ()


def say(
    text: str, kind: str = "success", *, page: str | None = None, where: str = "page", then: Then | None = None
) -> None:
    """Keep one message for the next run: `where` is "page" (a banner), "toast", or a dialog's
    key. Without `page`, the message shows once on whichever page runs next."""
    st.session_state[MESSAGE] = {"kind": kind, "text": str(text), "page": page, "where": where, "then": then}


def clear(page: str | None = None, where=None) -> None:
    """The page's next action: forget its message (and take it off the screen in `where`)."""
    message = st.session_state.get(MESSAGE)
    if message and (page is None or message["page"] in (None, page)):
        st.session_state.pop(MESSAGE, None)
    if where is not None:
        where.empty()


def current(page: str | None = None, where: str = "page") -> dict | None:
    message = st.session_state.get(MESSAGE)
    if message and message["where"] == where and message["page"] in (None, page):
        return message
    return None


def show(page: str | None = None, where=st) -> None:
    """Draw the pending message of `page` in `where` (e.g. an st.empty() the page may clear
    later): toasts once, banners until the page's next action. Another page's message is
    dropped; a dialog's message waits for its dialog."""
    if st.session_state.pop(FOLLOWED, False):
        st.rerun(scope="app")
    message = st.session_state.get(MESSAGE)
    if not message or message["where"] not in ("page", "toast"):
        return
    if message["page"] is not None and message["page"] != page:
        st.session_state.pop(MESSAGE, None)
        return
    if message["where"] == "toast" or message["page"] is None:
        st.session_state.pop(MESSAGE, None)
    if message["where"] == "toast":
        st.toast(plain(message["text"]), icon=ICONS.get(message["kind"]))
    elif then := message.get("then"):
        text_col, button_col = where.columns([5, 1], vertical_alignment="center")
        getattr(text_col, message["kind"])(plain(message["text"]), icon=ICONS.get(message["kind"]))
        button_col.button(then.label, key="kit_then", width="stretch", on_click=_follow, args=(then,))
    else:
        getattr(where, message["kind"])(plain(message["text"]), icon=ICONS.get(message["kind"]))


def _follow(then: Then) -> None:
    """The follow-up's callback (so it may set widgets' state); the page then runs whole, even
    when the button was drawn in a fragment, whose click reruns only the fragment."""
    st.session_state.pop(MESSAGE, None)
    st.session_state[FOLLOWED] = True
    then.on_click(*then.args)


def act(
    call: Callable[[], Any],
    success: str | Callable[[Any], str] | None = None,
    *,
    page: str | None,
    toast: bool = False,
    dialog: Dialogs | None = None,
    inline: bool = False,
    rerun: bool = False,
    then: Callable[[Any], Then | None] | None = None,
) -> bool:
    """Run one service call and keep its outcome as the one message: on success `success`
    (text, or built from the result) as a toast or a banner, then a rerun when asked; on a
    refusal its sentence, in `dialog` when given, at once where the button is when `inline`,
    otherwise at the top of the page. `then(result)` may offer a follow-up button beside the
    success banner. The service runs in one transaction, so a refusal leaves nothing half-done.
    True when the call succeeded."""
    clear(page)
    try:
        result = call()
    except DomainError as exc:
        text = str(exc)
    except Exception:  # noqa: BLE001 - a person gets a sentence, the log gets the traceback
        log.exception("%s: action failed", page or "page")
        text = UNEXPECTED
    else:
        if success:
            follow = then(result) if then else None
            where = "toast" if toast and follow is None else "page"  # a toast cannot hold a button
            say(success(result) if callable(success) else success, page=page, where=where, then=follow)
        if rerun:
            st.rerun()
        return True
    if inline:
        st.error(plain(text), icon=ICONS["error"])
    else:
        say(text, "error", page=page, where=dialog.key if dialog else "page")
    return False


@dataclass(frozen=True)
class Dialogs:
    """Which of a page's dialogs is open ({"kind": ..., details}) under `key`; widgets inside
    its dialogs have keys starting with `prefix`, forgotten when the dialog closes."""

    key: str
    prefix: str
    page: str

    def open(self, kind: str, **details) -> None:
        clear(self.page)
        st.session_state[self.key] = {"kind": kind, **details}

    def current(self) -> dict | None:
        return st.session_state.get(self.key)

    def close(self) -> None:
        if current(self.page, where=self.key):
            st.session_state.pop(MESSAGE, None)
        for key in [self.key, *(k for k in st.session_state if str(k).startswith(self.prefix))]:
            st.session_state.pop(key, None)

    def finish(self) -> None:
        """The dialog's action is done: close it and draw the page again."""
        self.close()
        st.rerun(scope="app")

    def refuse(self, text: str) -> None:
        """A refusal the page itself finds (a missing reason), shown like a service's."""
        say(text, "error", page=self.page, where=self.key)

    def error(self, where=st) -> None:
        """The dialog's last refusal, drawn in `where`: a container at the top of the dialog, so
        it is seen without scrolling past the button."""
        if message := current(self.page, where=self.key):
            where.error(plain(message["text"]), icon=ICONS["error"])
