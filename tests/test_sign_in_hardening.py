"""Issue 9 items 6, 7, 10 (sign-in parts): growing delays per client and per typed username
instead of a renewable lock, one answer whatever the username, a bounded number of audit rows per
client and minute, admin unlock (service and CLI), a server-side session version every cookie
must match, dummy hashes for accounts without a password, the Account page's current password
throttled and audited, low-entropy cookie keys refused, the demo key file made private."""

from __future__ import annotations

import dataclasses
import os
import stat
from datetime import UTC, datetime, timedelta

import bcrypt
import jwt
import pytest
from sqlalchemy import func, select

from core.base.config import get_settings
from core.base.db import read_session, unit_of_work
from core.base.errors import PermissionDenied, ValidationError
from core.base.models import AuditLog, User
from core.people import users
from core.security import auth, throttle
from tests.factories import PASSWORD, world

T0 = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
CFG = auth.CookieConfig(name="apptops_auth", key="hardening-test-key-Vb7Qx2Lm9Rt4Kd8Wz5Nc1Yh6Jp3As0Eu", expiry_days=1)
WAIT = "Too many failed sign-ins: wait"


@pytest.fixture
def w(db, monkeypatch):
    monkeypatch.setattr(users, "PASSWORD_ROUNDS", 4)
    monkeypatch.setattr(auth, "DUMMY_HASH_ROUNDS", 4)
    return world()


def _fail(username: str, n: int, *, client: str | None = None, at: datetime = T0) -> list[auth.SignInResult]:
    return [auth.authenticate(username, "wrong-password", client=client, now=at) for _ in range(n)]


def _audit_count(action: str = "auth.sign_in", outcome: str = "denied") -> int:
    with read_session() as s:
        return s.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == action, AuditLog.outcome == outcome)
        )


# --- item 6: throttle, not a lock ----------------------------------------------------------------


def test_after_five_failures_the_next_attempt_waits_and_the_right_password_is_not_checked(w):
    results = _fail("frontdesk", throttle.FREE_FAILURES)
    assert [r.message for r in results[:-1]] == [auth.INVALID_CREDENTIALS] * (throttle.FREE_FAILURES - 1)
    assert results[-1].message.startswith(WAIT) and results[-1].retry_at == T0 + throttle.ACCOUNT_DELAY_BASE
    during = auth.authenticate("frontdesk", PASSWORD, now=T0 + timedelta(seconds=1))
    assert not during.ok and during.message.startswith(WAIT)
    after = auth.authenticate("frontdesk", PASSWORD, now=T0 + throttle.ACCOUNT_DELAY_BASE)
    assert after.ok


def test_an_unknown_username_is_slowed_exactly_like_a_real_one(w):
    real = _fail("frontdesk", throttle.FREE_FAILURES + 2, at=T0)
    fake = _fail("no-such-person", throttle.FREE_FAILURES + 2, at=T0)
    assert [(r.message, r.retry_at) for r in real] == [(f.message, f.retry_at) for f in fake]


def test_an_outsider_cannot_keep_a_real_user_out_for_longer_than_the_cap(w):
    at = T0
    for _ in range(60):  # an outsider keeps trying whenever the delay runs out, from many addresses
        result = auth.authenticate("admin", "guess", client=f"203.0.113.{_}", now=at)
        at = result.retry_at or at
    assert result.retry_at - at <= throttle.ACCOUNT_DELAY_CAP
    assert auth.authenticate("admin", PASSWORD, client="198.51.100.7", now=at + throttle.ACCOUNT_DELAY_CAP).ok


def test_attempts_during_a_delay_neither_count_nor_make_it_grow(w):
    _fail("frontdesk", throttle.FREE_FAILURES)
    first = auth.authenticate("frontdesk", "x", now=T0).retry_at
    _fail("frontdesk", 20, at=T0 + timedelta(seconds=1))
    with read_session() as s:
        row = s.scalar(select(throttle.SignInThrottle).where(throttle.SignInThrottle.key == "frontdesk"))
        assert (row.failures, row.next_attempt_at) == (throttle.FREE_FAILURES, first)


def test_one_client_guessing_many_usernames_is_slowed_and_others_are_not(w):
    for i in range(throttle.FREE_FAILURES):
        auth.authenticate(f"guess{i}", "x", client="203.0.113.9", now=T0)
    refused = auth.authenticate("manager", PASSWORD, client="203.0.113.9", now=T0 + timedelta(seconds=1))
    assert not refused.ok and refused.message.startswith(WAIT)
    assert auth.authenticate("manager", PASSWORD, client="198.51.100.7", now=T0 + timedelta(seconds=1)).ok


def test_a_client_s_delay_grows_beyond_an_account_s(w):
    assert throttle.delay_after("client", 30) == throttle.CLIENT_DELAY_CAP
    assert throttle.delay_after("account", 30) == throttle.ACCOUNT_DELAY_CAP
    assert [throttle.delay_after("account", n).total_seconds() for n in range(4, 8)] == [0, 5, 10, 20]


def test_audit_rows_per_client_and_minute_are_bounded_and_the_rest_summarised(w):
    for i in range(60):
        auth.authenticate(f"user{i}", "x", client="203.0.113.9", now=T0 + timedelta(seconds=i * 0.5))
    assert _audit_count() == throttle.AUDIT_ROWS_PER_MINUTE
    auth.authenticate("someone", "x", client="203.0.113.9", now=T0 + timedelta(minutes=1, seconds=5))
    with read_session() as s:
        reasons = list(s.scalars(select(AuditLog.reason).order_by(AuditLog.id.desc()).limit(2)))
    assert (
        reasons[1]
        == f"{60 - throttle.AUDIT_ROWS_PER_MINUTE} more refused attempts from 203.0.113.9 in an earlier minute, not recorded one by one"
    )
    assert reasons[0].endswith("from 203.0.113.9")


def test_an_admin_unlocks_a_user_and_it_is_audited(w):
    _fail("frontdesk", throttle.FREE_FAILURES + 3)
    view = next(u for u in users.list_users(w.actors["admin"]) if u.username == "frontdesk")
    assert view.failed_attempts == throttle.FREE_FAILURES and view.locked(T0)  # refused tries do not count
    with pytest.raises(PermissionDenied):
        users.unlock_user(w.actors["frontdesk"], w.users["frontdesk"].id)
    users.unlock_user(w.actors["admin"], w.users["frontdesk"].id, reason="called the desk")
    assert auth.authenticate("frontdesk", PASSWORD, now=T0 + timedelta(seconds=1)).ok
    assert _audit_count("user.unlock", "ok") == 1


def test_unlock_user_from_the_command_line(w, capsys):
    from core.cli import main

    _fail("frontdesk", throttle.FREE_FAILURES + 1)
    assert main(["unlock-user", "FrontDesk"]) == 0
    assert "Unlocked 'frontdesk'" in capsys.readouterr().out
    assert auth.authenticate("frontdesk", PASSWORD, now=T0 + timedelta(seconds=1)).ok
    assert main(["unlock-user", "nobody-here"]) == 1
    assert "No user named 'nobody-here'." in capsys.readouterr().err


# --- item 7: session version ---------------------------------------------------------------------


def _cookie(w, who: str) -> str:
    return auth.issue_token(w.users[who].id, CFG)[0]


def test_signing_out_everywhere_revokes_a_copied_cookie(w):
    copied = _cookie(w, "frontdesk")
    assert auth.user_id_from_token(copied, CFG) == w.users["frontdesk"].id
    auth.sign_out_everywhere(w.actors["frontdesk"])
    assert auth.user_id_from_token(copied, CFG) is None
    assert auth.user_id_from_token(_cookie(w, "frontdesk"), CFG) == w.users["frontdesk"].id


def test_reactivating_an_account_does_not_revive_old_cookies(w):
    old = _cookie(w, "frontdesk")
    users.deactivate_user(w.actors["admin"], w.users["frontdesk"].id)
    users.reactivate_user(w.actors["admin"], w.users["frontdesk"].id)
    assert auth.user_id_from_token(old, CFG) is None


def test_a_password_change_and_an_admin_ending_sessions_revoke_cookies(w):
    old = _cookie(w, "frontdesk")
    users.change_own_password(w.actors["frontdesk"], PASSWORD, "a-new-password-2")
    assert auth.user_id_from_token(old, CFG) is None
    newer = _cookie(w, "frontdesk")
    users.end_sessions(w.actors["admin"], w.users["frontdesk"].id, reason="lost laptop")
    assert auth.user_id_from_token(newer, CFG) is None


def test_a_cookie_in_the_library_s_format_signed_with_the_installation_key_is_refused(w):
    """streamlit-authenticator signs with one key; here only the user's session key counts."""
    forged = jwt.encode({"username": "admin", "exp_date": (T0 + timedelta(days=9999)).timestamp()}, CFG.key, "HS256")
    assert auth.user_id_from_token(forged, CFG) is None
    none_alg = jwt.encode({"username": "admin", "exp_date": 4102444800.0}, None, algorithm="none")
    assert auth.user_id_from_token(none_alg, CFG) is None


# --- item 10: the smaller sign-in items ----------------------------------------------------------


def _cost(hashed: str) -> int:
    return int(hashed.split("$")[2])


def test_accounts_without_a_usable_password_are_checked_against_a_hash_of_the_same_cost(w, monkeypatch):
    monkeypatch.setattr(auth, "DUMMY_HASH_ROUNDS", 5)
    monkeypatch.setattr(users, "PASSWORD_ROUNDS", 5)
    users.add_user(w.actors["admin"], username="sso-only", name="SSO Only", email="sso@example.test", password=None,
                   role="analyst", location_names=[], all_locations=True)  # fmt: skip
    users.reset_password(w.actors["admin"], w.users["frontdesk"].id, "real-password-5")
    users.deactivate_user(w.actors["admin"], w.users["manager"].id)
    real = auth.begin_attempt("frontdesk", now=T0).check_hash
    for who in ("sso-only", "manager", "nobody"):
        attempt = auth.begin_attempt(who, now=T0)
        assert _cost(attempt.check_hash) == _cost(real) == 5, who
        assert bcrypt.checkpw(b"x", attempt.check_hash.encode()) is False
    assert not auth.authenticate("sso-only", "", now=T0).ok


def test_a_wrong_current_password_on_the_account_page_is_audited_and_throttled(w):
    for _ in range(throttle.FREE_FAILURES):
        with pytest.raises(ValidationError):
            users.change_own_password(w.actors["frontdesk"], "not-it", "new-password-9")
    assert _audit_count("user.change_password") == throttle.FREE_FAILURES
    with pytest.raises(ValidationError, match="wait"):
        users.change_own_password(w.actors["frontdesk"], PASSWORD, "new-password-9")


def test_a_new_password_may_not_start_or_end_with_a_space(w):
    with pytest.raises(ValidationError, match="start or end with a space"):
        users.reset_password(w.actors["admin"], w.users["frontdesk"].id, " padded-password ")


@pytest.mark.parametrize("key", ["a" * 48, "ab" * 24, "abc123" * 8, "0" * 64])
def test_startup_refuses_a_cookie_key_with_little_entropy(key, tmp_path):
    settings = dataclasses.replace(get_settings(), cookie_key=key, demo_mode=False)
    with pytest.raises(auth.StartupError, match="too predictable"):
        auth.cookie_config(settings, tmp_path / "k")


def test_random_keys_of_the_usual_shapes_pass(tmp_path):
    import secrets

    for key in (secrets.token_urlsafe(48), secrets.token_hex(32), secrets.token_hex(16)):
        settings = dataclasses.replace(get_settings(), cookie_key=key, demo_mode=False)
        assert auth.cookie_config(settings, tmp_path / "k").key == key


def test_an_existing_demo_key_file_is_made_private(tmp_path):
    path = tmp_path / ".demo_cookie_key"
    path.write_text("demo-key-" + "Zq7Rx2Vb9Lm4Kd8Wt5Nc1Yh6Jp3As0Eu" + "\n")
    os.chmod(path, 0o644)
    auth.demo_cookie_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_sign_in_rows_stay_consistent_on_both_databases(w):
    """The throttle row is created once per key even when two attempts race for it."""
    for _ in range(3):
        auth.authenticate("frontdesk", "x", client="203.0.113.5", now=T0)
    with unit_of_work() as s:
        rows = s.execute(select(throttle.SignInThrottle.scope, throttle.SignInThrottle.failures)).all()
    assert sorted(rows) == [("account", 3), ("client", 3)]
    with read_session() as s:
        assert s.scalar(select(User.session_version).where(User.id == w.users["frontdesk"].id)) == 1


def test_the_client_is_the_last_forwarded_hop_else_the_connection():
    from core.security.auth import client_of

    assert client_of("203.0.113.9, 10.0.0.2", "127.0.0.1") == "10.0.0.2"
    assert client_of("", "192.0.2.4") == "192.0.2.4"
    assert client_of(None, None) == "localhost"
