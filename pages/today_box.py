"""The Appointment box of today's schedule and the list under it: pick an appointment (in the
box, the list or the timeline), see its details and intake, act on it, undo the last status
change for a few minutes."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from core.base import clock
from core.base.tz import to_local
from core.intake import reads as intake_reads
from core.people import phones
from core.scheduling import booking, schedule
from core.scheduling.labels import clamp
from core.scheduling.schedule import DaySchedule, ScheduleRow
from core.security.access import A, Actor, can_act_on_appointment
from pages import kit, noshow_badge, today_state
from pages.downloads import download_buttons
from pages.safe import plain

QUICK_ACTIONS = {
    A.APPOINTMENT_CONFIRM: (booking.confirm, "confirmed"),
    A.APPOINTMENT_CHECK_IN: (booking.check_in, "checked in"),
    A.APPOINTMENT_COMPLETE: (booking.complete, "completed"),
    A.APPOINTMENT_NO_SHOW: (booking.mark_no_show, "marked as no-show"),
}
DIALOG_ACTIONS = {A.APPOINTMENT_RESCHEDULE: "reschedule", A.APPOINTMENT_CANCEL: "cancel", A.APPOINTMENT_NOTE: "notes"}
SELECTED = "today_selected"
MORE = "today_more"  # appointment ids whose long notes and intake are shown whole


def _select_from_table(key: str) -> None:
    rows = st.session_state[key].selection.rows
    if rows:
        st.session_state[SELECTED] = st.session_state["today_table_ids"][rows[0]]


def _quick(actor: Actor, action: str, row: ScheduleRow) -> None:
    """A one-click status change, undoable from the box for booking.UNDO_WINDOW. Its outcome is
    the box's own line with the Undo button, where the click was (no toast over the timeline)."""
    service, done = QUICK_ACTIONS[action]
    if kit.act(lambda: service(actor, row.appointment_id), None, page=today_state.PAGE):
        st.session_state[today_state.UNDO] = {
            "id": row.appointment_id, "until": clock.utcnow() + booking.UNDO_WINDOW, "text": f"{row.customer_name} {done}.",
        }  # fmt: skip


def _undo(actor: Actor, row: ScheduleRow) -> None:
    st.session_state.pop(today_state.UNDO, None)
    kit.act(
        lambda: booking.undo_status(actor, row.appointment_id),
        lambda appt: f"Undone: {row.customer_name} is {schedule.STATUS_LABELS[appt.status].lower()} again.",
        page=today_state.PAGE,
    )


def _undo_line(actor: Actor, row: ScheduleRow, now: datetime, tz: str) -> None:
    undo = st.session_state.get(today_state.UNDO)
    if not undo or undo["id"] != row.appointment_id:
        return
    if now >= undo["until"]:
        st.session_state.pop(today_state.UNDO, None)
        return
    text_col, undo_col = st.columns([5, 1], vertical_alignment="center")
    text_col.success(
        f"{plain(undo['text'])} You can undo it until {to_local(undo['until'], tz):%H:%M}.", icon=":material/undo:"
    )
    undo_col.button("Undo", key=f"act_undo_{row.appointment_id}", width="stretch", on_click=_undo, args=(actor, row))


def _toggle_more(appointment_id: int) -> None:
    opened = st.session_state.setdefault(MORE, set())
    opened.symmetric_difference_update({appointment_id})


def _details(row: ScheduleRow, fields: tuple[dict, ...], editor: bool) -> None:
    contact = " · ".join(c for c in (phones.display(row.customer_phone), row.customer_email) if c)
    flags = f" · :orange[{', '.join(row.flags)}]" if row.flags else ""
    st.markdown(f"**{plain(row.customer_name)}** {plain(contact)} — **{row.status_label}**{flags}")
    whole = row.appointment_id in st.session_state.get(MORE, ())
    long = False
    if row.intake_answers:
        labels = {f["name"]: f.get("label") or f["name"] for f in fields}
        answers = " · ".join(f"{asked(labels.get(k, k))} {v}" for k, v in row.intake_answers.items())
        cut = clamp(answers)
        long = cut is not None
        st.caption(f"Intake: {plain(answers if whole or cut is None else cut)}")
    if not row.intake_complete and fields:
        # Those who may fill it in are told what is missing (others may not see the answers).
        missing = [
            f.get("label") or f["name"] for f in fields if f.get("required") and f["name"] not in row.intake_answers
        ]
        st.caption(":orange[Intake missing]" + (f": {plain(', '.join(missing))}" if editor and missing else ""))
    elif not row.intake_complete and row.type_id in intake_reads.form_types():
        st.caption(":orange[Intake missing]: open Edit intake… to see what")
    if row.notes:
        cut = clamp(row.notes)
        long |= cut is not None
        st.caption(f"Notes: {plain(row.notes if whole or cut is None else cut)}")
    if long:  # a long note or intake is cut, so the action buttons stay in place
        st.button("Show less" if whole else "Show more", key=f"today_more_{row.appointment_id}", type="tertiary",
                  on_click=_toggle_more, args=(row.appointment_id,))  # fmt: skip


def _actions(actor: Actor, row: ScheduleRow, fields: tuple[dict, ...], editor: bool, now: datetime) -> None:
    actions = today_state.row_actions(actor, row, now)
    if editor and (fields or row.type_id in intake_reads.form_types()):
        actions.append(("intake", "Edit intake…"))
    for col, (action, label) in zip(st.columns(max(len(actions), 5)), actions, strict=False):
        key = f"act_{action.split('.')[-1]}_{row.appointment_id}"
        if action in QUICK_ACTIONS:
            col.button(label, key=key, width="stretch", on_click=_quick, args=(actor, action, row),
                       type="primary" if action == A.APPOINTMENT_CHECK_IN else "secondary")  # fmt: skip
        elif col.button(label, key=key, width="stretch"):
            today_state.open_dialog(DIALOG_ACTIONS.get(action, action), appointment_id=row.appointment_id)
    if later := today_state.row_not_yet(actor, row, now):  # no button missing without a word why
        st.caption(" · ".join(later))


def appointment_panel(actor: Actor, day_schedule: DaySchedule, show_cancelled: bool, now: datetime) -> None:
    rows = [r for r in day_schedule.rows if show_cancelled or r.status != "cancelled"]
    ids = [r.appointment_id for r in rows]
    state = st.session_state
    if state.get(SELECTED) is not None and state[SELECTED] not in ids:
        # Its appointment left the page (another day, cancelled while hidden, another location):
        # set, not dropped, so the browser's box is emptied too.
        state[SELECTED] = None
    labels = {r.appointment_id: f"{r.time_label} · {r.customer_name} · {r.type_name} · {r.provider_name}" for r in rows}
    current = state.get(SELECTED)
    if current in labels and state.get("today_selected_label") != labels[current]:
        state[SELECTED] = current  # moved or changed: send the browser the new label
    selected = st.selectbox("Appointment", ids, index=None, format_func=labels.get, key=SELECTED,
                            placeholder="Pick an appointment, or click it in the list or the timeline")  # fmt: skip
    state["today_selected_label"] = labels.get(selected)
    row = day_schedule.row(selected) if selected else None
    if row is not None:
        fields = today_state.intake_fields(actor, row.type_id)
        editor = can_act_on_appointment(actor, A.APPOINTMENT_NOTE, row.location_id, row.provider_id)
        _details(row, fields, editor)
        noshow_badge.badge(actor, row)
        _undo_line(actor, row, now, day_schedule.location.timezone)
        _actions(actor, row, fields, editor, now)
    frame = noshow_badge.with_risk(
        actor, day_schedule, schedule.schedule_frame(day_schedule, include_cancelled=show_cancelled)
    )
    state["today_table_ids"] = list(frame.index)
    # A new list is a new table: a row highlighted in the old one never points at another appointment.
    key = f"today_table_{hash(tuple(frame.index))}"
    widths = {"Time": 100, "Room": 90, "Status": 95, "Intake": 70, "Flags": 150}
    st.dataframe(frame, key=key, hide_index=True, width="stretch", on_select=lambda: _select_from_table(key),
                 selection_mode="single-row", height="content",  # every row in view: no scrolling inside
                 column_config={name: st.column_config.TextColumn(width=w) for name, w in widths.items()})  # fmt: skip
    where = {"location": day_schedule.location.name, "day": day_schedule.day.isoformat()}
    download_buttons(actor, frame, f"schedule-{where['location']}-{where['day']}", what="schedule", filters=where)


def asked(label: str) -> str:
    """An intake question as a lead-in: 'Allergies:' but 'Follow up on?' (never '?:')."""
    label = label.strip()
    return label if label.endswith(("?", ":")) else f"{label}:"
