"""One appointment and what happened to it: booking, confirmation, cancellation (and the slot
rebooked), no-show or completion, reschedules, intake, and the inquiry that led to it.

`add_appointment` tells the story in steps, each a function of the `Story` so far; the dice are
rolled in the same order on every run, so a seed always gives the same year."""

from __future__ import annotations

from bisect import bisect
from dataclasses import dataclass, replace

from core.demo import noshow_habit
from core.demo.bulk import iso
from core.demo.catalogue import (
    CANCEL_BASE,
    CANCEL_REASONS,
    FUTURE_BOOKED_MEAN,
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
from core.demo.inquiries import booked_inquiry
from core.demo.people import pick_free_customer
from core.demo.plans import LocationPlan, ProviderPlan
from core.demo.state import Builder

DAY = 86400


@dataclass(frozen=True)
class Slot:
    """Where and when: a block of a provider's day (epoch seconds), buffers included."""

    location: LocationPlan
    provider: ProviderPlan
    kind: TypeSpec
    room: int | None
    block_start: int
    start: int
    end: int
    block_end: int
    weekday: int
    group_key: str


@dataclass
class Story:
    """What happened to one appointment, filled in step by step (instants in epoch seconds)."""

    id: int
    booked: int
    source: str
    customer: int
    staff: bool  # booked by the desk or on the phone
    actor: int | None  # the demo desk user, for staff bookings at the first location
    status: str | None = None
    confirmed_at: int | None = None
    checked_in_at: int | None = None
    completed_at: int | None = None
    cancelled_at: int | None = None
    cancel_reason: str | None = None
    late: bool = False
    reschedules: int = 0
    touched: int = 0

    def history(self, builder: Builder, at: int, actor: int | None, kind: str, old: str, new: str, manual: bool):
        builder.history_rows.append((self.id, builder.instant(at), actor, kind, old, new, manual))


def lead_time(builder: Builder, kind: TypeSpec) -> int:
    rng = builder.rng
    u = rng.random()
    if u < kind.short:
        lead = rng.uniform(0.2, 30) * 3600
    elif u < kind.short + 0.6:
        lead = rng.expovariate(1 / kind.mean_days) * DAY
    else:
        lead = rng.uniform(10, max(10, kind.long_days)) * DAY
    lo = max(kind.min_notice * 60, 900)
    return int(min(max(lead, lo), kind.horizon * DAY))


def notice(kind: TypeSpec) -> int:
    return max(kind.min_notice * 60, 900)


def booked_when(builder: Builder, slot: Slot, rebooked_after: int | None) -> int:
    rng, now = builder.rng, builder.now_epoch
    if rebooked_after is not None:  # a freed slot, taken by someone else
        return randint(rng, rebooked_after + 60, min(slot.start - notice(slot.kind), now))
    if slot.start > now:
        booked = now - int(rng.expovariate(1.0) * FUTURE_BOOKED_MEAN)
        return max(min(booked, slot.start - notice(slot.kind)), slot.start - slot.kind.horizon * DAY)
    return slot.start - lead_time(builder, slot.kind)


def begin(builder: Builder, slot: Slot, rebooked_after: int | None) -> Story:
    """The booking: when, through which channel, for whom, by whom."""
    appointment_id = builder.next_appointment_id
    builder.next_appointment_id += 1
    booked = booked_when(builder, slot, rebooked_after)
    lead = slot.start - booked
    sources = builder.short_notice_sources if lead < DAY else slot.location.src_cum
    source = SOURCES[bisect(sources, builder.rng.random())]
    customer = pick_free_customer(builder, slot.location, booked, slot.start, slot.end)
    staff = source in ("front_desk", "phone")
    actor = builder.desk_user if staff and slot.location is builder.first_location else None
    return Story(appointment_id, booked, source, customer, staff, actor, touched=booked)


def maybe_cancel(builder: Builder, slot: Slot, story: Story) -> None:
    """Cancellations: likelier the further ahead it was booked; upcoming ones only partly happened yet."""
    rng, rand, now = builder.rng, builder.rng.random, builder.now_epoch
    lead = slot.start - story.booked
    chance = CANCEL_BASE * slot.kind.cancel * (0.6 + 0.8 * min(lead / DAY, 30) / 30)
    if slot.start > now:
        chance *= (now - story.booked) / lead
    if not rand() < chance:
        return
    latest = min(slot.start - 300, now)
    if latest <= story.booked + 120:
        return
    window = slot.kind.window * 3600
    if rand() < 0.38 and slot.start - window < latest:
        cancelled = randint(rng, max(story.booked + 60, slot.start - window), latest)
    else:
        cancelled = randint(rng, story.booked + 60, latest)
    story.status, story.cancelled_at, story.touched = "cancelled", cancelled, cancelled
    story.late = slot.start - cancelled < window
    by_staff = rand() < 0.08
    story.cancel_reason = choice(rng, STAFF_CANCEL_REASONS if by_staff else CANCEL_REASONS)
    manual = by_staff or story.staff or rand() < 0.3
    late = "true" if story.late else "false"
    story.history(builder, cancelled, story.actor if manual else None, "status", '{"status": "booked"}',
                  f'{{"status": "cancelled", "late_cancel": {late}}}', manual)  # fmt: skip


def upcoming(builder: Builder, slot: Slot, story: Story) -> None:
    """Not yet happened: confirmed by many once reminders went out four days ahead."""
    rng, rand, now = builder.rng, builder.rng.random, builder.now_epoch
    ahead = slot.start - now
    if ahead < 4 * DAY:
        lo = max(story.booked + 60, slot.start - 4 * DAY)
        if rand() < (0.7 if ahead < 2 * DAY else 0.5) and now > lo:
            story.confirmed_at = randint(rng, lo, now)
    elif rand() < 0.15 and now > story.booked + 60:  # confirmed right when booking
        story.confirmed_at = randint(rng, story.booked + 60, min(now, story.booked + 3600))
    story.status = "confirmed" if story.confirmed_at else "booked"


def happened(builder: Builder, slot: Slot, story: Story) -> None:
    """In the past or under way: confirmed, then checked in, completed or missed."""
    rng, rand, now = builder.rng, builder.rng.random, builder.now_epoch
    lead = slot.start - story.booked
    if lead > 6 * 3600 and rand() < 0.8:
        lo, hi = max(story.booked + 60, slot.start - 3 * DAY), slot.start - 3600
        if hi > lo:
            story.confirmed_at = randint(rng, lo, hi)
    if slot.end > now:  # in progress
        story.status = "checked_in"
        story.checked_in_at = max(story.booked + 30, slot.start - randint(rng, 0, 600))
    elif rand() < no_show_chance(slot, story):
        story.status = "no_show"
        marked = min(slot.start + 900, now)
        was = '{"status": "confirmed"}' if story.confirmed_at else '{"status": "booked"}'
        story.history(builder, marked, story.actor, "status", was, '{"status": "no_show"}', True)
        story.touched = marked
    else:
        story.status = "completed"
        story.checked_in_at = max(story.booked + 30, slot.start - randint(rng, 0, 900))
        story.completed_at = min(slot.end + randint(rng, 0, 600), now)
        story.touched = story.completed_at


def no_show_chance(slot: Slot, story: Story) -> float:
    lead_days = (slot.start - story.booked) / DAY
    return noshow_habit.capped(
        NO_SHOW_BASE
        * slot.kind.no_show
        * WEEKDAY_NO_SHOW[slot.weekday]
        * (0.4 + 1.6 * min(lead_days, 40) / 40)
        * (0.7 if story.confirmed_at else 1.3)
        * SOURCE_NO_SHOW[story.source]
        * noshow_habit.factor(story.customer, slot.start, slot.location.tz)
    )


def maybe_reschedule(builder: Builder, slot: Slot, story: Story) -> None:
    """The same appointment moved once or twice before it happened."""
    rng, rand, now = builder.rng, builder.rng.random, builder.now_epoch
    if not rand() < RESCHEDULE_RATE * (1.5 if (slot.start - story.booked) / DAY > 14 else 1.0):
        return
    moves = 1 if rand() < 0.8 else 2
    positions = [slot.start + choice(rng, (-7, -3, -2, -1, 1, 2, 3, 7, 14)) * DAY for _ in range(moves)]
    positions.append(slot.start)
    last = min(min(positions), now, story.cancelled_at or now) - 3600
    if min(positions) <= story.booked + 3 * 3600 or last <= story.booked + 120:
        return
    moments = sorted(randint(rng, story.booked + 60, last) for _ in range(moves))
    duration = slot.end - slot.start
    manual = story.staff or rand() < 0.3
    for k in range(moves):
        old, new = positions[k], positions[k + 1]
        story.history(builder, moments[k], story.actor if manual else None, "reschedule",
                      f'{{"start_at": "{iso(old)}", "end_at": "{iso(old + duration)}"}}',
                      f'{{"start_at": "{iso(new)}", "end_at": "{iso(new + duration)}"}}', manual)  # fmt: skip
    story.reschedules = moves
    story.touched = max(story.touched, moments[-1])


def write_row(builder: Builder, slot: Slot, story: Story) -> None:
    """The appointment's row, with its intake (now and then still incomplete) and a note."""
    rng, rand, ts = builder.rng, builder.rng.random, builder.instant
    complete_variants, incomplete = builder.intake[slot.kind.name]
    future = slot.start > builder.now_epoch
    if incomplete and rand() < ((0.2 if story.source == "online" else 0.1) if future else 0.02):
        answers, intake_ok = incomplete, False
    else:
        answers, intake_ok = complete_variants[randrange(rng, 3)], True
    builder.appointment_rows.append((
        story.id, f"EHR-{story.id:07d}" if story.booked < builder.go_live else None, slot.location.id,
        slot.provider.id, slot.room, builder.type_ids[slot.kind.name], story.customer, ts(slot.start), ts(slot.end),
        ts(slot.block_start), ts(slot.block_end), slot.group_key, story.status, ts(story.booked),
        story.actor if story.staff else None, story.source, answers, intake_ok,
        NOTES[randrange(rng, len(NOTES))] if rand() < 0.02 else None, ts(story.confirmed_at),
        ts(story.checked_in_at), ts(story.completed_at), ts(story.cancelled_at), story.cancel_reason, story.late,
        story.reschedules, None, None, ts(story.touched),
    ))  # fmt: skip
    builder.statuses[story.status] += 1


def add_appointment(builder: Builder, slot: Slot, *, may_rebook: bool, rebooked_after: int | None = None) -> None:
    """One appointment in `slot`, its story, and (a cancelled slot with time left) often a second
    appointment that took the freed slot."""
    story = begin(builder, slot, rebooked_after)
    maybe_cancel(builder, slot, story)
    if story.status is None:
        (upcoming if slot.start > builder.now_epoch else happened)(builder, slot, story)
        story.touched = max(t for t in (story.touched, story.confirmed_at, story.checked_in_at) if t)
    maybe_reschedule(builder, slot, story)
    write_row(builder, slot, story)
    booked_inquiry(builder, slot.location, builder.type_ids[slot.kind.name], story.customer, story.source, story.id,
                   story.booked)  # fmt: skip
    rng = builder.rng
    rebook_by = min(slot.start - notice(slot.kind), builder.now_epoch)
    if (
        story.status == "cancelled"
        and may_rebook
        and rng.random() < REBOOK_RATE
        and rebook_by > story.cancelled_at + 600
    ):
        freed = replace(slot, group_key=f"{rng.getrandbits(128):032x}")
        add_appointment(builder, freed, may_rebook=False, rebooked_after=story.cancelled_at)
