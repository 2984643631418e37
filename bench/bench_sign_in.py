"""Sign-in timing: a wrong password for a real account, an unknown username, a single-sign-on-only
account and a deactivated one should cost the same (the same bcrypt work), so timing tells nobody
which usernames exist; a refused attempt during a delay is cheap. Runs on a scratch SQLite
database with real cost-12 hashes; no bench database needed."""

from __future__ import annotations

import os
import tempfile
from itertools import count

from bench.common import report, timed
from core.base.config import reset_settings
from core.base.db import dispose_engines


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/sign-in.db"
        reset_settings()
        dispose_engines()
        from core.base import migrate
        from core.base.db import unit_of_work
        from core.people import users
        from core.security import auth, throttle
        from core.security.access import SYSTEM
        from tests.factories import world

        migrate.upgrade()
        w = world()
        users.reset_password(SYSTEM, w.users["frontdesk"].id, "a-real-password-1")
        users.add_user(SYSTEM, username="sso-only", name="SSO", email="sso@example.test", password=None,
                       role="analyst", location_names=[], all_locations=True)  # fmt: skip
        users.deactivate_user(SYSTEM, w.users["manager"].id)
        n = count()

        def attempt(username: str):
            def run() -> None:  # a fresh client each time, and the account's count forgotten: no delay builds up
                auth.authenticate(username, "wrong", client=f"c{next(n)}")
                with unit_of_work() as session:
                    throttle.clear_account(session, username)

            return run

        print("Sign-in (bcrypt cost 12):")
        figures = {}
        for label, who in [("wrong password", "frontdesk"), ("unknown username", "nobody-here"),
                           ("single-sign-on only", "sso-only"), ("deactivated", "manager")]:  # fmt: skip
            figures[label] = timed(attempt(who), repeat=10, warmup=1)
            report(label, figures[label])
        base = figures["wrong password"]["median_ms"]
        for label in ("unknown username", "single-sign-on only", "deactivated"):
            print(f"   {label} / wrong password: {figures[label]['median_ms'] / base:.2f}x")
        for _ in range(6):
            auth.authenticate("frontdesk", "wrong", client="one-client")
        report("refused during a delay", timed(lambda: auth.authenticate("frontdesk", "x", client="one-client")))
        dispose_engines()


if __name__ == "__main__":
    main()
