"""Helpers shared by the pages (never imported by core/): the page registry, who is signed in,
the page guard. Pages ask core for everything.

Sign-in (pages/auth_widgets.py, on streamlit-authenticator): `st.session_state[USER_KEY]` holds the
signed-in user's id for this browser session; the role, location scope, whether the account is
still active and its session version are read from the database on every run. A refreshed tab or
a new tab is a new session: it reads the signed sign-in cookie server-side on its first run
(`st.context.cookies`, sent with the websocket's opening request), so the first run already
knows the user and a deep link opens its page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from core.base.config import ROOT
from core.base.errors import DomainError
from core.queue import reads as queue_reads
from core.security import access, auth, browser
from core.security.access import A, Actor
from core.security.browser import USER_KEY  # noqa: F401 - where tests and pages look for it
from pages import auth_widgets
from pages.safe import plain


@dataclass(frozen=True)
class PageSpec:
    title: str
    file: str
    url_path: str
    action: str | None  # None: any signed-in user with a role
    icon: str
    section: str
    badge: Callable[[Actor], int] | None = None  # a count shown after the title: "Queue (7)"


# The one page registry: a new page is one line here.
PAGES: tuple[PageSpec, ...] = (
    PageSpec("Today", "pages/today.py", "today", A.APPOINTMENT_VIEW, ":material/today:", "Operations"),
    PageSpec(
        "Queue", "pages/queue.py", "queue", A.QUEUE_VIEW, ":material/inbox:", "Operations", queue_reads.open_count
    ),
    PageSpec("Notifications", "pages/notifications.py", "notifications", A.SETTINGS_MANAGE, ":material/mail:", "Admin"),
    PageSpec(
        "Providers",
        "pages/settings_providers.py",
        "settings-providers",
        A.SETTINGS_MANAGE,
        ":material/badge:",
        "Settings",
    ),
    PageSpec(
        "Appointment types",
        "pages/settings_types.py",
        "settings-types",
        A.SETTINGS_MANAGE,
        ":material/category:",
        "Settings",
    ),
    PageSpec(
        "Locations",
        "pages/settings_locations.py",
        "settings-locations",
        A.LOCATIONS_MANAGE,
        ":material/store:",
        "Settings",
    ),
    PageSpec(
        "Customer pages",
        "pages/customer_pages.py",
        "customer-pages",
        A.SETTINGS_MANAGE,
        ":material/public:",
        "Settings",
    ),
    PageSpec("Weekly KPIs", "pages/kpis.py", "kpis", A.METRICS_VIEW, ":material/monitoring:", "Insights"),
    PageSpec("Utilization", "pages/utilization.py", "utilization", A.METRICS_VIEW, ":material/grid_view:", "Insights"),
    PageSpec("Users", "pages/admin_users.py", "users", A.USERS_MANAGE, ":material/group:", "Admin"),
    PageSpec("Audit log", "pages/audit_log.py", "audit", A.AUDIT_VIEW, ":material/history:", "Admin"),
    PageSpec(
        "Calendar sync",
        "pages/calendar_sync.py",
        "calendar-sync",
        A.CALENDAR_MANAGE,
        ":material/event_repeat:",
        "Admin",
    ),
    PageSpec("Import", "pages/import.py", "import", A.IMPORT_APPOINTMENTS, ":material/upload_file:", "Admin"),
    PageSpec("Webhooks", "pages/webhooks.py", "webhooks", A.WEBHOOKS_MANAGE, ":material/webhook:", "Admin"),
    PageSpec("Account", "pages/account.py", "account", None, ":material/account_circle:", "You"),
)


def allowed_pages(actor: Actor | None) -> list[PageSpec]:
    """The pages this actor may open, in registry order; none for no role."""
    if actor is None or actor.role is None:
        return []
    actions = access.allowed_actions(actor)
    return [p for p in PAGES if (p.action is None or p.action in actions) and (ROOT / p.file).is_file()]


def _count(spec: PageSpec, actor: Actor | None) -> int | None:
    if spec.badge is None or actor is None:
        return None
    try:
        return spec.badge(actor)
    except DomainError:
        return None


def page_title(spec: PageSpec, actor: Actor | None) -> str:
    """The title in the navigation, with the page's count when it has one and it is not zero."""
    count = _count(spec, actor)
    return f"{spec.title} ({count})" if count else spec.title


DRAWN_COUNTS = "ui_drawn_counts"  # {url_path: count} as this session's navigation last showed them


def navigation_titles(specs: list[PageSpec], actor: Actor | None) -> list[str]:
    """The navigation's titles (app.py), remembering the counts they show for
    `keep_navigation_current`."""
    st.session_state[DRAWN_COUNTS] = {s.url_path: _count(s, actor) for s in specs if s.badge is not None}
    return [page_title(s, actor) for s in specs]


def keep_navigation_current(actor: Actor | None) -> None:
    """For a fragment's run (the today page's schedule): the navigation is drawn only by a full
    run of app.py, so an action inside a fragment, or the worker between two refreshes, would
    leave its counts behind until the next click. When a count differs from the one shown, the
    whole app runs again at once (the fragment's message waits for that run)."""
    drawn = st.session_state.get(DRAWN_COUNTS)
    if not drawn:
        return  # the page runs on its own, outside app.py's navigation
    by_path = {s.url_path: s for s in PAGES}
    if any(_count(by_path[path], actor) != count for path, count in drawn.items() if path in by_path):
        st.rerun(scope="app")


def current_actor() -> Actor | None:
    """The signed-in actor, read fresh from the database on every call: a role change or a
    deactivation takes effect on the user's next click (call it inside fragments too)."""
    _leave_legacy_pages_mode()
    live = auth_widgets.session().live()
    if live is None:
        return None
    if live.ended == auth.SESSION_ENDED:  # signed out everywhere, or password or role changed
        auth_widgets.end_session(live.ended)
        st.rerun()
    return live.actor


LEFT_LEGACY = "ui_left_legacy_pages_mode"  # this session has asked Streamlit to use app.py's navigation


def _leave_legacy_pages_mode() -> None:
    """Because this folder is called pages/, Streamlit starts each new process in its legacy
    "pages directory" mode: until some session's app.py has called st.navigation, the first run
    may run a page file directly, without app.py (so without sign-in and the role's navigation).
    No setting turns the mode off (client.showSidebarNavigation only hides the folder's list;
    the page still runs without app.py), and st.navigation is the documented switch: calling it
    makes Streamlit ignore pages/ from then on, in every session. So a page that finds app.py
    has not run in this session (the sign-in gate has not looked at the cookie yet) registers
    the app's pages, which keep their URLs, and runs again, now through app.py. Once per
    session, on its first run, where no click can be lost to the rerun."""
    state = st.session_state
    if state.get(browser.CHECKED) or state.get(LEFT_LEGACY):
        return
    state[LEFT_LEGACY] = True
    st.navigation([st.Page(ROOT / p.file, title=p.title, url_path=p.url_path) for p in PAGES if (ROOT / p.file).is_file()],
                  position="hidden")  # fmt: skip
    st.rerun()


def require_page(action: str) -> Actor:
    """Stop the page unless the signed-in actor may do `action` somewhere."""
    actor = current_actor()
    if actor is None or action not in access.allowed_actions(actor):
        st.error("You do not have access to this page.")
        st.stop()
    return actor


def sidebar_identity(run: auth_widgets.Gate) -> None:
    actor = run.actor
    with st.sidebar:
        role = access.ROLE_LABELS.get(actor.role, "no role") if actor.role else "no role"
        st.caption(f"Signed in as **{plain(actor.name or actor.username)}** · {role}")
        auth_widgets.sign_out_button(run)


def no_role_view() -> None:
    st.title("No role yet")
    st.info("You are signed in, but nobody has given you a role yet, so there is nothing to show. Ask an admin.")
