"""The customer-facing door, on the Streamlit side: the registry of pages a customer reaches
without signing in, and what each of them draws the same way. app.py serves these (and only
these) before any sign-in when the browser asked for one of their URLs: no sign-in cookie
component, no staff navigation, no sidebar. A new customer page is one line in DOOR_PAGES and a
file that calls `frame()` first:

    DoorPage("Request an appointment", "pages/request.py", "request"),

    # pages/request.py
    door.frame("Request an appointment")
    ...

Services behind the door take the client address (`client()`) and call
`core.security.door.enter` (the switch, the rate limit, the honeypot) or read a signed link
(`core.security.links`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlparse

import streamlit as st

from core.base.config import ROOT
from core.base.errors import DomainError
from core.security import door
from pages import auth_widgets
from pages.safe import plain


@dataclass(frozen=True)
class DoorPage:
    title: str
    file: str
    url_path: str


# The one registry of customer-facing pages.
DOOR_PAGES: tuple[DoorPage, ...] = (
    DoorPage("Request an appointment", "pages/request.py", "request"),
    DoorPage("Unsubscribe", "pages/unsubscribe.py", "unsubscribe"),
    DoorPage("Before your visit", "pages/intake.py", "intake"),
)


def requested() -> DoorPage | None:
    """The door page the browser asked for (the last segment of its URL's path), if any."""
    try:
        path = urlparse(st.context.url or "").path
    except (AttributeError, RuntimeError):  # no browser request (AppTest)
        return None
    last = path.rstrip("/").rsplit("/", 1)[-1]
    return next((p for p in DOOR_PAGES if p.url_path == last), None)


SERVED = "door_served"  # app.py has run this session's door page through its own navigation
LEFT_LEGACY = "door_left_legacy_pages_mode"


def _leave_legacy_pages_mode() -> None:
    """A process starts in Streamlit's legacy pages/ mode, which may run a page file directly,
    without app.py (with every file of pages/ in a sidebar). As pages/ui.py does for staff pages,
    a door page that finds app.py has not served it registers the door's pages with
    st.navigation (the documented switch) and runs again, now through app.py; once per session.
    Each door page's file is named as its URL, so that mode finds it too."""
    state = st.session_state
    if state.get(SERVED) or state.get(LEFT_LEGACY):
        return
    state[LEFT_LEGACY] = True
    st.navigation([st.Page(ROOT / p.file, title=p.title, url_path=p.url_path) for p in DOOR_PAGES], position="hidden")
    st.rerun()


def _not_found() -> None:
    st.error("Not found.", icon=":material/search_off:")


def serve() -> None:
    """Run the asked door page, with only the door's pages in a hidden navigation (and a hidden
    default: Streamlit serves its default page at "/" only, never at its own URL)."""
    st.session_state[SERVED] = True
    home = st.Page(_not_found, title="Not found", url_path="door-home", default=True, visibility="hidden")
    pages = [st.Page(p.file, title=p.title, url_path=p.url_path, visibility="hidden") for p in DOOR_PAGES]
    st.navigation([home, *pages], position="hidden").run()


def client() -> str:
    """The client address, as sign-in throttling reads it (AUTH_CLIENT_IP_HEADER behind a proxy)."""
    return auth_widgets.client_address()


def frame(title: str, *, switched: bool = True) -> None:
    """A door page's heading; stops with one sentence while the door is closed (`switched=False`:
    a page that works whatever the switch says, such as an opt-out from an email already sent)."""
    _leave_legacy_pages_mode()
    st.markdown("<style>[data-testid='stSidebar'],[data-testid='stExpandSidebarButton'],"
                ".st-key-door_hp{display:none !important}</style>", unsafe_allow_html=True)  # fmt: skip
    st.title(title)
    if switched and not door.is_open():
        st.info(door.CLOSED, icon=":material/call:")
        st.stop()


def honeypot() -> str:
    """The field people never see (hidden by `frame`'s style) and bots fill in."""
    with st.container(key="door_hp"):
        return st.text_input("Website", key=door.HONEYPOT_FIELD, autocomplete="off")


def answer(call: Callable[[], object]) -> object | None:
    """Run a public service; its refusal is shown as its one sentence (None returned)."""
    try:
        return call()
    except DomainError as exc:
        st.error(plain(exc), icon=":material/error:")
        return None
