"""Sign-in in a real browser: the cookie carries the user across a refresh and a new tab, a URL
opens its page once the user is known, a page outside the role stays closed, lockout and its
expiry, deactivation cutting an open session, sign-out. Screenshots go to test-artifacts/."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select, update

from core.base.clock import utcnow
from core.base.db import unit_of_work
from core.base.models import AuditLog
from core.people import users
from core.security.access import SYSTEM
from core.security.models import SignInThrottle
from tests.e2e.conftest import add_sign_in_cookie, screenshot, sign_in, wait_for_app
from tests.factories import PASSWORD, world

pytestmark = pytest.mark.e2e
COOKIE = "apptops_auth"


def _open(page, url: str) -> None:
    page.goto(url)
    wait_for_app(page)


def _has_cookie(page) -> bool:
    return any(c["name"] == COOKIE for c in page.context.cookies())


def _heading(page, name: str):
    """The page's heading; the first one, since Streamlit can briefly show the last run's beside the new."""
    return page.get_by_role("heading", name=name, exact=True).first


def test_front_desk_finds_admin_url_closed_stays_signed_in_and_opens_allowed_url(app_server, page):
    app_server.seed(world)
    sign_in(page, app_server.url, "frontdesk", PASSWORD)
    assert _has_cookie(page)
    nav = page.get_by_test_id("stSidebarNav")
    assert nav.get_by_role("link", name="Account").is_visible() and nav.get_by_role("link", name="Users").count() == 0

    _open(page, f"{app_server.url}/users")  # the admin page's URL, typed or bookmarked
    page.get_by_text("Signed in as").wait_for()
    assert _heading(page, "Users").count() == 0
    assert page.get_by_role("button", name="Reset password").count() == 0
    screenshot(page, "frontdesk-admin-url-closed")
    page.keyboard.press("Escape")  # Streamlit's "page not found" notice

    page.reload()
    wait_for_app(page)
    page.get_by_text("Signed in as Frontdesk").wait_for()

    _open(page, f"{app_server.url}/account")
    _heading(page, "Account").wait_for()
    assert "/account" in page.url
    screenshot(page, "frontdesk-account-by-url")


def test_a_bookmarked_page_opens_after_sign_in_and_survives_refresh_and_new_tab(app_server, page):
    app_server.seed(world)
    _open(page, f"{app_server.url}/audit")
    _heading(page, "Sign in").wait_for()
    screenshot(page, "sign-in")
    sign_in(page, None, "admin", PASSWORD)
    _heading(page, "Audit log").wait_for()
    assert page.url.endswith("/audit")

    page.reload()
    wait_for_app(page)
    _heading(page, "Audit log").wait_for()
    assert page.url.endswith("/audit")

    page.close()  # closing the tab ends its session; the cookie stays with the browser
    tab = page.context.new_page()
    _open(tab, f"{app_server.url}/users")
    _heading(tab, "Users").wait_for()
    screenshot(tab, "users-page")


def _bookmark_with_cookie(app_server, page, username: str) -> None:
    app_server.seed(world)
    add_sign_in_cookie(app_server, page.context, username)


@pytest.mark.cold_start
@pytest.mark.parametrize(("url_path", "heading"), [("account", "Account"), ("audit", "Audit log")])
def test_a_bookmark_opens_in_the_first_session_of_a_fresh_server(app_server, page, url_path, heading):
    """Straight to a bookmark, signed in by an earlier visit's cookie, as the first session of a
    newly started process (when Streamlit is still in its legacy pages/ directory mode)."""
    _bookmark_with_cookie(app_server, page, "admin")
    _open(page, f"{app_server.url}/{url_path}")
    _heading(page, heading).wait_for()
    nav = page.get_by_test_id("stSidebarNav")
    assert nav.get_by_role("link", name="Users").is_visible()  # the app's navigation, not the folder's files
    assert nav.get_by_role("link", name="ui").count() == 0 and nav.get_by_role("link", name="admin_users").count() == 0
    page.get_by_text("Signed in as Admin").wait_for()
    screenshot(page, f"first-session-bookmark-{url_path}")


def _sign_in_attempts(app_server) -> int:
    def count() -> int:
        with unit_of_work() as s:
            return s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "auth.sign_in"))

    return app_server.seed(count)


def _attempt(app_server, page, password: str, answer: str) -> None:
    """One sign-in attempt, waited for until the server has recorded it and the page shows its
    answer (the previous attempt's message can still be on screen while this one runs)."""
    before = _sign_in_attempts(app_server)
    sign_in(page, None, "frontdesk", password, expect_success=False)
    done = threading.Event()
    for _ in range(200):
        if _sign_in_attempts(app_server) > before or done.wait(0.05):
            break
    assert _sign_in_attempts(app_server) == before + 1
    wait_for_app(page)
    page.get_by_text(answer).wait_for()
    expect(page.get_by_label("Password", exact=True)).to_have_value("")  # the fresh form drawn after a refusal


def test_five_failures_make_the_next_attempt_wait_until_the_delay_runs_out(app_server, page):
    app_server.seed(world)
    _open(page, app_server.url)
    for _ in range(4):
        _attempt(app_server, page, "wrong-password", "Unknown username or wrong password.")
    _attempt(app_server, page, "wrong-password", "Too many failed sign-ins: wait")
    _attempt(app_server, page, PASSWORD, "Too many failed sign-ins: wait")
    assert not _has_cookie(page)
    screenshot(page, "sign-in-wait")

    def delay_over() -> None:
        with unit_of_work() as s:
            s.execute(update(SignInThrottle).values(next_attempt_at=utcnow() - timedelta(seconds=1)))

    app_server.seed(delay_over)
    sign_in(page, None, "frontdesk", PASSWORD)
    assert _has_cookie(page)


def test_deactivation_cuts_an_open_session_with_a_valid_cookie(app_server, page):
    w = app_server.seed(world)
    _open(page, f"{app_server.url}/account")
    sign_in(page, None, "frontdesk", PASSWORD)  # at the page's own URL: one page load less
    _heading(page, "Account").wait_for()

    app_server.seed(lambda: users.deactivate_user(SYSTEM, w.users["frontdesk"].id, reason="left"))
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Today").click()  # the next click
    page.get_by_text("Your session has ended").first.wait_for()  # the run's notice, maybe beside the last run's
    _heading(page, "Sign in").wait_for()
    screenshot(page, "deactivated-session-ended")

    page.reload()  # the cookie is no good any more either
    wait_for_app(page)
    _heading(page, "Sign in").wait_for()
    assert page.get_by_text("Signed in as").count() == 0


def test_sign_out_everywhere_ends_a_copied_cookie(app_server, page, other_page):
    w = app_server.seed(world)
    sign_in(page, app_server.url, "manager", PASSWORD)
    copied = next(c for c in page.context.cookies() if c["name"] == COOKIE)
    other = other_page  # the thief's browser
    other.context.add_cookies([copied])
    _open(other, f"{app_server.url}/account")
    _heading(other, "Account").wait_for()  # the copy works, until...
    app_server.seed(lambda: users.end_sessions(SYSTEM, w.users["manager"].id, reason="lost laptop"))
    other.reload()
    wait_for_app(other)
    _heading(other, "Sign in").wait_for()
    assert other.get_by_text("Signed in as").count() == 0


def test_plain_sign_out_makes_a_copy_of_the_cookie_worthless(app_server, page, other_page):
    """A copy taken before "Sign out" is refused afterwards: that browser's sign-in ended
    server-side (the user's other browsers are not signed out; "Sign out everywhere" does that)."""
    app_server.seed(world)
    sign_in(page, app_server.url, "frontdesk", PASSWORD)
    copied = next(c for c in page.context.cookies() if c["name"] == COOKIE)
    page.get_by_role("button", name="Sign out").click()
    _heading(page, "Sign in").wait_for()
    other = other_page  # the thief's browser
    other.context.add_cookies([copied])
    _open(other, f"{app_server.url}/account")
    _heading(other, "Sign in").wait_for()
    assert other.get_by_text("Signed in as").count() == 0
    assert other.get_by_role("heading", name="Account", exact=True).count() == 0
    screenshot(other, "copied-cookie-after-sign-out")


def test_sign_out_clears_the_cookie(app_server, page):
    app_server.seed(world)
    sign_in(page, app_server.url, "manager", PASSWORD)
    page.get_by_role("button", name="Sign out").click()
    _heading(page, "Sign in").wait_for()
    page.wait_for_function(f"() => !document.cookie.includes('{COOKIE}=')")
    page.reload()
    wait_for_app(page)
    _heading(page, "Sign in").wait_for()


def _deactivate_button(page):
    """The one "Deactivate…" button, once the rerun that the user picker started has replaced
    the previous render (until then Streamlit briefly shows both)."""
    button = page.get_by_role("button", name="Deactivate…")
    expect(button).to_have_count(1)
    return button


def test_admin_pages_in_the_browser(app_server, page):
    """The users page: add a user, a clear error, deactivate behind a confirmation; the audit
    log shows it all and offers the CSV."""
    app_server.seed(world)
    sign_in(page, app_server.url, "admin", PASSWORD)
    _open(page, f"{app_server.url}/users")
    _heading(page, "Users").wait_for()

    page.get_by_role("tab", name="Add a user").click()
    form = page.get_by_test_id("stForm").filter(has_text="Add user")
    form.get_by_role("textbox", name="Username").fill("x")
    form.get_by_role("button", name="Add user").click()
    page.get_by_text("A username is 2 to 80 characters").wait_for()
    form.get_by_role("textbox", name="Username").fill("newdesk")
    form.get_by_role("textbox", name="Full name").fill("New Desk")
    form.get_by_role("textbox", name="First password").fill("a-good-password")
    form.get_by_role("button", name="Add user").click()
    page.get_by_text("Added New Desk.").wait_for()

    page.get_by_role("combobox", name="User").first.click()
    page.get_by_role("option", name="Frontdesk (frontdesk)").click()
    wait_for_app(page)
    _deactivate_button(page).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("They lose access on their next click").wait_for()
    screenshot(page, "users-confirm-deactivate")
    dialog.get_by_role("button", name="Cancel").click()
    wait_for_app(page)
    assert page.get_by_text("Frontdesk is deactivated.").count() == 0
    _deactivate_button(page).click()
    page.get_by_role("dialog").get_by_role("button", name="Deactivate", exact=True).click()
    page.get_by_text("Frontdesk is deactivated.").wait_for()
    screenshot(page, "users-after-deactivate")

    _open(page, f"{app_server.url}/audit")
    _heading(page, "Audit log").wait_for()
    page.get_by_role("button", name="Download CSV").wait_for()
    screenshot(page, "audit-log")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    text = open(download.value.path(), encoding="utf-8").read()  # noqa: SIM115 - a temp file Playwright owns
    assert "user.create" in text and "user.deactivate" in text


def test_a_bookmark_of_the_first_page_opens_it_without_a_not_found_notice(app_server, page):
    """Streamlit serves its default page only at "/"; the app's hidden home page forwards, so
    /today (the front desk's first page) is a real URL and "/" lands on it too."""
    _bookmark_with_cookie(app_server, page, "frontdesk")
    _open(page, app_server.url)
    assert page.url.split("?")[0].endswith("/today")  # the day and location follow in the query
    for _ in range(2):
        _open(page, f"{app_server.url}/today")
        page.get_by_text("Signed in as Frontdesk").wait_for()
        expect(page.get_by_text("Page not found")).to_have_count(0)
        assert page.url.split("?")[0].endswith("/today")  # the day and location follow in the query
