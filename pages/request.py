"""The public booking-request page (/request?location=<slug>): a customer picks a type, a day and
a free time, leaves a name and an email or phone (and the type's intake), and is booked at once
or has the time held until the desk confirms it. No sign-in, no staff data."""

from __future__ import annotations

from collections import defaultdict

import streamlit as st

from core.base.errors import NotFound
from core.base.tz import to_local
from core.inquiries import public
from core.scheduling.availability.messages import fmt_day
from pages import door
from pages.safe import plain

DONE = "door_request_done"
PICKED = "door_request_picked"

door.frame("Request an appointment")
try:
    location, types = public.page(st.query_params.get("location"))
except NotFound as exc:
    st.error(plain(exc), icon=":material/search_off:")
    st.stop()

st.caption(plain(" · ".join(x for x in (location.name, location.address) if x)))

if (done := st.session_state.get(DONE)) is not None:
    when = f"{fmt_day(done.start_local.date())} at {done.start_local:%H:%M}"
    if done.held:
        until = to_local(done.held_until, location.timezone)
        st.success(f"Thank you: {plain(done.type_name)} on {when} is held for you until {until:%H:%M}. "
                   "We will confirm it shortly.", icon=":material/schedule:")  # fmt: skip
    else:
        st.success(f"You are booked: {plain(done.type_name)} on {when} at {plain(done.location_name)}.",
                   icon=":material/event_available:")  # fmt: skip
    if st.button("Request another appointment"):
        del st.session_state[DONE]
        st.rerun()
    st.stop()

if not types:
    st.info("Nothing can be booked online here yet. Please call us.", icon=":material/call:")
    st.stop()

chosen = st.selectbox("What for?", types, format_func=lambda t: f"{t.name} ({t.duration_min} min)")
starts = public.free_starts(st.query_params.get("location"), chosen.id)
by_day: dict = defaultdict(list)
for start in starts:
    by_day[to_local(start, location.timezone).date()].append(start)
if not by_day:
    st.info(f"No free times in the next {public.DAYS} days. Please call us.", icon=":material/event_busy:")
    st.stop()
day = st.selectbox("Day", list(by_day), format_func=fmt_day)
start = st.pills("Time", by_day[day], format_func=lambda s: f"{to_local(s, location.timezone):%H:%M}",
                 key=f"door_time_{chosen.id}_{day}")  # fmt: skip
# A time taken by someone else meanwhile drops out of the list (and the pills forget it): the
# request still goes out for it, so the customer hears that it went rather than "choose a time".
if start is not None:
    st.session_state[PICKED] = (chosen.id, start)
elif (picked := st.session_state.get(PICKED)) is not None and picked[0] == chosen.id and picked[1] not in starts:
    start = picked[1]

with st.form("door_request", border=False):
    name = st.text_input("Your name", max_chars=200)
    email = st.text_input("Email", max_chars=255)
    phone = st.text_input("Phone", max_chars=40, help="An email or a phone number, so we can reach you.")
    intake = {f["name"]: st.text_input(f.get("label") or f["name"], max_chars=500) for f in chosen.intake_fields}
    trap = door.honeypot()
    label = "Book" if chosen.instant else "Send request"
    sent = st.form_submit_button(label, type="primary", width="stretch")

if sent:
    if start is None:
        st.error("Choose a time first.", icon=":material/error:")
    else:
        result = door.answer(lambda: public.request_booking(
            st.query_params.get("location"), type_id=chosen.id, start=start, name=name, email=email,
            phone=phone, intake={k: v for k, v in intake.items() if v.strip()}, client=door.client(),
            honeypot=trap,
        ))  # fmt: skip
        if result is not None:
            st.session_state.pop(PICKED, None)
            st.session_state[DONE] = result
            st.rerun()
