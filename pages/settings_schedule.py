"""The provider page's schedule panels: weekly hours, time off, out sick today, copy hours.
Each change is previewed (the appointments it would leave outside working time) and confirmed."""

from __future__ import annotations

from datetime import time

import pandas as pd
import streamlit as st

from core.base.errors import DomainError
from core.scheduling.hours import Shift
from core.settings import bulk, working_time
from core.settings.common import WEEKDAYS
from pages import kit
from pages.safe import plain
from pages.settings_common import PAGE, run, show_affected


def _preview(key: str, action) -> None:
    try:
        st.session_state[key] = action()
    except DomainError as exc:
        st.session_state.pop(key, None)
        st.error(plain(exc), icon=":material/error:")


def hours_panel(actor, provider, location_ids: list[int], names: dict[int, str]) -> None:
    if not location_ids:
        st.info(f"{plain(provider.name)} works at no location yet: add one in the profile.")
        return
    loc = st.selectbox("Location", location_ids, format_func=names.get, key="hours_location")
    shifts = working_time.week_hours(actor, provider.id, loc)
    frame = pd.DataFrame([{"Day": WEEKDAYS[s.weekday], "Start": s.start, "End": s.end} for s in shifts],
                         columns=["Day", "Start", "End"])  # fmt: skip
    st.caption("One row per range, in the location's local time; several ranges a day are fine.")
    edited = st.data_editor(
        frame, num_rows="dynamic", hide_index=True, key=f"hours_{provider.id}_{loc}",
        column_config={"Day": st.column_config.SelectboxColumn(options=list(WEEKDAYS), required=True),
                       "Start": st.column_config.TimeColumn(format="HH:mm", step=300, required=True),
                       "End": st.column_config.TimeColumn(format="HH:mm", step=300, required=True)},
    )  # fmt: skip
    proposed = [
        Shift(loc, WEEKDAYS.index(r.Day), r.Start, r.End)
        for r in edited.dropna().itertuples()
        if isinstance(r.Start, time) and isinstance(r.End, time)
    ]
    key = "hours_preview"
    if st.button("Preview new hours"):
        _preview(key, lambda: (proposed, working_time.preview_hours(actor, provider.id, loc, proposed)))
    shown = st.session_state.get(key)
    if shown is not None and shown[0] == proposed:
        show_affected(shown[1], none="No booked appointment falls outside these hours.")
        if st.button("Confirm new hours", type="primary"):
            st.session_state.pop(key, None)
            run(
                lambda: working_time.set_hours(actor, provider.id, loc, proposed),
                f"{provider.name}'s hours are saved.",
            )


TIME_OFF_ADDED = "time_off_added"  # kit message shown beside the form, not at the top
TIME_OFF_FORM = ("off_first", "off_last", "off_part", "off_from", "off_until", "off_reason")


def time_off_panel(actor, provider) -> None:
    offs = working_time.list_time_off(actor, provider.id)
    if offs:
        st.dataframe(pd.DataFrame([{"When": o.label, "Reason": o.reason or ""} for o in offs]), hide_index=True)
        pick = st.selectbox("Time off", offs, format_func=lambda o: f"{o.label} · {o.reason or 'no reason'}")
        if st.button("Remove this time off", icon=":material/delete:"):
            run(lambda: working_time.remove_time_off(actor, pick.id), "The time off is removed.")
    else:
        st.info(f"{plain(provider.name)} has no upcoming time off.")
    st.markdown("**Add time off**")
    added = kit.current(PAGE, where=TIME_OFF_ADDED)
    if added:  # here, where the person is, not in the banner at the top out of view
        st.success(plain(added["text"]), icon=kit.ICONS["success"])
    c1, c2 = st.columns(2)
    first = c1.date_input("First day", key="off_first")
    last = c2.date_input("Last day", value=first, min_value=first, key="off_last")
    part = st.toggle("Part of the day only", key="off_part")
    start = end = None
    if part:
        c1, c2 = st.columns(2)
        start, end = c1.time_input("From", time(9), key="off_from"), c2.time_input("Until", time(12), key="off_until")
    reason = st.text_input("Reason", placeholder="Vacation, training, ...", key="off_reason")
    request = (first, last, start, end, reason)
    if st.button("Preview time off"):
        _preview("off_preview", lambda: (request, working_time.preview_time_off(
            actor, provider.id, first_day=first, last_day=last, start_time=start, end_time=end, reason=reason)))  # fmt: skip
    shown = st.session_state.get("off_preview")
    if shown is not None and shown[0] == request:
        show_affected(shown[1], none="No booked appointment falls in this time off.")
        if st.button("Confirm time off", type="primary"):
            st.session_state.pop("off_preview", None)
            done: list = []
            if kit.act(lambda: done.append(working_time.add_time_off(
                    actor, provider.id, first_day=first, last_day=last, start_time=start, end_time=end,
                    reason=reason)), page=PAGE, inline=True):  # fmt: skip
                moved = len(done[0][1])
                kit.say(f"Time off added; {moved} appointment{'' if moved == 1 else 's'} went to the exceptions queue."
                        if moved else "Time off added; no booked appointment was affected.",
                        page=PAGE, where=TIME_OFF_ADDED)  # fmt: skip
                for key in TIME_OFF_FORM:  # an empty form: the same dates again would be a duplicate
                    st.session_state.pop(key, None)
                st.rerun()


def out_sick_panel(actor, provider) -> None:
    st.write(f"{plain(provider.name)} cannot work for the rest of today: each remaining appointment moves to another "
             "provider who is free and able, or is cancelled with a call to rebook queued.")  # fmt: skip
    if st.button("Preview out sick"):
        _preview("sick_preview", lambda: (provider.id, bulk.out_sick_preview(actor, provider.id)))
    shown = st.session_state.get("sick_preview")
    if shown is not None and shown[0] == provider.id:
        plan = shown[1]
        if plan:
            st.dataframe(pd.DataFrame([{"When": i.when, "Customer": i.customer, "Type": i.type, "Plan": i.action}
                                       for i in plan]), hide_index=True)  # fmt: skip
        else:
            st.info("No more appointments today: only the time off will be recorded.")
        if st.button("Confirm out sick", type="primary"):
            st.session_state.pop("sick_preview", None)
            run(lambda: bulk.out_sick(actor, provider.id, plan), f"{provider.name} is out sick for today.")


def copy_hours_panel(actor, provider, location_ids: list[int], names: dict[int, str], everyone: dict) -> None:
    if not location_ids:
        st.info(f"{plain(provider.name)} works at no location yet.")
        return
    loc = st.selectbox("Location", location_ids, format_func=names.get, key="copy_location")
    others = [p for p in everyone.values() if p.id != provider.id and loc in p.location_ids and p.active]
    targets = st.multiselect("Copy to", [p.id for p in others], format_func=lambda i: everyone[i].name)
    if st.button("Preview copy", disabled=not targets):
        _preview(
            "copy_preview", lambda: ((loc, tuple(targets)), bulk.copy_hours_preview(actor, provider.id, loc, targets))
        )
    shown = st.session_state.get("copy_preview")
    if shown is not None and shown[0] == (loc, tuple(targets)):
        for name, affected in shown[1].items():
            st.markdown(f"**{plain(name)}**")
            show_affected(affected, none="No booked appointment falls outside the copied hours.")
        if st.button("Confirm copy", type="primary"):
            st.session_state.pop("copy_preview", None)
            run(lambda: bulk.copy_hours(actor, provider.id, loc, targets), "Hours copied.")
