"""A browser session's sign-in state, kept in the mapping the page framework holds per browser
session (Streamlit's session_state, passed in: no streamlit here). It says who is signed in and
under which session version, which cookie the browser should hold, what the sign-in page tells
the user, and whether a page asked to sign out. pages/auth_widgets.py draws the widgets that read
and change it; the rules about sessions themselves (versions, cookies, throttling) are in
core.security.auth and core.security.cookies."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from core.security import auth

USER_KEY = "user_id"
VERSION_KEY = "auth_session_version"  # the session version this browser session signed in with
COOKIE_WANTED = "auth_cookie_wanted"  # {"value", "expires"} to set, or {"delete": True}
NOTICE = "auth_notice"
ANSWER = "auth_sign_in_answer"  # the last refused attempt's answer
REFUSED = "auth_refused_attempts"  # numbers the sign-in form, so a refused attempt empties it
SIGN_OUT = "auth_sign_out"  # HERE or EVERYWHERE: asked for on a page, done by the next run
HERE, EVERYWHERE = "here", "everywhere"

SIGNED_OUT = "You are signed out."
SIGNED_OUT_EVERYWHERE = (
    "You are signed out everywhere: every browser, and any copy of your sign-in cookie, must sign in again."
)


class BrowserSession:
    def __init__(self, state: MutableMapping[str, Any]) -> None:
        self.state = state

    @property
    def user_id(self) -> int | None:
        return self.state.get(USER_KEY)

    def start(self, user_id: int, version: int | None, cfg: auth.CookieConfig, *, write_cookie: bool = True) -> None:
        """Signed in as `user_id` under session `version`; the browser gets a fresh cookie
        unless it came with one."""
        self.state[USER_KEY] = user_id
        self.state[VERSION_KEY] = version
        self.state.pop(NOTICE, None)
        self.state.pop(ANSWER, None)
        if write_cookie:
            token, expires = auth.issue_token(user_id, cfg)
            self.state[COOKIE_WANTED] = {"value": token, "expires": expires}

    def end(self, notice: str | None = None) -> None:
        """Signed out here, the cookie to be deleted, and `notice` for the sign-in page."""
        self.state.pop(USER_KEY, None)
        self.state.pop(VERSION_KEY, None)
        self.state[COOKIE_WANTED] = {"delete": True}
        if notice:
            self.state[NOTICE] = notice

    def live(self, *, adopt: bool = False) -> auth.LiveSession | None:
        """The session as the database has it now (None: signed out here). `adopt`: a session
        set up without signing in (tests) takes the current version from now on."""
        if (user_id := self.user_id) is None:
            return None
        live = auth.live_session(user_id, self.state.get(VERSION_KEY))
        if adopt and self.state.get(VERSION_KEY) is None:
            self.state[VERSION_KEY] = live.version
        return live

    def ask_sign_out(self, where: str) -> None:
        """Sign out HERE or EVERYWHERE on the next run (a page's button cannot reach the run's
        sign-in widgets)."""
        self.state[SIGN_OUT] = where

    def take_sign_out(self) -> str | None:
        return self.state.pop(SIGN_OUT, None)

    def refused(self, answer: str) -> None:
        """A refused attempt: its answer stays until the next attempt, and a fresh form is drawn."""
        self.state[ANSWER] = answer
        self.state[REFUSED] = self.state.get(REFUSED, 0) + 1

    def form_key(self) -> str:
        return f"signin-{self.state.get(REFUSED, 0)}"


def secure_cookie(url: str | None) -> bool:
    """Whether the cookie is sent over HTTPS only: when the app is reached over HTTPS."""
    return (url or "").startswith("https://")
