"""Entrypoint: start-up checks, sign-in, and the page list for the signed-in user's role."""

from __future__ import annotations

import streamlit as st

from core import bootstrap
from core.base import migrate
from core.base.config import get_settings
from core.base.db import check_connection, get_engine
from core.base.errors import DomainError
from core.metrics.commands import rebuild_when_missing
from core.security import auth
from pages import auth_widgets, door, startup, ui
from pages.safe import plain

bootstrap.bootstrap()  # the event handlers, jobs and fixing actions; once per process
st.set_page_config(page_title="Appointment operations", page_icon=":material/event_available:", layout="wide")
startup.after_run_started()  # the second run freezes start-up's objects out of the collector's scans


@st.cache_resource(show_spinner="Preparing the database...")
def prepare_database(url: str) -> str:
    """Bring the database to the newest schema (when this role may), once per process and database."""
    check_connection(url)
    migrate.ensure_current(get_engine(url))
    rebuild_when_missing()  # rollups the migrations created empty (python -m core rebuild-rollups)
    return url


try:
    cookie = auth.cookie_config()
    prepare_database(get_settings().database_url)
except DomainError as exc:
    st.error(plain(exc), icon=":material/error:")
    st.stop()

# Customer-facing pages (pages/door.py) open without sign-in and show nothing of the staff app.
if door.requested() is not None:
    door.serve()
    st.stop()

run = auth_widgets.gate(cookie)
actor = run.actor
auth_widgets.sync_cookie(cookie, run)
allowed = ui.allowed_pages(actor)

if allowed:
    ui.sidebar_identity(run)
    sections: dict[str, list[st.Page]] = {}
    titles = ui.navigation_titles(allowed, actor)
    pages = [st.Page(spec.file, title=title, icon=spec.icon, url_path=spec.url_path)
             for spec, title in zip(allowed, titles, strict=True)]  # fmt: skip
    for spec, page in zip(allowed, pages, strict=True):
        sections.setdefault(spec.section, []).append(page)

    # Streamlit serves its default page at "/" only, so a bookmark of the first page's own URL
    # (/today) would say "Page not found". A hidden default that forwards keeps every page's
    # URL real.
    def forward() -> None:
        st.switch_page(pages[0], query_params=st.query_params.to_dict())

    home = st.Page(forward, title="Home", url_path="home", default=True, visibility="hidden")
    sections[allowed[0].section].insert(0, home)
    st.navigation(sections).run()
else:
    # Signed out, or signed in without a role: one view, drawn at every page's URL, so that a
    # bookmarked page opens once the user is known.
    if actor is not None:
        ui.sidebar_identity(run)
    view = ui.no_role_view if actor is not None else (lambda: auth_widgets.sign_in_view(cookie, run))
    first = st.Page(view, title="Sign in" if actor is None else "No role yet", url_path="signin", default=True)
    hidden = [st.Page(view, title=spec.title, url_path=spec.url_path, visibility="hidden") for spec in ui.PAGES]
    st.navigation([first, *hidden], position="hidden").run()
