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
SIGN_IN_KEY = "auth_sign_in_id"  # the sign-in (sid) its cookie names: ended when it signs out
COOKIE_WANTED = "auth_cookie_wanted"  # {"value", "expires"} to set, or {"delete": True}
NOTICE = "auth_notice"
ANSWER = "auth_sign_in_answer"  # the last refused attempt's answer
REFUSED = "auth_refused_attempts"  # numbers the sign-in form, so a refused attempt empties it
SIGN_OUT = "auth_sign_out"  # HERE or EVERYWHERE: asked for on a page, done by the next run
CHECKED = "auth_cookie_checked"  # the opening request's cookie has been looked at
PENDING = "auth_pending_attempt"  # claimed in the database, outcome not recorded yet
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

    @property
    def sign_in_id(self) -> str | None:
        return self.state.get(SIGN_IN_KEY)

    def start(
        self, user_id: int, version: int | None, cfg: auth.CookieConfig, *, sign_in_id: str | None = None
    ) -> None:
        """Signed in as `user_id` under session `version`: within the sign-in `sign_in_id` the
        browser's cookie already names, or a new sign-in whose fresh cookie the browser gets."""
        self.state[USER_KEY] = user_id
        self.state[VERSION_KEY] = version
        self.state.pop(NOTICE, None)
        self.state.pop(ANSWER, None)
        if sign_in_id is None:
            issued = auth.issue_sign_in(user_id, cfg)
            sign_in_id = issued.session_id
            self.state[COOKIE_WANTED] = {"value": issued.token, "expires": issued.expires}
        self.state[SIGN_IN_KEY] = sign_in_id

    def end(self, notice: str | None = None) -> None:
        """Signed out here, the cookie to be deleted, and `notice` for the sign-in page."""
        self.state.pop(USER_KEY, None)
        self.state.pop(VERSION_KEY, None)
        self.state.pop(SIGN_IN_KEY, None)
        self.state[COOKIE_WANTED] = {"delete": True}
        if notice:
            self.state[NOTICE] = notice

    def live(self, *, adopt: bool = False) -> auth.LiveSession | None:
        """The session as the database has it now (None: signed out here). `adopt`: a session
        set up without signing in (tests) takes the current version from now on."""
        if (user_id := self.user_id) is None:
            return None
        live = auth.live_session(user_id, self.state.get(VERSION_KEY), self.sign_in_id)
        if adopt and self.state.get(VERSION_KEY) is None:
            self.state[VERSION_KEY] = live.version
        return live

    def ask_sign_out(self, where: str) -> None:
        """Sign out HERE or EVERYWHERE on the next run (a page's button cannot reach the run's
        sign-in widgets)."""
        self.state[SIGN_OUT] = where

    def take_sign_out(self) -> str | None:
        return self.state.pop(SIGN_OUT, None)

    def sign_out_here(self, notice: str | None = SIGNED_OUT) -> None:
        """Signed out in this browser: its sign-in ended server-side (a copy of its cookie is
        refused from now on), recorded, and the cookie to be deleted."""
        if (user_id := self.user_id) is not None:
            auth.record_sign_out(user_id, self.sign_in_id)
        self.end(notice)

    def refused(self, answer: str) -> None:
        """A refused attempt: its answer stays until the next attempt, and a fresh form is drawn."""
        self.state[ANSWER] = answer
        self.state[REFUSED] = self.state.get(REFUSED, 0) + 1

    def form_key(self) -> str:
        return f"signin-{self.state.get(REFUSED, 0)}"

    def first_run(self) -> bool:
        """True once per browser session: its first run, when the opening request's cookie is
        looked at."""
        first = not self.state.get(CHECKED)
        self.state[CHECKED] = True
        return first

    def start_sso(self, email: str | None, email_verified: bool, cfg: auth.CookieConfig) -> bool:
        """Signed in as the active user with this verified single sign-on email, if there is one."""
        user_id = auth.sso_user_id(email, email_verified=email_verified)
        if user_id is not None:
            self.start(user_id, auth.load_session(user_id)[1], cfg)
        return user_id is not None

    def settle(self, password_ok: bool, cfg: auth.CookieConfig) -> bool | None:
        """Record the outcome of the claimed attempt (None: none waits): signed in, or refused with
        its answer. The attempt waits in the session until this, so a run cut short between the
        password check and this call loses neither its audit row nor its answer."""
        attempt = self.state.pop(PENDING, None)
        if attempt is None:
            return None
        result = auth.finish_attempt(attempt, password_ok)
        if result.ok:
            self.start(result.user_id, result.session_version, cfg)
        else:
            self.refused(result.message)
        return result.ok


class DatabaseCredentials(dict):
    """Stands in for streamlit-authenticator's `credentials["usernames"]` while signed out. The
    library asks it whether a username exists (always "yes": unknown usernames must cost the same
    bcrypt check) and for the user's record just before checking the password: that is when the
    attempt is claimed in the database (refused during a delay, counted, the real hash or a dummy
    of the same cost) and kept in the session for `BrowserSession.settle`. It never lists anyone."""

    def __init__(self, session: BrowserSession, client: str | None) -> None:
        super().__init__()
        self.session, self.client = session, client
        self._records: dict[str, dict] = {}

    def __contains__(self, username: object) -> bool:
        return isinstance(username, str) and bool(username.strip())

    def __getitem__(self, username: str) -> dict:
        if username not in self._records:
            attempt = self.session.state[PENDING] = auth.begin_attempt(username, self.client)
            self._records[username] = {"name": username, "email": None, "roles": None,
                                       "password": attempt.check_hash}  # fmt: skip
        return self._records[username]

    def get(self, username, default=None):
        if username not in self:  # noqa: SIM401 - dict.get would skip the attempt
            return default
        return self[username]


def secure_cookie(url: str | None) -> bool:
    """Whether the cookie is sent over HTTPS only: when the app is reached over HTTPS."""
    return (url or "").startswith("https://")
