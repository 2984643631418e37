"""Sign-in: lockout counted in the database and lifted after 15 minutes, one message for an
unknown user and a wrong password, the sign-in cookie (it only names the user), deactivation,
single sign-on mapping, and refusing to start with a missing or default cookie key."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import select

from core.base.config import KNOWN_DEFAULT_COOKIE_KEYS, get_settings
from core.base.db import read_session, unit_of_work
from core.base.models import AuditLog, User
from core.people import users
from core.security import auth, browser, throttle
from core.security.access import SYSTEM, load_actor
from core.security.models import SignInThrottle
from tests.factories import PASSWORD, audit_rows, world

T0 = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
KEY = "test-cookie-key-Qm3vX9bL2pR7tY5wK8nD4fH6jS1aZ0cE"
CFG = auth.CookieConfig(name="apptops_auth", key=KEY, expiry_days=1)


@pytest.fixture
def w(sqlite_db, fast_passwords, monkeypatch):
    monkeypatch.setattr(auth, "DUMMY_HASH_ROUNDS", 4)
    return world()


def _user(username: str) -> User:
    with read_session() as s:
        user = s.scalar(select(User).where(User.username == username))
        s.expunge(user)
        return user


def _audit(action: str | None = None) -> list[tuple]:
    fields = ("action", "outcome", "actor_username", "reason")
    return audit_rows(fields=fields, **({"action": action} if action else {}))


def _failures(username: str) -> int:
    with read_session() as s:
        row = s.scalar(select(SignInThrottle).where(SignInThrottle.scope == "account", SignInThrottle.key == username))
        return row.failures if row else 0


def test_correct_password_signs_in_and_records_it(w):
    result = auth.authenticate("frontdesk", PASSWORD, now=T0)
    assert result.ok and result.user_id == w.users["frontdesk"].id
    assert _user("frontdesk").last_login_at == T0
    assert _audit("auth.sign_in") == [("auth.sign_in", "ok", "frontdesk", "password")]


def test_usernames_are_not_case_sensitive(w):
    assert auth.authenticate(" FrontDesk ", PASSWORD, now=T0).ok


def test_unknown_user_and_wrong_password_get_the_same_message(w):
    unknown = auth.authenticate("nobody", PASSWORD, now=T0)
    wrong = auth.authenticate("frontdesk", "not-the-password", now=T0)
    assert not unknown.ok and not wrong.ok
    assert unknown.message == wrong.message == auth.INVALID_CREDENTIALS


def test_a_success_clears_earlier_failures(w):
    for _ in range(throttle.FREE_FAILURES - 1):
        auth.authenticate("frontdesk", "wrong", now=T0)
    assert auth.authenticate("frontdesk", PASSWORD, now=T0).ok
    assert auth.authenticate("frontdesk", "wrong", now=T0).message == auth.INVALID_CREDENTIALS  # not locked
    assert _failures("frontdesk") == 1


def test_slowing_one_account_leaves_the_others_alone(w):
    for _ in range(throttle.FREE_FAILURES + 3):
        auth.authenticate("frontdesk", "wrong", now=T0)
    assert auth.authenticate("manager", PASSWORD, now=T0).ok


def test_an_admin_password_reset_lifts_the_delay(w):
    for _ in range(throttle.FREE_FAILURES):
        auth.authenticate("frontdesk", "wrong", now=T0)
    users.reset_password(w.actors["admin"], w.users["frontdesk"].id, "a-brand-new-pass")
    assert auth.authenticate("frontdesk", "a-brand-new-pass", now=T0).ok


def test_a_deactivated_user_cannot_sign_in_and_gets_the_same_message(w):
    users.deactivate_user(w.actors["admin"], w.users["frontdesk"].id)
    result = auth.authenticate("frontdesk", PASSWORD, now=T0)
    assert not result.ok and result.message == auth.INVALID_CREDENTIALS


def test_the_cookie_names_the_user_and_its_sign_in_and_nothing_else(w):
    token, expires = auth.issue_token(w.users["frontdesk"].id, CFG, now=T0)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(claims) == {"username", "exp_date", "sid"}  # the library's format + the sign-in; no role, no locations
    assert expires == T0 + timedelta(days=1)
    assert auth.user_id_from_token(token, CFG, now=T0 + timedelta(hours=23)) == w.users["frontdesk"].id


def test_an_expired_forged_or_garbled_cookie_names_nobody(w):
    token, _ = auth.issue_token(w.users["frontdesk"].id, CFG, now=T0)
    assert auth.user_id_from_token(token, CFG, now=T0 + timedelta(days=1, seconds=1)) is None
    other_key = dataclasses.replace(CFG, key="z" * 48)
    assert auth.user_id_from_token(token, other_key, now=T0) is None
    forged = jwt.encode({"sub": "admin", "uid": w.users["admin"].id, "exp": 4102444800}, "wrong" * 8, "HS256")
    assert auth.user_id_from_token(forged, CFG, now=T0) is None
    assert auth.user_id_from_token("not-a-token", CFG, now=T0) is None
    assert auth.user_id_from_token(None, CFG, now=T0) is None


def test_a_deactivated_user_loses_access_even_with_a_valid_cookie(w):
    token, _ = auth.issue_token(w.users["frontdesk"].id, CFG)
    users.deactivate_user(w.actors["admin"], w.users["frontdesk"].id)
    assert auth.user_id_from_token(token, CFG) is None
    with read_session() as s:
        assert load_actor(s, w.users["frontdesk"].id) is None  # what every run re-reads


def test_a_role_change_ends_earlier_cookies_and_applies_on_the_next_run(w):
    token, _ = auth.issue_token(w.users["manager"].id, CFG)
    users.set_role_and_locations(w.actors["admin"], w.users["manager"].id, role="analyst", location_names=[])
    assert auth.user_id_from_token(token, CFG) is None
    fresh, _ = auth.issue_token(w.users["manager"].id, CFG)
    with read_session() as s:
        assert load_actor(s, auth.user_id_from_token(fresh, CFG)).role == "analyst"


def test_a_password_reset_signs_the_user_out_everywhere(w):
    token, _ = auth.issue_token(w.users["frontdesk"].id, CFG)
    users.reset_password(w.actors["admin"], w.users["frontdesk"].id, "another-password-1")
    assert auth.user_id_from_token(token, CFG) is None
    fresh, _ = auth.issue_token(w.users["frontdesk"].id, CFG)
    assert auth.user_id_from_token(fresh, CFG) == w.users["frontdesk"].id


def test_single_sign_on_maps_a_verified_email_to_its_user(w):
    assert auth.sso_user_id("Manager@Example.test", email_verified=True) == w.users["manager"].id
    assert auth.sso_user_id("stranger@example.test", email_verified=True) is None
    assert auth.sso_user_id("manager@example.test", email_verified=False) is None
    users.deactivate_user(w.actors["admin"], w.users["manager"].id)
    assert auth.sso_user_id("manager@example.test", email_verified=True) is None
    outcomes = [row[1] for row in _audit("auth.sign_in")]
    assert outcomes == ["ok", "denied", "denied"]


def test_failed_sign_ins_are_audited_without_the_typed_secrets(w):
    auth.authenticate("nobody", "hunter2-secret", now=T0)
    auth.authenticate("frontdesk", "hunter2-secret", now=T0)
    rows = _audit("auth.sign_in")
    assert [(r[1], r[2]) for r in rows] == [("denied", None), ("denied", "frontdesk")]
    assert all("hunter2" not in str(r) and "nobody" not in str(r) for r in rows)


def test_sign_out_is_audited(w):
    auth.record_sign_out(w.users["frontdesk"].id)
    assert _audit("auth.sign_out") == [("auth.sign_out", "ok", "frontdesk", None)]


# --- start-up checks ------------------------------------------------------------------------


def _settings(**changes):
    return dataclasses.replace(get_settings(), **changes)


@pytest.mark.parametrize("key", ["", "   "])
def test_startup_refuses_a_missing_cookie_key_outside_demo_mode(key, tmp_path):
    with pytest.raises(auth.StartupError, match="cookie key is not set: set AUTH_COOKIE_KEY"):
        auth.cookie_config(_settings(cookie_key=key, demo_mode=False), tmp_path / "k")


@pytest.mark.parametrize("key", sorted(KNOWN_DEFAULT_COOKIE_KEYS - {""}))
def test_startup_refuses_a_known_default_cookie_key_outside_demo_mode(key, tmp_path):
    with pytest.raises(auth.StartupError, match="well-known default"):
        auth.cookie_config(_settings(cookie_key=key, demo_mode=False), tmp_path / "k")


def test_startup_refuses_a_short_cookie_key(tmp_path):
    with pytest.raises(auth.StartupError, match="too short"):
        auth.cookie_config(_settings(cookie_key="x" * 20, demo_mode=False), tmp_path / "k")


def test_startup_accepts_a_long_random_key(tmp_path):
    cfg = auth.cookie_config(_settings(cookie_key=KEY, demo_mode=False, cookie_expiry_days=2), tmp_path / "k")
    assert (cfg.key, cfg.expiry_days) == (KEY, 2)
    assert not (tmp_path / "k").exists()


def test_demo_mode_makes_one_random_key_per_installation(tmp_path):
    path = tmp_path / "data" / ".demo_cookie_key"
    first = auth.cookie_config(_settings(cookie_key="", demo_mode=True), path)
    second = auth.cookie_config(_settings(cookie_key="changeme", demo_mode=True), path)
    assert first.key == second.key and len(first.key) >= auth.MIN_COOKIE_KEY_LENGTH
    assert path.read_text().strip() == first.key
    assert path.stat().st_mode & 0o077 == 0  # readable by its owner only
    other = auth.cookie_config(_settings(cookie_key="", demo_mode=True), tmp_path / "elsewhere")
    assert other.key != first.key


def test_first_admin_from_the_command_line(sqlite_db, monkeypatch, capsys, fast_passwords):
    from core.cli import main

    monkeypatch.setenv("NEW_USER_PASSWORD", "first-admin-pass")
    assert main(["create-user", "Boss", "--role", "admin", "--email", "boss@example.test"]) == 0
    assert "Created user 'boss' with role admin." in capsys.readouterr().out
    assert auth.authenticate("boss", "first-admin-pass").ok
    assert main(["create-user", "boss", "--role", "admin"]) == 1
    assert "username 'boss' is taken" in capsys.readouterr().err
    with read_session() as s:
        assert [r.actor_username for r in s.scalars(select(AuditLog).where(AuditLog.action == "user.create"))] == [
            SYSTEM.username
        ]


def test_the_failure_count_is_kept_in_the_database(w):
    """The count lives in the database: another process (a second replica) sees it."""
    for _ in range(3):
        auth.authenticate("frontdesk", "wrong", now=T0)
    with unit_of_work() as s:
        row = s.scalar(select(SignInThrottle).where(SignInThrottle.key == "frontdesk"))
        assert (row.scope, row.failures) == ("account", 3)


def test_a_browser_session_starts_ends_and_follows_the_users_session_version(w):
    """core.security.browser over a plain dict (Streamlit's session_state in the app)."""
    state: dict = {browser.NOTICE: "You are signed out.", browser.ANSWER: "Wrong password."}
    session = browser.BrowserSession(state)
    user_id = w.users["frontdesk"].id
    version = auth.load_session(user_id)[1]
    session.start(user_id, version, CFG)
    assert session.user_id == user_id and state[browser.VERSION_KEY] == version
    assert browser.NOTICE not in state and browser.ANSWER not in state
    assert auth.cookie_session(state[browser.COOKIE_WANTED]["value"], CFG).user_id == user_id
    assert session.live().actor.username == "frontdesk"

    auth.sign_out_everywhere(_actor(user_id))
    live = session.live()
    assert live.actor is None and live.ended == auth.SESSION_ENDED
    session.end(live.ended)
    assert session.user_id is None and session.live() is None
    assert state[browser.COOKIE_WANTED] == {"delete": True} and state[browser.NOTICE] == auth.SESSION_ENDED


def test_signing_out_in_one_browser_makes_a_copy_of_its_cookie_worthless_and_leaves_the_others(w):
    user_id = w.users["frontdesk"].id
    here, elsewhere = browser.BrowserSession({}), browser.BrowserSession({})
    here.start(user_id, auth.load_session(user_id)[1], CFG)
    elsewhere.start(user_id, auth.load_session(user_id)[1], CFG)
    copied = here.state[browser.COOKIE_WANTED]["value"]
    other_cookie = elsewhere.state[browser.COOKIE_WANTED]["value"]
    same_browser_tab = browser.BrowserSession({})  # a second tab that opened with the same cookie
    found = auth.cookie_session(copied, CFG)
    same_browser_tab.start(user_id, found.session_version, CFG, sign_in_id=found.session_id)

    here.sign_out_here()
    assert auth.cookie_session(copied, CFG) is None
    assert same_browser_tab.live().ended == auth.SIGNED_OUT_ELSEWHERE
    assert auth.user_id_from_token(other_cookie, CFG) == user_id
    assert elsewhere.live().actor.username == "frontdesk"
    assert _audit("auth.sign_out") == [("auth.sign_out", "ok", "frontdesk", "this browser's sign-in ended")]


def test_a_cookie_from_before_sign_ins_had_ids_names_nobody(w):
    user = _user("frontdesk")
    legacy = jwt.encode({"username": "frontdesk", "exp_date": 4102444800}, auth.signing_key(user, CFG), "HS256")
    assert auth.user_id_from_token(legacy, CFG) is None


def test_a_session_set_up_without_signing_in_adopts_the_version_only_when_asked(w):
    state = {browser.USER_KEY: w.users["frontdesk"].id}
    session = browser.BrowserSession(state)
    assert session.live().actor is not None and browser.VERSION_KEY not in state
    session.live(adopt=True)
    assert state[browser.VERSION_KEY] == auth.load_session(w.users["frontdesk"].id)[1]


def test_refusals_renumber_the_sign_in_form_and_sign_out_waits_for_the_next_run(w):
    session = browser.BrowserSession({})
    assert session.form_key() == "signin-0" and session.take_sign_out() is None
    session.refused("Wrong username or password.")
    session.refused("Wrong username or password.")
    assert session.form_key() == "signin-2" and session.state[browser.ANSWER] == "Wrong username or password."
    session.ask_sign_out(browser.EVERYWHERE)
    assert session.take_sign_out() == browser.EVERYWHERE and session.take_sign_out() is None
    assert browser.secure_cookie("https://ops.example.test/") and not browser.secure_cookie(None)


def test_an_attempt_is_claimed_when_its_record_is_read_and_settled_once(w):
    """What the library's login form sees while signed out, and what is recorded after its check."""
    session = browser.BrowserSession({})
    assert session.settle(True, CFG) is None  # nothing claimed
    credentials = browser.DatabaseCredentials(session, "203.0.113.9")
    assert "nobody" in credentials and "" not in credentials and list(credentials) == []
    record = credentials["nobody"]
    assert record["name"] == "nobody" and browser.PENDING in session.state
    assert credentials.get("nobody") is record  # read twice, claimed once
    assert session.settle(False, CFG) is False and session.settle(False, CFG) is None
    assert session.user_id is None and session.form_key() == "signin-1"

    credentials["frontdesk"]
    assert session.settle(True, CFG) is True
    assert session.user_id == w.users["frontdesk"].id and browser.ANSWER not in session.state
    assert session.first_run() is True and session.first_run() is False


def _actor(user_id: int):
    with read_session() as s:
        return load_actor(s, user_id)
