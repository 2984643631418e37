"""The organisation: appointment types, locations, providers, rooms, weekly hours, time off,
and each location's booking channels."""

from __future__ import annotations

import json
from datetime import time, timedelta
from itertools import accumulate

from sqlalchemy import Connection, insert

from core.base.models import (
    AppointmentType,
    Location,
    Provider,
    Room,
    TimeOff,
    WorkingHours,
    provider_locations,
)
from core.base.tz import local_to_utc
from core.demo.catalogue import (
    FIRST_NAMES,
    HALF_DAY_FROM,
    HALF_DAY_TO,
    INTAKE_ANSWERS,
    LAST_NAMES,
    LOCATION_SEEDS,
    LOCATION_SUFFIXES,
    PARTIAL_REASONS,
    SOURCES,
    STREETS,
    TYPES,
    VACATION_REASONS,
)
from core.demo.plans import LocationPlan, ProviderPlan
from core.demo.state import Builder


def add_catalogue(builder: Builder, conn: Connection) -> None:
    next_id = builder.next_id(conn, AppointmentType)
    rows = []
    for i, t in enumerate(TYPES):
        builder.type_ids[t.name] = next_id + i
        rows.append(
            {
                "id": next_id + i,
                "name": t.name,
                "duration_min": t.duration,
                "buffer_before_min": t.before,
                "buffer_after_min": t.after,
                "min_notice_min": t.min_notice,
                "horizon_days": t.horizon,
                "cancellation_window_hours": t.window,
                "reschedule_notice_hours": t.reschedule_notice,
                "capacity": t.capacity,
                "required_skills": list(t.skills),
                "room_kind": t.room_kind,
                "intake_fields": [{"name": n, "label": label, "required": req} for n, label, req in t.intake],
                "routing_policy": t.routing,
                "color": t.color,
                "active": True,
            }
        )
        # Answers: three complete variants, and one with a required field missing.
        complete = []
        for v in range(3):
            answers = {n: INTAKE_ANSWERS[n][(v + k) % len(INTAKE_ANSWERS[n])] for k, (n, _, _) in enumerate(t.intake)}
            complete.append(json.dumps(answers))
        required = [n for n, _, req in t.intake if req]
        incomplete = {n: INTAKE_ANSWERS[n][0] for n, _, req in t.intake if not req}
        builder.intake[t.name] = (complete, json.dumps(incomplete) if required else "")
    conn.execute(insert(AppointmentType), rows)
    builder.counts["appointment_types"] = len(rows)


def add_locations(builder: Builder, conn: Connection) -> None:
    """Locations: the seed list first, then the same neighbourhoods with a suffix."""
    rng = builder.rng
    loc_id = builder.next_id(conn, Location)
    builder.locations = []
    loc_rows = []
    for i in range(builder.location_count):
        base, tz, city, area = LOCATION_SEEDS[i % len(LOCATION_SEEDS)]
        rnd = i // len(LOCATION_SEEDS)
        if rnd == 0:
            name = base
        elif rnd <= len(LOCATION_SUFFIXES):
            name = f"{base} {LOCATION_SUFFIXES[rnd - 1]}"
        else:
            name = f"{base} {rnd + 1}"
        loc = LocationPlan(id=loc_id + i, index=i, name=name, tz=tz, area=area)
        builder.locations.append(loc)
        street = f"{rng.randint(1, 400)} {STREETS[rng.randrange(len(STREETS))]}"
        loc_rows.append({"id": loc.id, "name": name, "timezone": tz, "address": f"{street}, {city}", "active": True})
    conn.execute(insert(Location), loc_rows)
    builder.first_location = builder.locations[0]
    builder.counts["locations"] = builder.location_count


PROVIDER_KINDS = ("doctor", "physio", "doctor", "dietitian", "doctor", "doctor", "physio", "doctor", "physio")


def plan_provider(
    builder: Builder, i: int, provider_id: int, used_names: set[str], by_zone: dict[str, list[LocationPlan]]
) -> ProviderPlan:
    """The i-th provider: kind, skills, a name not used yet, a home location and perhaps a second
    one in the same zone."""
    rng = builder.rng
    kind = PROVIDER_KINDS[i % len(PROVIDER_KINDS)]
    if kind == "doctor":
        skills = ["general"] + (["procedure"] if i == 2 or rng.random() < 0.35 else [])
    elif kind == "physio":
        skills = ["physio"] + (["group"] if i == 1 or rng.random() < 0.6 else [])
    else:
        skills = ["nutrition"]
    while True:
        first, last = FIRST_NAMES[rng.randrange(len(FIRST_NAMES))], LAST_NAMES[rng.randrange(len(LAST_NAMES))]
        if f"{first} {last}" not in used_names or len(used_names) > 5000:
            break
    used_names.add(f"{first} {last}")
    name = {"doctor": f"Dr. {first} {last}", "physio": f"{first} {last}, PT", "dietitian": f"{first} {last}, RD"}[kind]
    email = f"{first}.{last}.{i + 1}@clinic.example".lower().replace("'", "")
    home = builder.locations[i % builder.location_count]
    p = ProviderPlan(id=provider_id, index=i, name=name, email=email, kind=kind, skills=skills, tz=home.tz)
    p.demand = rng.uniform(0.85, 1.15)
    p.types = [t for t in TYPES if set(t.skills) <= set(skills)]
    p.cum = list(accumulate(t.weight for t in p.types))
    p.locations = [home]
    siblings = [loc for loc in by_zone[home.tz] if loc is not home]
    if siblings and i != 0 and rng.random() < 0.3:
        p.locations.append(siblings[rng.randrange(len(siblings))])
    return p


def add_providers(builder: Builder, conn: Connection) -> None:
    """Providers: doctors, physiotherapists and dietitians, round robin over locations."""
    first_id = builder.next_id(conn, Provider)
    by_zone: dict[str, list[LocationPlan]] = {}
    for loc in builder.locations:
        by_zone.setdefault(loc.tz, []).append(loc)
    used_names: set[str] = set()
    builder.providers = [
        plan_provider(builder, i, first_id + i, used_names, by_zone) for i in range(builder.provider_count)
    ]
    conn.execute(
        insert(Provider),
        [
            {
                "id": p.id,
                "name": p.name,
                "email": p.email,
                "skills": p.skills,
                "calendar_id": None,
                "active": True,
            }
            for p in builder.providers
        ],
    )
    conn.execute(
        insert(provider_locations),
        [{"provider_id": p.id, "location_id": loc.id} for p in builder.providers for loc in p.locations],
    )
    for p in builder.providers:
        for loc in p.locations:
            loc.providers.append(p)
    builder.counts["providers"] = builder.provider_count


def add_rooms(builder: Builder, conn: Connection) -> None:
    """Rooms: an exam room per provider at the location, and the shared kinds."""
    room_id = builder.next_id(conn, Room)
    room_rows = []
    for loc in builder.locations:
        physios = sum(1 for p in loc.providers if "physio" in p.skills)
        specs = [(f"Exam {k + 1}", "exam") for k in range(max(1, len(loc.providers)))]
        specs += [(f"Treatment {k + 1}", "treatment") for k in range(max(1, physios))]
        specs += [("Studio", "studio"), ("Procedure room", "procedure")]
        for name, kind in specs:
            room_rows.append({"id": room_id, "location_id": loc.id, "name": name, "kind": kind, "active": True})
            if kind == "exam":
                loc.exam_rooms.append(room_id)
            else:
                loc.shared_rooms.setdefault(kind, []).append(room_id)
            room_id += 1
    conn.execute(insert(Room), room_rows)
    builder.counts["rooms"] = len(room_rows)


def add_hours(builder: Builder, conn: Connection) -> None:
    """Weekly hours (local time), split by weekday between a provider's locations."""
    rng = builder.rng
    wh_rows = []
    for p in builder.providers:
        days = [0, 1, 2, 3, 4]
        if p.kind == "physio" and rng.random() < 0.45:
            days.append(5)
        if p.kind == "dietitian" or rng.random() < 0.2:
            days.remove(days[rng.randrange(len(days) - 1)])
        start = rng.choice((450, 480, 480, 510, 540))
        lunch = rng.choice((720, 750))
        end = rng.choice((960, 990, 1020, 1020, 1050, 1080))
        late_day = days[rng.randrange(len(days))] if rng.random() < 0.4 else None
        split = len(days) - 2 if len(p.locations) > 1 else len(days)
        for k, wd in enumerate(days):
            loc = p.locations[0] if k < split else p.locations[1]
            if wd == 5:
                segments = [(540, 780)]
            else:
                day_end = 1140 if wd == late_day else end
                day_start = 600 if wd == late_day else start
                segments = [(day_start, lunch), (lunch + 60, day_end)]
            loc.schedule[wd].append((p, segments))
            for s, e in segments:
                wh_rows.append(
                    {
                        "provider_id": p.id,
                        "location_id": loc.id,
                        "weekday": wd,
                        "start_time": time(s // 60, s % 60),
                        "end_time": time(e // 60, e % 60),
                    }
                )
    conn.execute(insert(WorkingHours), wh_rows)


def add_time_off(builder: Builder, conn: Connection) -> None:
    """Time off: a couple of vacations and a few afternoons per provider (local days)."""
    rng = builder.rng
    to_rows = []
    span = (builder.last_day - builder.first_day).days
    for p in builder.providers:
        for _ in range(2 if rng.random() < 0.7 else 3):
            first = builder.first_day + timedelta(days=rng.randrange(span - 5))
            length = rng.randint(3, 9)
            last = first + timedelta(days=length - 1)
            p.off_days.update(first + timedelta(days=k) for k in range(length))
            to_rows.append(
                {
                    "provider_id": p.id,
                    "start_at": local_to_utc(first, time.min, p.tz),
                    "end_at": local_to_utc(last + timedelta(days=1), time.min, p.tz),
                    "reason": rng.choice(VACATION_REASONS),
                }
            )
        for _ in range(rng.randint(2, 4)):
            day = builder.first_day + timedelta(days=rng.randrange(span))
            if day in p.off_days or day in p.half_days:
                continue
            p.half_days.add(day)
            to_rows.append(
                {
                    "provider_id": p.id,
                    "start_at": local_to_utc(day, time(HALF_DAY_FROM // 60), p.tz),
                    "end_at": local_to_utc(day, time(HALF_DAY_TO // 60), p.tz),
                    "reason": rng.choice(PARTIAL_REASONS),
                }
            )
    conn.execute(insert(TimeOff), to_rows)
    builder.counts["time_off"] = len(to_rows)


def add_channels(builder: Builder, conn: Connection) -> None:
    """Booking channels differ by location (a younger neighbourhood books online more)."""
    rng = builder.rng
    for loc in builder.locations:
        online = rng.uniform(0.25, 0.45)
        google = rng.uniform(0.08, 0.2)
        phone = rng.uniform(0.2, 0.35)
        desk = max(0.05, 1 - online - google - phone)
        weights = {"front_desk": desk, "online": online, "phone": phone, "google": google}
        loc.src_cum = list(accumulate(weights[s] / sum(weights.values()) for s in SOURCES))
    builder.short_notice_sources = list(accumulate((0.45, 0.15, 0.35, 0.05)))
