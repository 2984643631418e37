"""Notifications: what goes out to customers and when (the outbox), resending what failed,
and each appointment type's wording and reminder times. Managers and admins."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import plotly.express as px
import streamlit as st

from core.base.clock import utcnow
from core.base.errors import DomainError
from core.base.tz import to_local
from core.notifications import admin, channels, template_admin
from core.notifications.models import KINDS
from core.notifications.templates import FIELDS, KIND_LABELS
from core.scheduling import schedule as schedule_reads
from core.scheduling.labels import day_label
from core.security.access import A
from pages import kit, ui
from pages.downloads import download_buttons
from pages.safe import plain

actor = ui.require_page(A.SETTINGS_MANAGE)
st.title("Notifications")
st.caption("Confirmations, reminders and follow-ups to customers. Times are the location's local time.")
kit.show()

for channel, line in channels.describe().items():
    icon = ":material/error:" if line.startswith("not sent") else ":material/check_circle:"
    st.caption(f"{icon} **{'Email' if channel == 'email' else 'SMS'}**: {line}")


def run(service, success: str, *args, **kwargs) -> None:
    """One service call for this admin (pages.kit.act): `success` after the rerun, otherwise
    the refusal's sentence here, where the button is."""
    kit.act(lambda: service(actor, *args, **kwargs), success, page=None, inline=True, rerun=True)


def local(when, tz: str | None) -> str:
    if when is None:
        return ""
    return (
        f"{day_label(to_local(when, tz))} {to_local(when, tz):%H:%M %Z}"
        if tz
        else f"{day_label(when)} {when:%H:%M} UTC"
    )


counts = admin.counts(actor)
TILES = [("due", "Due"), ("sent", "Sent"), ("failed", "Failed"), ("flagged", "Flagged for review"),
         ("not sent", "Not sent / skipped")]  # fmt: skip
for col, (view, label) in zip(st.columns(len(TILES)), TILES, strict=True):
    col.metric(label, f"{counts[view]:,}")

today = utcnow().date()
daily = admin.daily(actor, today - timedelta(days=7), today + timedelta(days=7))
if daily:
    frame = pd.DataFrame(daily, columns=["Day", "Outcome", "Messages"])
    colors = {"due": "#1f6feb", "sent": "#2da44e", "failed": "#cf222e", "flagged": "#d4a72c",
              "not sent": "#8c959f", "stopped": "#d0d7de"}  # fmt: skip
    fig = px.bar(frame, x="Day", y="Messages", color="Outcome", height=240, color_discrete_map=colors,
                 category_orders={"Outcome": list(colors)}, title="Messages by day due (UTC; last 7 days and next 7)")  # fmt: skip
    fig.update_layout(margin={"l": 0, "r": 0, "t": 40, "b": 0}, legend_title_text="")
    st.plotly_chart(fig, width="stretch")

outbox_tab, templates_tab, schedule_tab = st.tabs(["Outbox", "Templates", "Reminder times"])

with outbox_tab:
    left, right = st.columns([3, 2])
    view = left.segmented_control("Show", list(admin.VIEWS), default="due", key="outbox_view") or "due"
    search = right.text_input("Customer or address", key="outbox_search", placeholder="Search…")
    rows = admin.outbox(actor, view=view, search=search)
    if not rows:
        st.info(f"No {view} messages." + (" Messages appear here as appointments are booked." if view == "due" else ""))
    else:
        table = pd.DataFrame(
            [
                {
                    "#": r.id, "Due": local(r.due_at, r.timezone), "Status": r.status.replace("_", " "),
                    "Message": KIND_LABELS.get(r.kind, r.kind), "Channel": r.channel, "Customer": r.customer or "",
                    "To": r.recipient or "", "Appointment": local(r.appointment_start, r.timezone),
                    "Location": r.location or "", "Attempts": r.attempts, "Reason": r.reason or "",
                }
                for r in rows
            ]
        )  # fmt: skip
        st.dataframe(table, hide_index=True, width="stretch")
        download_buttons(actor, table, f"outbox-{view.replace(' ', '-')}", what="notification_outbox")
        by_id = {r.id: r for r in rows}
        pick = st.selectbox("Open a message", list(by_id), key="outbox_pick",
                            format_func=lambda i: f"#{i} · {by_id[i].customer} · {KIND_LABELS[by_id[i].kind]} "
                            f"by {by_id[i].channel} · {by_id[i].status.replace('_', ' ')}")  # fmt: skip
        r = by_id[pick]
        with st.container(border=True):
            if r.subject:
                st.markdown(f"**{plain(r.subject)}**")
            st.text(r.body or "(written when it is due: the wording and times are taken then)")
            st.caption(f"Key {plain(r.key)}" + (f" · {plain(r.reason)}" if r.reason else ""))
        if r.status in admin.RESENDABLE:
            if r.status == "flagged":
                st.warning("This message may already have arrived: its sending started but was never confirmed. "
                           "Check with the customer before sending it again.", icon=":material/warning:")  # fmt: skip
            sure = st.checkbox(f"Yes, send message #{r.id} again to {r.recipient or r.customer}", key=f"sure_{r.id}")
            if st.button("Resend", type="primary", disabled=not sure, icon=":material/send:"):
                run(admin.resend, f"Message #{r.id} is back in line; the next pass sends it.", r.id)

types = {t.id: t.name for t in schedule_reads.appointment_types(actor)}

with templates_tab:
    if not types:
        st.info("No appointment types yet.")
    else:
        c1, c2, c3 = st.columns([2, 2, 1])
        type_id = c1.selectbox("Appointment type", list(types), format_func=types.get, key="tpl_type")
        kind = c2.selectbox("Message", list(KINDS), format_func=KIND_LABELS.get, key="tpl_kind")
        channel = c3.radio("Channel", ["email", "sms"], horizontal=True, key="tpl_channel",
                           format_func=lambda c: "Email" if c == "email" else "SMS")  # fmt: skip
        current = template_admin.wording(actor, type_id, kind, channel)
        st.caption("Using the default wording." if current.is_default else "This type has its own wording.")
        key = f"{type_id}_{kind}_{channel}"
        with st.form(f"tpl_{key}"):
            subject = (
                st.text_input("Subject", value=current.subject or "", key=f"subj_{key}") if channel == "email" else None
            )
            body = st.text_area("Message", value=current.body, height=180, key=f"body_{key}")
            enabled = st.checkbox("Send this message for this type", value=current.enabled, key=f"on_{key}")
            save, show = st.columns(2)
            saved = save.form_submit_button("Save", type="primary", width="stretch")
            previewed = show.form_submit_button("Preview", width="stretch")
        if saved:
            run(template_admin.save_template, "Template saved.", type_id, kind, channel,
                subject=subject, body=body, enabled=enabled)  # fmt: skip
        with st.expander("Names you can use"):
            st.table(pd.DataFrame({"Name": [f"{{{{ {n} }}}}" for n in FIELDS], "Means": list(FIELDS.values())}))
        choices = dict(template_admin.preview_appointments(actor, type_id))
        if choices:
            appt_id = st.selectbox("Preview with", list(choices), format_func=choices.get, key="tpl_appt")
            try:
                p = template_admin.preview(actor, appt_id, kind, channel, subject=subject, body=body)
            except DomainError as exc:
                st.error(plain(exc), icon=":material/error:")
            else:
                with st.container(border=True):
                    st.caption(f"As {plain(p.appointment_label)} would get it")
                    if p.subject:
                        st.markdown(f"**{plain(p.subject)}**")
                    st.text(p.body)
        elif previewed:
            st.info("No appointments of this type in your locations to preview with yet.")
        if not current.is_default and st.button("Back to the default wording…"):
            st.session_state["confirm_reset"] = key
        if st.session_state.get("confirm_reset") == key:
            st.warning("Replace this type's own wording with the default?")
            yes, no = st.columns(2)
            if yes.button("Yes, use the default", type="primary"):
                st.session_state.pop("confirm_reset")
                run(template_admin.reset_template, "Back to the default wording.", type_id, kind, channel)
            if no.button("Keep it"):
                st.session_state.pop("confirm_reset")
                st.rerun()

with schedule_tab:
    if types:
        type_id = st.selectbox("Appointment type", list(types), format_func=types.get, key="sched_type")
        current = template_admin.schedule(actor, type_id)
        hours = ", ".join(f"{m / 60:g}" for m in current.reminder_offsets_min)
        with st.form(f"sched_{type_id}"):
            text = st.text_input("Reminders, in hours before the start (comma-separated)", value=hours,
                                 help="For example 48, 2. Applies to bookings from now on.")  # fmt: skip
            follow = st.number_input("Follow-up, hours after the visit is completed", min_value=0.0,
                                     max_value=336.0, value=current.follow_up_delay_min / 60, step=1.0)  # fmt: skip
            if st.form_submit_button("Save", type="primary"):
                try:
                    values = [float(x) for x in text.replace(";", ",").split(",") if x.strip()]
                except ValueError:
                    st.error(f"'{plain(text)}' is not a list of hours such as 48, 2.")
                else:
                    run(template_admin.save_schedule, "Reminder times saved.", type_id, reminder_hours=values,
                        follow_up_hours=follow)  # fmt: skip
        st.caption("Default: 48 and 2 hours before; follow-up 3 hours after." if current.is_default else "")
