"""Role x page with AppTest: the navigation holds exactly the pages a role may use; a page that is
not in it cannot be opened (by switching, or by the hash a bookmark or a last-visited page
carries); no role sees one message; sign-in through the form; role changes and deactivation
apply on the next run."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from core.base.config import reset_settings
from core.base.db import read_session
from core.base.models import User
from core.people import users
from core.security import auth
from pages.auth_widgets import NOTICE
from pages.ui import PAGES, USER_KEY
from tests.factories import PASSWORD, shown, world

APP = str(Path(__file__).resolve().parent.parent / "app.py")
FILES = {"Today": "pages/today.py", "Weekly KPIs": "pages/kpis.py", "Utilization": "pages/utilization.py", "Queue": "pages/queue.py", "Providers": "pages/settings_providers.py",
         "Appointment types": "pages/settings_types.py", "Locations": "pages/settings_locations.py",
         "Notifications": "pages/notifications.py",
         "Users": "pages/admin_users.py", "Calendar sync": "pages/calendar_sync.py", "Import": "pages/import.py", "Audit log": "pages/audit_log.py", "Account": "pages/account.py",
         "Webhooks": "pages/webhooks.py", "Customer pages": "pages/customer_pages.py"}  # fmt: skip
# Written out by hand: which pages each role's navigation holds.
EXPECTED = {
    "frontdesk": {"Today", "Queue", "Account"},
    "harbordesk": {"Today", "Queue", "Account"},
    "provider": {"Today", "Queue", "Account"},
    "manager": {"Today", "Queue", "Weekly KPIs", "Utilization", "Providers", "Appointment types", "Notifications", "Account",
                "Customer pages"},
    "analyst": {"Today", "Queue", "Weekly KPIs", "Utilization", "Account"},
    "admin": {"Today", "Queue", "Weekly KPIs", "Utilization", "Providers", "Appointment types", "Locations", "Notifications", "Users", "Audit log",
              "Calendar sync", "Import", "Webhooks", "Account", "Customer pages"},
    "norole": set(),
}  # fmt: skip
MY_PAGE_TITLES = {"Weekly KPIs": "Weekly KPIs", "Utilization": "Utilization","Queue": "Exceptions queue", "Users": "Users", "Audit log": "Audit log", "Account": "Account",
                  "Providers": "Providers", "Appointment types": "Appointment types", "Locations": "Locations",
                  "Notifications": "Notifications", "Calendar sync": "Calendar sync", "Import": "Import history", "Webhooks": "Webhooks",
                  "Customer pages": "Customer pages"}  # fmt: skip


COOKIE_KEY = "pages-access-test-key-9fQ2xLm7Vb3KdW8zRt5NcYh1JpA6sEu4"


@pytest.fixture
def w(sqlite_db, monkeypatch, fast_passwords):
    monkeypatch.setenv("AUTH_COOKIE_KEY", COOKIE_KEY)
    monkeypatch.setenv("DEMO_MODE", "0")
    monkeypatch.setattr(auth, "DUMMY_HASH_ROUNDS", 4)
    reset_settings()
    return world()


def _app(user_id: int | None = None, url_path: str | None = None) -> AppTest:
    """A new browser session, signed in as `user_id`, opening `url_path` (a bookmark) if given.
    (AppTest has no public way to open a URL; a page's hash is the hash of its url_path.)"""
    at = AppTest.from_file(APP, default_timeout=30)
    if user_id is not None:
        at.session_state[USER_KEY] = user_id
    if url_path is not None:
        at._page_hash = calc_hash(url_path)
    return at.run()


def _titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def test_the_registry_and_this_test_agree():
    assert {p.title: p.file for p in PAGES} == FILES
    assert {p.title: p.url_path for p in PAGES} == {"Today": "today", "Queue": "queue", "Users": "users",
                                                   "Audit log": "audit", "Account": "account",
                                                   "Providers": "settings-providers",
                                                   "Appointment types": "settings-types",
                                                   "Locations": "settings-locations",
                                                   "Notifications": "notifications", "Calendar sync": "calendar-sync", "Import": "import", "Weekly KPIs": "kpis", "Utilization": "utilization", "Webhooks": "webhooks",
                                                   "Customer pages": "customer-pages"}  # fmt: skip


@pytest.mark.parametrize("user", list(EXPECTED))
def test_role_by_page_matrix(w, user):
    # One session, as a user moving through their navigation; a bookmark (a new session) is the
    # next test's. The pages outside the navigation are tried first, against the navigation the
    # session's first run registered (AppTest lists the pages folder once a page has run).
    at = _app(w.users[user].id)
    assert not at.exception
    for title, file in FILES.items():
        if title not in EXPECTED[user]:
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                at.switch_page(file)  # not in the navigation
    for title, file in FILES.items():
        if title in EXPECTED[user]:
            at.switch_page(file).run()
            assert not at.exception, (title, at.exception)
            if title in MY_PAGE_TITLES:
                assert _titles(at) == [MY_PAGE_TITLES[title]]


def _on_page(at: AppTest, title: str) -> bool:
    titles = _titles(at)
    if title in MY_PAGE_TITLES:
        return titles == [MY_PAGE_TITLES[title]]
    # Today's title names the location and day; it is none of the others.
    return len(titles) == 1 and titles[0] not in {*MY_PAGE_TITLES.values(), "Sign in", "No role yet"}


@pytest.mark.parametrize("user", list(EXPECTED))
def test_a_page_opens_by_its_url_only_for_the_roles_allowed_it(w, user):
    for spec in PAGES:
        at = _app(w.users[user].id, spec.url_path)
        assert not at.exception
        opened = _on_page(at, spec.title)
        assert opened == (spec.title in EXPECTED[user]), (user, spec.title, _titles(at))


def test_a_user_with_no_role_sees_only_the_no_role_message(w):
    at = _app(w.users["norole"].id)
    assert _titles(at) == ["No role yet"]
    assert "ask an admin" in at.info[0].value.lower()
    assert [b.label for b in at.button] == ["Sign out"]
    for spec in PAGES:
        assert _titles(_app(w.users["norole"].id, spec.url_path)) == ["No role yet"]


def test_nobody_signed_in_sees_the_sign_in_form_at_every_url(w):
    at = _app()
    assert _titles(at) == ["Sign in"]
    for spec in PAGES:
        assert _titles(_app(url_path=spec.url_path)) == ["Sign in"]
    assert USER_KEY not in at.session_state


def _field(at: AppTest, label: str):
    return next(t for t in at.text_input if t.label == label)


def _sign_in(at: AppTest, username: str, password: str) -> AppTest:
    """Through streamlit-authenticator's login form, as a person would."""
    _field(at, "Username").input(username)
    _field(at, "Password").input(password)
    return next(b for b in at.button if b.label == "Sign in").click().run()


def test_signing_in_through_the_form_opens_the_role_s_pages(w):
    at = _sign_in(_app(), "admin", PASSWORD)
    assert at.session_state[USER_KEY] == w.users["admin"].id
    at.switch_page("pages/audit_log.py").run()
    assert _titles(at) == ["Audit log"]


def test_a_deep_link_survives_signing_in(w):
    at = _app(url_path="audit")
    assert _titles(at) == ["Sign in"]
    assert _titles(_sign_in(at, "admin", PASSWORD)) == ["Audit log"]


def test_a_deep_link_to_a_page_the_role_may_not_use_stays_closed_after_signing_in(w):
    at = _sign_in(_app(url_path="users"), "frontdesk", PASSWORD)
    assert at.session_state[USER_KEY] == w.users["frontdesk"].id
    assert "Users" not in _titles(at)


def test_a_wrong_password_shows_one_message_and_keeps_the_user_out(w):
    at = _sign_in(_app(), "admin", "wrong-password")
    assert [e.value for e in at.error] == ["Unknown username or wrong password."]
    assert USER_KEY not in at.session_state
    # (The form clears the typed password in the browser: tests/e2e/test_auth_e2e.py checks it.)


def test_the_fifth_failure_makes_the_next_attempt_wait_whatever_the_username(w):
    for username in ("frontdesk", "nobody-at-all"):
        at = _app()
        for _ in range(5):
            at = _sign_in(at, username, "wrong-password")
        assert at.error[0].value.startswith("Too many failed sign-ins: wait")
        at = _sign_in(at, username, PASSWORD)  # even the right password waits
        assert at.error[0].value.startswith("Too many failed sign-ins: wait") and USER_KEY not in at.session_state


def test_deactivation_cuts_an_open_session_on_the_next_run(w):
    users.set_role_and_locations(w.actors["admin"], w.users["manager"].id, role="admin", location_names=[])
    at = _app(w.users["manager"].id)
    at.switch_page("pages/audit_log.py").run()
    assert _titles(at) == ["Audit log"]
    users.deactivate_user(w.actors["admin"], w.users["manager"].id, reason="left")
    at.run()
    assert _titles(at) == ["Sign in"]
    assert "deactivated" in at.info[0].value
    assert USER_KEY not in at.session_state


def test_a_role_change_closes_pages_on_the_next_run(w):
    at = _app(w.users["manager"].id)
    at.switch_page("pages/account.py").run()
    users.set_role_and_locations(w.actors["admin"], w.users["manager"].id, role="admin", location_names=[])
    at.run()  # a role change ends the user's sessions (issue 9 item 7): sign in again
    assert USER_KEY not in at.session_state and "role changed" in at.session_state[NOTICE]
    at = _sign_in(_app(), "manager", PASSWORD)
    at.switch_page("pages/admin_users.py").run()
    assert _titles(at) == ["Users"]
    users.set_role_and_locations(
        w.actors["admin"], w.users["manager"].id, role="front_desk", location_names=["Downtown"]
    )
    at.run()  # still "on" the Users page
    assert "Users" not in _titles(at) and not at.exception
    with pytest.raises(ValueError):
        _app(w.users["manager"].id).switch_page("pages/admin_users.py")


def test_signing_out_everywhere_elsewhere_ends_this_open_session_on_its_next_run(w):
    at = _app(w.users["frontdesk"].id)
    at.switch_page("pages/account.py").run()
    assert _titles(at) == ["Account"]
    assert any(b.label == "Sign out everywhere…" for b in at.button)
    auth.sign_out_everywhere(w.actors["frontdesk"])  # from another browser
    at.run()
    assert USER_KEY not in at.session_state and "signed out everywhere" in at.session_state[NOTICE]
    assert _titles(_app(url_path="account")) == ["Sign in"]


def test_a_button_on_a_page_works_through_the_app(w):
    at = _app(w.users["frontdesk"].id, "account")
    at.text_input[0].input(PASSWORD)
    at.text_input[1].input("new-password-1")
    at.text_input[2].input("new-password-1")
    next(b for b in at.button if b.label == "Change password").click().run()
    assert [shown(s.value) for s in at.success] == [
        "Your password is changed. Other devices are signed out; this one stays signed in."
    ]


def test_the_password_change_message_stays_until_the_next_action(w):
    at = _app(w.users["frontdesk"].id, "account")
    for field, value in zip(at.text_input, (PASSWORD, "new-password-1", "new-password-1"), strict=True):
        field.input(value)
    next(b for b in at.button if b.label == "Change password").click().run()
    changed = ["Your password is changed. Other devices are signed out; this one stays signed in."]
    for _ in range(3):  # reruns nobody asked for (the cookie component reporting back) keep it
        assert [shown(s.value) for s in at.success] == changed
        at.run()
    at.text_input[1].input("another-pass-2")
    at.text_input[2].input("another-pass-3")
    next(b for b in at.button if b.label == "Change password").click().run()  # the next action
    assert changed[0] not in [shown(s.value) for s in at.success]
    assert [e.value for e in at.error] == ["The two new passwords differ."]


def test_after_adding_a_user_the_page_selects_them(w):
    at = _app(w.users["admin"].id, "users")
    first = at.selectbox(key="users_pick").value
    _field(at, "Username").input("zoe.new")
    _field(at, "Full name").input("Zoe New")
    _field(at, "First password").input("first-pass-1")
    next(b for b in at.button if b.label == "Add user").click().run()
    assert not at.exception and [shown(s.value) for s in at.success] == ["Added Zoe New."]
    with read_session() as s:
        zoe = s.scalar(select(User.id).where(User.username == "zoe.new"))
    assert at.selectbox(key="users_pick").value == zoe != first


def test_signing_out_forgets_the_user(w):
    at = _app(w.users["admin"].id)
    at.switch_page("pages/audit_log.py").run()
    next(b for b in at.button if b.label == "Sign out").click().run()
    assert _titles(at) == ["Sign in"] and USER_KEY not in at.session_state
    assert "signed out" in at.info[0].value


def test_a_missing_cookie_key_stops_the_app_with_a_clear_message(w, monkeypatch):
    monkeypatch.delenv("AUTH_COOKIE_KEY")
    reset_settings()
    at = _app(w.users["admin"].id)
    assert "cookie key is not set" in at.error[0].value
    assert _titles(at) == [] and not at.exception


def test_an_unreachable_database_is_one_line_not_a_traceback(w, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    reset_settings()
    at = _app()
    assert shown(at.error[0].value).startswith(
        "Cannot connect to the database at postgresql+psycopg://nobody@127.0.0.1:1/none"
    )
    assert not at.exception
