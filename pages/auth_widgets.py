"""The browser side of sign-in, on streamlit-authenticator's public API: its login widget (the
form and the password check), its logout widget, and its re-authentication cookie. The project's
hardening sits around it; CONTRIBUTING.md ("Sign-in on streamlit-authenticator") says which
parts of the library are wrapped and why.

One `Authenticate` per run (it draws a cookie component with a fixed key when built), made by
`gate`, which app.py calls first on every run:
- the first run of a browser session reads the sign-in cookie server-side (`st.context.cookies`,
  sent with the websocket's opening request), checks it against the database (signature under
  the user's session key, expiry, active account), then lets the library re-authenticate from it;
- every run re-reads the actor and the session version: deactivation, sign-out everywhere, a
  password or role change end a live session on its next run;
- signed out, the library's login form checks passwords against `DatabaseCredentials`
  (core.security.browser), which claims each attempt in the database (delays, dummy hash) just
  before the library's check; `BrowserSession.settle` records the outcome right after.
The cookie is written by `sync_cookie` through the library's cookie manager
(extra_streamlit_components.CookieManager, public API), drawn on every run while it is wanted.
What the session holds (who, which version, which cookie, notices, a sign-out asked for) is kept
by core.security.browser over st.session_state; this module draws the widgets around it.

(Not called signin.py: in Streamlit's legacy pages/ directory mode, which a fresh process starts
in, the sign-in page's URL /signin would run a file of that name directly.)"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import streamlit as st
import streamlit_authenticator as stauth
from extra_streamlit_components import CookieManager

from core.base.config import get_settings
from core.security import auth, browser
from core.security.access import Actor
from core.security.browser import ANSWER, COOKIE_WANTED, EVERYWHERE, HERE, NOTICE, DatabaseCredentials
from pages.safe import plain

FORM_FIELDS = {"Form name": "Username and password", "Username": "Username", "Password": "Password",
               "Login": "Sign in"}  # fmt: skip


class LibraryChanged(RuntimeError):
    """streamlit-authenticator no longer works the way this module relies on: refuse to sign in."""


def client_address() -> str:
    header = get_settings().client_ip_header
    return auth.client_of(st.context.headers.get(header) if header else None, st.context.ip_address)


def _authenticate(cfg: auth.CookieConfig, usernames: dict, key: str, expiry_days: float):
    """The library's widget object. No sleep before its login form (the database throttle is the
    defence), no hashing of what it is given (hashes come from the database)."""
    credentials = {"usernames": usernames}
    authenticator = stauth.Authenticate(credentials, cfg.name, key, expiry_days, auto_hash=False, login_sleep_time=0)
    if authenticator.authentication_controller.authentication_model.credentials is not credentials:
        raise LibraryChanged(
            "streamlit-authenticator no longer keeps the credentials it is given; see CONTRIBUTING.md."
        )
    return authenticator, credentials


def _mirror(username: str, name: str) -> None:
    """Tell the library (through the session keys its README documents) who is signed in, for
    sessions it did not sign in itself (single sign-on)."""
    if st.session_state.get("authentication_status") is not True:
        st.session_state.update(authentication_status=True, username=username, name=name, logout=None)


def session() -> browser.BrowserSession:
    return browser.BrowserSession(st.session_state)


def end_session(notice: str | None = None) -> None:
    session().end(notice)
    st.session_state["logout"] = True  # the library's flag: ignore this session's opening cookie from now on


def _restore_from_cookie(cfg: auth.CookieConfig):
    """First run of a session: our check of the opening request's cookie, then the library's own
    re-authentication from it (signed with the user's session key). Both must agree."""
    token = st.context.cookies.get(cfg.name)
    found = auth.cookie_session(token, cfg)
    if found is None:
        if token:
            end_session()  # expired, forged, or the account's sessions were ended: forget the cookie
        return None
    authenticator, _ = _authenticate(cfg, {found.username: {"name": found.username}}, found.signing_key,
                                     cfg.expiry_days)  # fmt: skip
    authenticator.login(location="unrendered")  # reads the same cookie from st.context.cookies
    status, username = st.session_state.get("authentication_status"), st.session_state.get("username")
    if status is True and username == found.username:
        session().start(found.user_id, found.session_version, cfg, sign_in_id=found.session_id)
    else:
        end_session()
    return authenticator


def _sso_configured() -> bool:
    return bool(get_settings().auth_sso)


@dataclass
class Gate:
    """This run's sign-in state: the actor (None: signed out), the library's `Authenticate` (one
    per run), and while signed out the credentials its login form checks against."""

    actor: Actor | None
    authenticator: stauth.Authenticate
    credentials: DatabaseCredentials | None


def gate(cfg: auth.CookieConfig) -> Gate:
    """Who this browser session is, read fresh from the database, and the run's one
    `Authenticate` for the sign-in form or the sign-out button."""
    authenticator = None
    if session().first_run() and session().user_id is None:
        authenticator = _restore_from_cookie(cfg)
        if session().user_id is None and _sso_configured() and st.user.is_logged_in:
            session().start_sso(st.user.get("email"), bool(st.user.get("email_verified")), cfg)
    asked = session().take_sign_out()
    if asked == HERE:
        _signed_out()
    elif asked == EVERYWHERE:
        end_session(browser.SIGNED_OUT_EVERYWHERE)
    live = session().live(adopt=True)
    actor = live.actor if live else None
    if live and live.ended:
        end_session(live.ended)
    if actor is not None:
        if authenticator is None:
            authenticator, _ = _authenticate(cfg, {actor.username: {"name": actor.name}}, cfg.key, cfg.expiry_days)
        _mirror(actor.username, actor.name)
        return Gate(actor, authenticator, None)
    # Signed out: cookies are written by sync_cookie (expiry 0 stops the library's own write).
    authenticator, library_credentials = _authenticate(cfg, {}, cfg.key, 0)
    if st.session_state.get("authentication_status"):
        authenticator.logout(location="unrendered")  # the library still thought someone was in
    credentials = library_credentials["usernames"] = DatabaseCredentials(session(), client_address())
    return Gate(None, authenticator, credentials)


def sign_in_view(cfg: auth.CookieConfig, run: Gate) -> None:
    """The sign-in page (drawn at whatever URL was asked for, so it opens after sign-in)."""
    _, middle, _ = st.columns([1, 1.3, 1])
    with middle:
        st.title("Sign in")
        st.caption("Appointment operations dashboard")
        if notice := st.session_state.get(NOTICE):
            st.info(notice)
        if _sso_configured() and st.user.is_logged_in:
            st.error(f"There is no active account for {plain(st.user.get('email'))}. Ask an admin to add you.")
            st.button("Sign out of Google", on_click=st.logout)
            return
        _settle(cfg, run)  # an attempt whose run was cut short by a rerun
        # Not clear_on_submit: the browser would empty the fields as it sends them, and a rerun the
        # cookie component asks for at that moment would carry the empty fields and lose the
        # attempt. The form is emptied after a refused attempt instead, by drawing a new one.
        run.authenticator.login(location="main", fields=FORM_FIELDS, key=session().form_key())
        _settle(cfg, run)
        if answer := st.session_state.get(ANSWER):
            st.error(answer, icon=":material/lock:")
        if _sso_configured():
            st.button("Sign in with Google", icon=":material/login:", on_click=st.login, width="stretch")


def _settle(cfg: auth.CookieConfig, run: Gate) -> None:
    """Record the outcome of the attempt the library just checked (`BrowserSession.settle`)."""
    checked = st.session_state.get("authentication_status") is True
    ok = session().settle(checked, cfg)
    if ok is None:
        return
    if not ok and checked:
        run.authenticator.logout(location="unrendered")
    st.rerun()  # signed in; or refused, and the fresh, empty form is drawn under the answer


def _signed_out(_details: dict | None = None) -> None:
    """Signed out here: this browser's sign-in ends server-side, so a copy of its cookie is
    refused from now on."""
    session().sign_out_here(browser.SIGNED_OUT)
    st.session_state["logout"] = True  # the library's flag: ignore this session's opening cookie from now on


def sign_out_button(run: Gate) -> None:
    """The library's logout widget, in the sidebar."""
    run.authenticator.logout("Sign out", location="sidebar", key="sidebar_sign_out", callback=_signed_out)
    if session().user_id is None:
        if _sso_configured() and st.user.is_logged_in:
            st.logout()
        st.rerun()


def sign_out() -> None:
    """Sign out of this browser (a page's button): the next run's gate signs out through the
    library's logout, which needs the run's `Authenticate`."""
    session().ask_sign_out(HERE)
    if _sso_configured() and st.user.is_logged_in:
        st.logout()
    st.rerun()


def sign_out_everywhere(actor: Actor) -> None:
    """End every session of this user, this one included (copied cookies stop working)."""
    auth.sign_out_everywhere(actor)
    session().ask_sign_out(EVERYWHERE)
    st.rerun()


def renew_sign_in(version: int) -> None:
    """Carry this session on under a new session version (after this user changed their password)."""
    if (user_id := session().user_id) is not None:
        session().start(user_id, version, auth.cookie_config())


def sync_cookie(cfg: auth.CookieConfig, run: Gate) -> None:
    """Draw the cookie component for what this session wants (the signed token, or no cookie).
    Drawn on every run with the same arguments, so a run cut short by a rerun costs nothing: the
    browser acts once the component is on screen, and again only if the arguments change."""
    wanted = st.session_state.get(COOKIE_WANTED)
    if not wanted:
        return
    # The library's own cookie manager (built with this run's Authenticate): a second one would
    # add a second "read every cookie" component and a rerun whenever the cookies change.
    jar: CookieManager = run.authenticator.cookie_controller.cookie_model.cookie_manager
    if wanted.get("delete"):
        with contextlib.suppress(KeyError):  # drawn; the jar just had not seen the cookie yet
            jar.delete(cfg.name, key="auth_cookie_delete")
        return
    jar.set(cfg.name, wanted["value"], key="auth_cookie_set", expires_at=wanted["expires"],
            secure=browser.secure_cookie(st.context.url), same_site="strict")  # fmt: skip
