"""Calendar sync: each provider's Google Calendar connection, what is waiting to go out, what
needs a person, and "Sync now"."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.base.clock import utcnow
from core.base.errors import DomainError
from core.calendar_sync import status
from core.security.access import A
from pages import kit, ui
from pages.downloads import download_buttons
from pages.safe import chart_text, plain

actor = ui.require_page(A.CALENDAR_MANAGE)
st.title("Calendar sync")
st.caption(
    "Appointments go to each provider's Google Calendar; their other Google events come back as busy "
    "time. The worker syncs every few minutes; changes made in Google to our events wait in the queue."
)
kit.show()

configured = status.configured()
if not configured:
    st.info(
        "Google Calendar is not connected yet: nothing is sent or read. An administrator sets "
        "GOOGLE_CREDENTIALS_FILE as described in docs/google-calendar.md; until then bookings are "
        "queued here and go out on the first sync.",
        icon=":material/link_off:",
    )

rows = status.calendar_status(actor, now=utcnow())
if not rows:
    st.info("No active providers yet: add providers in Settings, then connect their calendars here.")
    st.stop()

STATUS_LABEL = {"ok": "OK", "error": "Failing", "disconnected": "Disconnected", "never synced": "Not synced yet"}
frame = pd.DataFrame(
    [
        {
            "Provider": r.provider,
            "Status": STATUS_LABEL.get(r.status, r.status) + (" (syncing now)" if r.syncing_now else ""),
            "Last success (UTC)": r.last_success.strftime("%Y-%m-%d %H:%M") if r.last_success else "never",
            "Pending pushes": r.pending_pushes,
            "Open conflicts": r.open_conflicts,
            "Busy blocks": r.busy_blocks,
            "Failed passes in a row": r.failures,
            "Last error": r.last_error or "",
            "Calendar": r.calendar_id,
        }
        for r in rows
    ]
)

failing = sum(r.status == "error" for r in rows)
c1, c2, c3, c4 = st.columns(4)
c1.metric("Calendars connected", sum(r.status != "disconnected" for r in rows), border=True)
c2.metric("Pending pushes", int(frame["Pending pushes"].sum()), border=True)
c3.metric("Open conflicts", int(frame["Open conflicts"].sum()), border=True)
c4.metric("Failing", failing, border=True)

st.dataframe(
    frame,
    hide_index=True,
    width="stretch",
    column_config={"Last error": st.column_config.TextColumn(width="large")},
)
download_buttons(actor, frame, "calendar-sync-status", what="calendar sync status")

waiting = frame[(frame["Pending pushes"] > 0) | (frame["Open conflicts"] > 0)]
if not waiting.empty:
    names = [chart_text(name) for name in waiting["Provider"]]
    fig = go.Figure(
        [
            go.Bar(name="Pending pushes", y=names, x=list(waiting["Pending pushes"]), orientation="h"),
            go.Bar(name="Open conflicts", y=names, x=list(waiting["Open conflicts"]), orientation="h"),
        ]
    )
    fig.update_layout(
        barmode="group", height=150 + 40 * len(waiting), margin={"l": 10, "r": 10, "t": 40, "b": 40},
        title="Waiting per provider", legend={"orientation": "h", "y": -0.3, "x": 0},
        xaxis={"tickformat": ",d", "rangemode": "tozero", "dtick": max(1, int(waiting[["Pending pushes", "Open conflicts"]].max().max()) // 5)},
    )  # fmt: skip
    st.plotly_chart(fig, width="stretch")
    st.caption("Open conflicts (events moved or deleted in Google) are fixed from the exceptions queue.")

st.subheader("Sync now")
names = {r.provider: r for r in rows if r.status != "disconnected"}
left, right = st.columns([3, 1])
choice = left.selectbox("Calendars", ["All connected calendars", *names], key="sync_choice")
full = right.checkbox("Full pass", help="List every event again instead of only the changes.", key="sync_full")
if st.button("Sync now", type="primary", icon=":material/sync:", disabled=not configured or not names):
    bar = st.progress(0.0, text="Starting…")

    def progress(done: int, total: int, label: str) -> None:
        bar.progress(done / total if total else 1.0, text=f"{done}/{total} {label}")

    email = None if choice == "All connected calendars" else names[choice].calendar_id
    try:
        summary = status.sync_now(actor, provider_email=email, full=full, progress=progress)
    except DomainError as exc:
        st.error(plain(exc), icon=":material/error:")
    else:
        kit.say(summary.line() + ("" if not summary.failures else " — failed: " + "; ".join(summary.failures)),
                 "warning" if summary.failures else "success")  # fmt: skip
        st.rerun()

st.subheader("Connect or disconnect")
by_name = {r.provider: r for r in rows}
who = st.selectbox("Provider", list(by_name), key="connect_choice")
picked = by_name[who]
if picked.status == "disconnected":
    if st.button(f"Connect {who}'s calendar", icon=":material/link:"):
        kit.act(lambda: status.set_connected(actor, picked.provider_id, True),
                f"{who}'s calendar is connected; the next sync lists it in full.", page=None, inline=True, rerun=True)  # fmt: skip
elif st.button(f"Disconnect {who}'s calendar…", icon=":material/link_off:"):
    st.session_state["disconnect_provider"] = picked.provider_id


@st.dialog("Disconnect calendar")
def confirm_disconnect(row: status.CalendarStatus) -> None:
    st.write(
        f"Stop syncing **{row.calendar_id}**? Events already in Google stay there; new bookings "
        "are queued and go out if you connect it again."
    )
    left, right = st.columns(2)
    if left.button("Disconnect", type="primary", width="stretch"):
        st.session_state.pop("disconnect_provider", None)
        kit.act(lambda: status.set_connected(actor, row.provider_id, False),
                f"{row.provider}'s calendar is disconnected.", page=None, inline=True, rerun=True)  # fmt: skip
    if right.button("Cancel", width="stretch"):
        st.session_state.pop("disconnect_provider", None)
        st.rerun()


if st.session_state.get("disconnect_provider") == picked.provider_id and picked.status != "disconnected":
    confirm_disconnect(picked)
