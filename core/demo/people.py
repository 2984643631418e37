"""People: the demo users (one per role) and the customers of each location."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import Connection, insert, select

from core.base.models import (
    Customer,
    Role,
    User,
    user_locations,
)
from core.demo.bulk import CUST_COLS
from core.demo.catalogue import (
    CHUNK,
    DEMO_USERS,
    FIRST_NAMES,
    HISTORY_DAYS,
    LAST_NAMES,
    USER_NAMES,
    randint,
    randrange,
)
from core.demo.plans import LocationPlan
from core.demo.state import Builder


def add_users(builder: Builder, conn: Connection) -> None:
    """One demo user per role (DEMO_USERS), scoped to the first location where the role has one."""
    hashes = builder.password_hashes
    loc = builder.first_location
    provider = loc.providers[0]
    existing = set(conn.scalars(select(User.username).where(User.username.in_([u for u, _, _ in DEMO_USERS]))))
    next_id = builder.next_id(conn, User)
    builder.user_rows = []
    labels = {
        "front_desk": "front desk",
        "provider": "provider",
        "manager": "manager",
        "analyst": "analyst",
        "admin": "admin",
    }
    for username, password, role in DEMO_USERS:
        if role in (Role.FRONT_DESK, Role.MANAGER):
            scope, locs = loc.name, [loc]
        elif role == Role.PROVIDER:
            scope, locs = f"{provider.name} at {', '.join(x.name for x in provider.locations)}", provider.locations
        else:
            scope, locs = "all locations", []
        if username in existing:
            builder.user_rows.append((labels[role], username, "(existing user, unchanged)", ""))
            continue
        uid = next_id
        next_id += 1
        conn.execute(
            insert(User),
            {
                "id": uid,
                "username": username,
                "name": USER_NAMES[username] or provider.name,
                "email": f"{username}@demo.example",
                "password_hash": hashes[username],
                "role": role,
                "all_locations": role in (Role.ANALYST, Role.ADMIN),
                "provider_id": provider.id if role == Role.PROVIDER else None,
                "active": True,
                "created_at": builder.now - timedelta(days=HISTORY_DAYS),
            },
        )
        if locs:
            conn.execute(insert(user_locations), [{"user_id": uid, "location_id": x.id} for x in locs])
        if role == Role.FRONT_DESK:
            builder.desk_user = uid
        builder.user_rows.append((labels[role], username, password, scope))


def add_customers(builder: Builder, conn: Connection) -> None:
    """Each location's pool of customers, sized by its providers; some join during the year."""
    n_cust = builder.customer_count
    rng = builder.rng
    first_id = builder.next_id(conn, Customer)
    weights = [max(1, len(loc.providers)) for loc in builder.locations]
    total = sum(weights)
    next_id = first_id
    span = builder.now_epoch - builder.history_start
    rows = []
    for loc, w in zip(builder.locations, weights, strict=True):
        size = max(10, n_cust * w // total)
        loc.pool = (next_id, size)
        for j in range(size):
            cid = next_id + j
            first, last = FIRST_NAMES[randrange(rng, len(FIRST_NAMES))], LAST_NAMES[randrange(rng, len(LAST_NAMES))]
            r = rng.random()
            email = None if r < 0.05 else f"{first}.{last}{cid}@example.com".lower().replace("'", "")
            if rng.random() < 0.07:
                phone = None
            elif loc.area:
                phone = f"+1{loc.area}55501{randrange(rng, 100):02d}"  # E.164, as the service stores them
            else:
                phone = f"+442079460{randrange(rng, 1000):03d}"
            # The first 60% were customers before the history starts; the rest join over the year.
            if j < 0.6 * size:
                created = builder.history_start - randint(rng, 86400, 1000 * 86400)
            else:
                created = builder.history_start + int(span * (j - 0.6 * size) / (0.4 * size))
            rows.append((cid, f"{first} {last}", email, phone, loc.id, builder.instant(created)))
        next_id += size
    for k in range(0, len(rows), CHUNK):
        builder.bulk(conn, Customer.__table__, CUST_COLS, rows[k : k + CHUNK])
    builder.counts["customers"] = len(rows)


def pick_customer(builder: Builder, loc: LocationPlan, at: int, rng: random.Random | None = None) -> int:
    """A customer of `loc` known by `at` (now and then a visitor from another location), drawn
    with `rng` (default the builder's main dice)."""
    rng = rng or builder.rng
    if rng.random() < 0.03:  # visiting another location of the group
        loc = builder.locations[randrange(rng, len(builder.locations))]
    base, size = loc.pool
    frac = min(1.0, max(0.0, (at - builder.history_start) / (builder.now_epoch - builder.history_start)))
    return base + randrange(rng, max(1, min(size, int(size * (0.6 + 0.4 * frac)))))


def pick_free_customer(builder: Builder, loc: LocationPlan, at: int, start: int, end: int) -> int:
    """`pick_customer`, skipping customers with another appointment overlapping [start, end):
    one customer is never booked twice at once."""
    for _ in range(100):
        customer = pick_customer(builder, loc, at)
        busy = builder.customer_busy[customer]
        if not any(s < end and start < e for s, e in busy):
            busy.append((start, end))
            return customer
    raise RuntimeError(f"no free customer at {start} after 100 tries: too few customers for the volume")
