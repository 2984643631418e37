"""One appointment and what happened to it: booking, confirmation, cancellation (and the slot
rebooked), no-show or completion, reschedules, intake, and the inquiry that led to it."""

from __future__ import annotations

from bisect import bisect
from typing import TYPE_CHECKING

from core.demo import noshow_habit
from core.demo.bulk import iso
from core.demo.catalogue import (
    CANCEL_BASE,
    CANCEL_REASONS,
    FUTURE_BOOKED_MEAN,
    INQUIRY_CHANNEL,
    INQUIRY_SHARE,
    NO_SHOW_BASE,
    NOTES,
    REBOOK_RATE,
    RESCHEDULE_RATE,
    SOURCE_NO_SHOW,
    SOURCES,
    STAFF_CANCEL_REASONS,
    WEEKDAY_NO_SHOW,
    TypeSpec,
    choice,
    randint,
    randrange,
)
from core.demo.people import pick_free_customer

if TYPE_CHECKING:
    from core.demo.builder import Builder
    from core.demo.org import LocationPlan, ProviderPlan


def lead_time(b: Builder, t: TypeSpec) -> int:
    rng = b.rng
    u = rng.random()
    if u < t.short:
        lead = rng.uniform(0.2, 30) * 3600
    elif u < t.short + 0.6:
        lead = rng.expovariate(1 / t.mean_days) * 86400
    else:
        lead = rng.uniform(10, max(10, t.long_days)) * 86400
    lo = max(t.min_notice * 60, 900)
    return int(min(max(lead, lo), t.horizon * 86400))


def add_appointment(
    b: Builder,
    loc: LocationPlan,
    p: ProviderPlan,
    t: TypeSpec,
    room: int | None,
    bs: int,
    start: int,
    end: int,
    be: int,
    wd: int,
    key: str,
    may_rebook: bool,
    rebooked_after: int | None = None,
) -> None:
    rng = b.rng
    rand = rng.random
    now = b.now_e
    ts = b.ts
    aid = b.next_appt
    b.next_appt += 1
    future = start > now
    notice = max(t.min_notice * 60, 900)

    if rebooked_after is not None:  # a freed slot, taken by someone else
        booked = randint(rng, rebooked_after + 60, min(start - notice, now))
    elif future:
        booked = now - int(rng.expovariate(1.0) * FUTURE_BOOKED_MEAN)
        booked = max(min(booked, start - notice), start - t.horizon * 86400)
    else:
        booked = start - lead_time(b, t)
    lead = start - booked
    lead_days = lead / 86400
    source = SOURCES[bisect(b.short_src_cum if lead < 86400 else loc.src_cum, rand())]
    customer = pick_free_customer(b, loc, booked, start, end)
    staff = source in ("front_desk", "phone")
    actor = b.desk_user if staff and loc is b.first_loc else None

    status = None
    confirmed_at = checked_in_at = completed_at = cancelled_at = None
    cancel_reason = None
    late = False
    touched = booked

    # Cancellations: likelier the further ahead it was booked; upcoming ones only partly happened yet.
    pc = CANCEL_BASE * t.cancel * (0.6 + 0.8 * min(lead_days, 30) / 30)
    if future:
        pc *= (now - booked) / lead
    if rand() < pc:
        latest = min(start - 300, now)
        if latest > booked + 120:
            window = t.window * 3600
            if rand() < 0.38 and start - window < latest:
                cancelled_at = randint(rng, max(booked + 60, start - window), latest)
            else:
                cancelled_at = randint(rng, booked + 60, latest)
            status = "cancelled"
            late = start - cancelled_at < window
            by_staff = rand() < 0.08
            cancel_reason = choice(rng, STAFF_CANCEL_REASONS if by_staff else CANCEL_REASONS)
            touched = cancelled_at
            manual = by_staff or staff or rand() < 0.3
            b.hist_buf.append(
                (
                    aid,
                    ts(cancelled_at),
                    actor if manual else None,
                    "status",
                    '{"status": "booked"}',
                    f'{{"status": "cancelled", "late_cancel": {"true" if late else "false"}}}',
                    manual,
                )
            )

    if status is None:
        if future:
            ahead = start - now
            if ahead < 4 * 86400:  # reminders go out four days ahead; most answer
                lo = max(booked + 60, start - 4 * 86400)
                if rand() < (0.7 if ahead < 2 * 86400 else 0.5) and now > lo:
                    confirmed_at = randint(rng, lo, now)
            elif rand() < 0.15 and now > booked + 60:  # confirmed right when booking
                confirmed_at = randint(rng, booked + 60, min(now, booked + 3600))
            status = "confirmed" if confirmed_at else "booked"
        else:
            if lead > 6 * 3600 and rand() < 0.8:
                lo, hi = max(booked + 60, start - 3 * 86400), start - 3600
                if hi > lo:
                    confirmed_at = randint(rng, lo, hi)
            if end > now:  # in progress
                status = "checked_in"
                checked_in_at = max(booked + 30, start - randint(rng, 0, 600))
            else:
                pns = noshow_habit.capped(
                    NO_SHOW_BASE
                    * t.no_show
                    * WEEKDAY_NO_SHOW[wd]
                    * (0.4 + 1.6 * min(lead_days, 40) / 40)
                    * (0.7 if confirmed_at else 1.3)
                    * SOURCE_NO_SHOW[source]
                    * noshow_habit.factor(customer, start, loc.tz)
                )
                if rand() < pns:
                    status = "no_show"
                    marked = min(start + 900, now)
                    b.hist_buf.append(
                        (
                            aid,
                            ts(marked),
                            actor,
                            "status",
                            '{"status": "confirmed"}' if confirmed_at else '{"status": "booked"}',
                            '{"status": "no_show"}',
                            True,
                        )
                    )
                    touched = marked
                else:
                    status = "completed"
                    checked_in_at = max(booked + 30, start - randint(rng, 0, 900))
                    completed_at = min(end + randint(rng, 0, 600), now)
                    touched = completed_at
        if confirmed_at and confirmed_at > touched:
            touched = confirmed_at
        if checked_in_at and checked_in_at > touched:
            touched = checked_in_at

    # Reschedules: the same appointment moved once or twice before it happened.
    reschedules = 0
    if rand() < RESCHEDULE_RATE * (1.5 if lead_days > 14 else 1.0):
        n = 1 if rand() < 0.8 else 2
        positions = [start + choice(rng, (-7, -3, -2, -1, 1, 2, 3, 7, 14)) * 86400 for _ in range(n)] + [start]
        last = min(min(positions), now, cancelled_at or now) - 3600
        if min(positions) > booked + 3 * 3600 and last > booked + 120:
            moments = sorted(randint(rng, booked + 60, last) for _ in range(n))
            duration = end - start
            manual = staff or rand() < 0.3
            for k in range(n):
                old, new = positions[k], positions[k + 1]
                b.hist_buf.append(
                    (
                        aid,
                        ts(moments[k]),
                        actor if manual else None,
                        "reschedule",
                        f'{{"start_at": "{iso(old)}", "end_at": "{iso(old + duration)}"}}',
                        f'{{"start_at": "{iso(new)}", "end_at": "{iso(new + duration)}"}}',
                        manual,
                    )
                )
            reschedules = n
            touched = max(touched, moments[-1])

    complete_variants, incomplete = b.intake[t.name]
    if incomplete and rand() < ((0.2 if source == "online" else 0.1) if future else 0.02):
        answers, intake_ok = incomplete, False
    else:
        answers, intake_ok = complete_variants[randrange(rng, 3)], True

    b.appt_buf.append(
        (
            aid,
            f"EHR-{aid:07d}" if booked < b.go_live_e else None,
            loc.id,
            p.id,
            room,
            b.type_ids[t.name],
            customer,
            ts(start),
            ts(end),
            ts(bs),
            ts(be),
            key,
            status,
            ts(booked),
            actor if staff else None,
            source,
            answers,
            intake_ok,
            NOTES[randrange(rng, len(NOTES))] if rand() < 0.02 else None,
            ts(confirmed_at),
            ts(checked_in_at),
            ts(completed_at),
            ts(cancelled_at),
            cancel_reason,
            late,
            reschedules,
            None,
            None,
            ts(touched),
        )
    )
    b.statuses[status] += 1

    # The inquiry that led to this booking, for some channels.
    if rand() < INQUIRY_SHARE[source]:
        received = booked - randint(rng, 300, 2 * 86400)
        b.inq_buf.append((loc.id, b.type_ids[t.name], customer, INQUIRY_CHANNEL[source], ts(received), aid, None))
        b.counts["inquiries_converted"] += 1

    # A cancelled slot with time left is often taken by someone else.
    if status == "cancelled" and may_rebook and rand() < REBOOK_RATE and min(start - notice, now) > cancelled_at + 600:
        key = f"{rng.getrandbits(128):032x}"
        add_appointment(b, loc, p, t, room, bs, start, end, be, wd, key, False, rebooked_after=cancelled_at)
