"""`python -m core unlock-user USERNAME`: lift a user's sign-in delay (the users page's Unlock)."""

from __future__ import annotations


def cmd_unlock_user(args) -> int:
    from core.base import migrate
    from core.people import users
    from core.security.access import SYSTEM

    migrate.upgrade()
    view = users.unlock_user(SYSTEM, users.user_id_for_username(args.username), reason=args.reason)
    print(f"Unlocked '{view.username}': their next sign-in is not delayed.")
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "unlock-user",
        help="lift a user's sign-in delay after failed attempts",
        description="Forget a user's failed sign-ins so their next attempt is checked at once. Audited.",
    )
    p.add_argument("username", help="the user's username (not case-sensitive)")
    p.add_argument("--reason", default=None, help="kept in the audit log")
    p.set_defaults(func=cmd_unlock_user)
