"""The slot picker the book and reschedule dialogs share, fed by the availability engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta

import streamlit as st

from core.base.errors import DomainError
from core.base.tz import to_local
from core.scheduling import availability, schedule
from core.scheduling.schedule import LocationView, day_label
from core.security.access import Actor
from pages.safe import plain
from pages.today_state import (
    ANY,
    providers_at,
    scope_key,
    slot_label,
)


def slot_picker(actor: Actor, location: LocationView, *, type_id: int, default_provider: int | None, day: date,
                current: schedule.ScheduleRow | None = None, route: bool = False,
                customer_id: int | None = None):  # fmt: skip
    """Provider (any or one), date, then a free time from the availability engine; the chosen Slot or None.
    With `route` and any provider, each time is offered once and the Slot comes back without a
    provider or room (None), for the booking service's routing to choose. Times the customer
    (`customer_id`, or the appointment being moved) is booked elsewhere are left out, and said so."""
    customer_id = current.customer_id if current else customer_id
    providers = providers_at(actor, scope_key(actor), location.id)
    ids = [ANY, *(pid for pid, _ in providers)]
    names = dict(providers)
    left, right = st.columns(2)
    provider_id = left.selectbox(
        "Provider", ids, index=ids.index(default_provider) if default_provider in ids else 0,
        format_func=lambda pid: names.get(pid, "Any provider"), key="dlg_provider",
    )  # fmt: skip
    st.session_state.setdefault("dlg_day", day)
    chosen_day = right.date_input("Day", key="dlg_day", format="YYYY-MM-DD")

    def search(first: date, last: date, limit: int | None = None) -> list:
        found = availability.find_slots(
            actor, type_id=type_id, location_id=location.id, date_from=first, date_to=last,
            provider_id=provider_id or None, exclude_appointment_id=current.appointment_id if current else None,
            limit=limit, customer_id=customer_id,
        )  # fmt: skip
        # Moving an appointment to where it already is is no move.
        return [s for s in found if not current or (s.start, s.provider_id) != (current.start, current.provider_id)]

    try:
        slots = search(chosen_day, chosen_day)
        elsewhere = availability.customer_elsewhere(
            actor, customer_id=customer_id, location_id=location.id, day=chosen_day,
            exclude_appointment_id=current.appointment_id if current else None,
        ) if customer_id else []  # fmt: skip
    except DomainError as exc:
        st.warning(str(exc))
        return None
    if elsewhere:
        st.caption(plain(f"Left out, as the customer is already booked then: {', '.join(elsewhere)}."))
    if not slots:
        _next_free(search, names.get(provider_id, "any provider"), chosen_day, location.timezone)
        return None
    if route and provider_id == ANY:
        slots, labels = _by_time(slots, location.timezone)
    else:
        labels = [slot_label(s, location.timezone) for s in slots]
    # The widget's value is the slot itself (its start and provider), never its place in a list
    # that another desk's booking can shorten: a slot that is gone is named, never swapped.
    options = [(s.start.isoformat(), s.provider_id) for s in slots]
    by_option, label_of = dict(zip(options, slots, strict=True)), dict(zip(options, labels, strict=True))
    key = f"dlg_slot_{type_id}_{provider_id}_{chosen_day.isoformat()}"
    picked = st.session_state.get(key)
    if picked is not None and picked not in by_option:
        st.session_state[key] = None  # set, not dropped: the browser's box is emptied too
        gone = st.session_state.get("dlg_chosen_label", "That time")
        st.warning(f"{plain(gone)} was just taken: pick another time.", icon=":material/warning:")
    choice = st.selectbox(
        f"Time ({len(slots)} free)", options, index=None, placeholder="Pick a time",
        format_func=label_of.get, key=key,
    )  # fmt: skip
    if choice is None:
        return None
    st.session_state["dlg_chosen_label"] = _short(label_of[choice])
    return by_option[choice]


def _short(label: str) -> str:
    """ "10:15–10:45 · Dr. Chidi Nguyen · Exam 1" -> "10:15 with Dr. Chidi Nguyen"."""
    parts = label.split(" · ")
    start = parts[0].split("–")[0]
    return f"{start} with {parts[1]}" if len(parts) > 1 and parts[1] else start


def _by_time(slots: list, tz: str) -> tuple[list, list[str]]:
    """One option per start time, for the booking service to route: (slots without provider, labels)."""
    grouped: dict = {}
    for slot in slots:
        grouped.setdefault(slot.start, []).append(slot)
    out, labels = [], []
    for group in grouped.values():
        first = group[0]
        names = sorted({s.provider_name for s in group})
        who = ", ".join(names) if len(names) <= 3 else f"{len(names)} providers"
        start, end = to_local(first.start, tz), to_local(first.end, tz)
        labels.append(f"{start:%H:%M}–{end:%H:%M} · " + (f"any of {who}" if len(names) > 1 else who))
        out.append(replace(first, provider_id=None, provider_name="", room_id=None, room_name=None))
    return out, labels


def _set_dialog_day(day: date) -> None:
    st.session_state["dlg_day"] = day


def _next_free(search: Callable[..., list], who: str, day: date, tz: str) -> None:
    """Nothing free that day: point to the next free time in the two weeks after it."""
    try:
        ahead = search(day + timedelta(days=1), day + timedelta(days=14), limit=2)
    except DomainError:
        ahead = []
    if not ahead:
        st.info(f"No free times with {plain(who)} on {day_label(day)} or in the two weeks after. Try another provider.")
        return
    first = ahead[0]
    first_day = to_local(first.start, tz).date()
    st.info(
        f"No free times with {plain(who)} on {day_label(day)}. The next is {plain(slot_label(first, tz, with_day=True))}."
    )
    st.button(f"Show {day_label(first_day)}", key="dlg_next_free", on_click=_set_dialog_day, args=(first_day,))
