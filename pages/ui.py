"""Helpers shared by the pages (never imported by core/): the page registry, who is signed in,
the page guard, and the browser side of sign-in. Pages ask core for everything.

Sign-in state: `st.session_state[USER_KEY]` holds the signed-in user's id for this browser
session; the role, location scope and whether the account is still active are read from the
database on every run. A refreshed tab or a new tab is a new session: it reads the signed sign-in
cookie server-side on its first run (`st.context.cookies`, sent with the websocket's opening
request), so the first run already knows the user and a deep link opens its page."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import streamlit as st
from extra_streamlit_components.CookieManager import _component_func as _cookie_component
from streamlit.runtime.pages_manager import PagesManager

from core.base.config import ROOT, get_settings
from core.base.db import read_session
from core.base.errors import DomainError
from core.queue import reads as queue_reads
from core.security import access, auth
from core.security.access import A, Actor

USER_KEY = "user_id"
_CHECKED = "_auth_cookie_checked"  # the opening request's cookie has been looked at
_COOKIE_TODO = "_auth_cookie_todo"  # a cookie write or delete the browser has not confirmed yet
_NOTICE = "_auth_notice"
_nonce = itertools.count()


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
    PageSpec("Account", "pages/account.py", "account", None, ":material/account_circle:", "You"),
)


def allowed_pages(actor: Actor | None) -> list[PageSpec]:
    """The pages this actor may open, in registry order; none for no role."""
    if actor is None or actor.role is None:
        return []
    actions = access.allowed_actions(actor)
    return [p for p in PAGES if (p.action is None or p.action in actions) and (ROOT / p.file).is_file()]


def page_title(spec: PageSpec, actor: Actor | None) -> str:
    """The title in the navigation, with the page's count when it has one and it is not zero."""
    if spec.badge is None or actor is None:
        return spec.title
    try:
        count = spec.badge(actor)
    except DomainError:
        return spec.title
    return f"{spec.title} ({count})" if count else spec.title


def current_actor() -> Actor | None:
    """The signed-in actor, read fresh from the database on every call: a role change or a
    deactivation takes effect on the user's next click (call it inside fragments too)."""
    _leave_legacy_pages_mode()
    user_id = st.session_state.get(USER_KEY)
    if user_id is None:
        return None
    with read_session() as session:
        return access.load_actor(session, user_id)


def _leave_legacy_pages_mode() -> None:
    """Because this folder is called pages/, Streamlit starts each new process in its legacy
    "pages directory" mode: the first run of the first session may run a page file directly,
    without app.py (so without sign-in and the role's navigation). Turn the mode off and run
    again through app.py, which resolves the same URL; app.py's st.navigation keeps it off.
    Only on a session's first run, where no click can be lost to the rerun. (AppTest re-enters
    the mode on every run; later runs there go straight to the page, as they did before.)"""
    if getattr(PagesManager, "uses_pages_directory", None) and not st.session_state.get(_CHECKED):
        PagesManager.uses_pages_directory = False
        st.rerun()


def require_page(action: str) -> Actor:
    """Stop the page unless the signed-in actor may do `action` somewhere."""
    actor = current_actor()
    if actor is None or action not in access.allowed_actions(actor):
        st.error("You do not have access to this page.")
        st.stop()
    return actor


# --- the browser side of sign-in -----------------------------------------------------------


def _sso_configured() -> bool:
    return bool(get_settings().auth_sso)


def _start_session(user_id: int, cfg: auth.CookieConfig) -> None:
    token, expires = auth.issue_token(user_id, cfg)
    st.session_state[USER_KEY] = user_id
    st.session_state[_COOKIE_TODO] = {"method": "set", "value": token, "expires": expires, "n": next(_nonce)}


def _end_session(notice: str | None = None) -> None:
    st.session_state.pop(USER_KEY, None)
    st.session_state[_COOKIE_TODO] = {"method": "delete", "n": next(_nonce)}
    if notice:
        st.session_state[_NOTICE] = notice


def signed_in_actor(cfg: auth.CookieConfig) -> Actor | None:
    """Who this browser session is: a user id from this session or, on its first run, from the
    sign-in cookie or single sign-on. The actor itself always comes from the database."""
    if not st.session_state.get(_CHECKED):
        st.session_state[_CHECKED] = True
        if st.session_state.get(USER_KEY) is None:
            token = st.context.cookies.get(cfg.name)
            user_id = auth.user_id_from_token(token, cfg)
            if user_id is None and token:
                _end_session()  # expired, forged, or the account changed: forget the cookie
            if user_id is None and _sso_configured() and st.user.is_logged_in:
                user_id = auth.sso_user_id(st.user.get("email"), email_verified=bool(st.user.get("email_verified")))
            if user_id is not None:
                st.session_state[USER_KEY] = user_id
    user_id = st.session_state.get(USER_KEY)
    if user_id is None:
        return None
    with read_session() as session:
        actor = access.load_actor(session, user_id)
    if actor is None:
        _end_session("Your session has ended: your account was deactivated. Ask an admin if this is a mistake.")
    return actor


def sync_cookie(cfg: auth.CookieConfig) -> None:
    """Write or delete the sign-in cookie in the browser, once per change, until the browser
    confirms it (a run cut short by a rerun just tries again on the next one)."""
    todo = st.session_state.get(_COOKIE_TODO)
    if not todo:
        return
    key = f"auth_cookie_{todo['n']}"
    if todo["method"] == "set":
        secure = (st.context.url or "").startswith("https://")
        expires: datetime = todo["expires"]
        options = {"path": "/", "expires": expires.isoformat(), "sameSite": "strict", "secure": secure}
        done = _cookie_component(method="set", cookie=cfg.name, value=todo["value"], options=options, key=key,
                                 default=False)  # fmt: skip
    else:
        done = _cookie_component(method="delete", cookie=cfg.name, key=key, default=False)
    if done:
        st.session_state.pop(_COOKIE_TODO, None)


def _submit_sign_in(cfg: auth.CookieConfig) -> None:
    result = auth.authenticate(st.session_state.get("signin_username", ""), st.session_state.get("signin_password", ""))
    st.session_state["signin_password"] = ""
    if result.ok:
        st.session_state.pop(_NOTICE, None)
        _start_session(result.user_id, cfg)
    else:
        st.session_state["signin_error"] = result.message


def sign_in_view(cfg: auth.CookieConfig) -> None:
    """The sign-in page (drawn at whatever URL was asked for, so it opens after sign-in)."""
    _, middle, _ = st.columns([1, 1.3, 1])
    with middle:
        st.title("Sign in")
        st.caption("Appointment operations dashboard")
        if notice := st.session_state.get(_NOTICE):
            st.info(notice)
        if _sso_configured() and st.user.is_logged_in:
            st.error(f"There is no active account for {st.user.get('email')}. Ask an admin to add you.")
            st.button("Sign out of Google", on_click=st.logout)
            return
        with st.form("signin"):
            st.text_input("Username", key="signin_username", autocomplete="username")
            st.text_input("Password", type="password", key="signin_password", autocomplete="current-password")
            st.form_submit_button("Sign in", type="primary", on_click=_submit_sign_in, args=(cfg,), width="stretch")
        if error := st.session_state.pop("signin_error", None):
            st.error(error, icon=":material/lock:")
        if _sso_configured():
            st.button("Sign in with Google", icon=":material/login:", on_click=st.login, width="stretch")


def renew_sign_in() -> None:
    """Issue this browser a new cookie (a password change made the old one invalid)."""
    user_id = st.session_state.get(USER_KEY)
    if user_id is not None:
        _start_session(user_id, auth.cookie_config())


def sign_out() -> None:
    user_id = st.session_state.get(USER_KEY)
    if user_id is not None:
        auth.record_sign_out(user_id)
    _end_session("You are signed out.")
    if _sso_configured() and st.user.is_logged_in:
        st.logout()


def sidebar_identity(actor: Actor) -> None:
    with st.sidebar:
        role = access.ROLE_LABELS.get(actor.role, "no role") if actor.role else "no role"
        st.caption(f"Signed in as **{actor.name or actor.username}** · {role}")
        st.button("Sign out", icon=":material/logout:", on_click=sign_out, key="sidebar_sign_out")


def no_role_view() -> None:
    st.title("No role yet")
    st.info("You are signed in, but nobody has given you a role yet, so there is nothing to show. Ask an admin.")


def flash(message: str, kind: str = "success") -> None:
    """A message shown once, at the top of the next run (survives the rerun after a button)."""
    st.session_state["_flash"] = (kind, message)


def show_flash() -> None:
    if item := st.session_state.pop("_flash", None):
        kind, message = item
        getattr(st, kind)(message)
