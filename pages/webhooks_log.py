"""The delivery log on the Webhooks page: filters, the deliveries, one delivery's payload and
attempts, and replays (one, or every failed one of an endpoint in a time range), each confirmed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import pandas as pd
import streamlit as st

from core.base.clock import utcnow
from core.security.access import Actor
from core.webhooks import log
from core.webhooks.endpoints import EndpointView
from core.webhooks.models import DELIVERY_STATUSES
from core.webhooks.payloads import EVENT_TYPES
from pages.safe import plain
from pages.settings_common import run

ANY = "Any"


def _frame(rows: list[log.DeliveryView]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "ID": d.id, "Endpoint": d.endpoint_id, "Event": d.event_type, "Appointment": d.appointment_id,
                "Status": d.status, "Attempts": d.attempts, "Last answer": d.last_status_code,
                "Created (UTC)": d.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                "Next try (UTC)": d.next_attempt_at.strftime("%Y-%m-%d %H:%M") if d.status == "pending" else "",
                "Last error": d.last_error or "",
            }
            for d in rows
        ]
    )  # fmt: skip


def _detail(actor: Actor, delivery_id: int) -> None:
    detail = log.delivery(actor, delivery_id)
    d = detail.delivery
    st.markdown(f"**Delivery {d.id}** · {plain(d.webhook_id)} · {d.event_type} · {d.status} · to {plain(detail.url)}")
    st.json(json.loads(detail.body), expanded=False)
    if detail.attempts:
        st.dataframe(
            pd.DataFrame(
                [
                    {"#": a.number, "At (UTC)": a.started_at.strftime("%Y-%m-%d %H:%M:%S"), "Outcome": a.outcome,
                     "Status": a.status_code, "Latency (ms)": a.latency_ms, "Answer (first 2 KB)": a.response_excerpt,
                     "Error": a.error}
                    for a in detail.attempts
                ]
            ),
            hide_index=True, width="stretch",
        )  # fmt: skip
    else:
        st.caption("Not tried yet.")
    if d.status in log.REPLAYABLE and st.button("Replay this delivery…", key=f"replay_{d.id}"):
        st.session_state["replay_one"] = d.id


@st.dialog("Replay")
def _confirm(question: str, action, success) -> None:
    st.write(question)
    yes, no = st.columns(2)
    if yes.button("Replay", type="primary", width="stretch"):
        st.session_state.pop("replay_one", None)
        st.session_state.pop("replay_range", None)
        run(action, success)
    if no.button("Cancel", width="stretch"):
        st.session_state.pop("replay_one", None)
        st.session_state.pop("replay_range", None)
        st.rerun()


def section(actor: Actor, endpoints: list[EndpointView]) -> None:
    st.subheader("Delivery log")
    if not endpoints:
        st.caption("Deliveries appear here once an endpoint exists and something happens to an appointment.")
        return
    names = {e.id: f"#{e.id} {e.description or e.url}" for e in endpoints}
    c1, c2, c3, c4 = st.columns(4)
    endpoint_id = c1.selectbox("Endpoint", [None, *names], format_func=lambda i: ANY if i is None else names[i])
    status = c2.selectbox("Status", [ANY, *DELIVERY_STATUSES])
    event = c3.selectbox("Event", [ANY, *EVENT_TYPES])
    days = c4.selectbox("Created in the last", [1, 7, 30], index=1, format_func=lambda n: f"{n} days")
    rows = log.deliveries(
        actor, endpoint_id=endpoint_id, status=None if status == ANY else status,
        event_type=None if event == ANY else event, since=utcnow() - timedelta(days=days),
    )  # fmt: skip
    if not rows:
        st.info("No deliveries match these filters.")
    else:
        st.dataframe(_frame(rows), hide_index=True, width="stretch")
        st.download_button("Download CSV", log.deliveries_csv(rows), "webhook-deliveries.csv", "text/csv")
        picked = st.selectbox("Show delivery", [d.id for d in rows], format_func=lambda i: f"#{i}")
        _detail(actor, picked)
        if (one := st.session_state.get("replay_one")) is not None:
            _confirm(
                f"Send delivery #{one} again, with the same webhook-id and body? A receiver that already "
                "processed it will ignore the copy.",
                lambda: log.replay(actor, one), f"Delivery {one} will be sent again within seconds.",
            )  # fmt: skip

    with st.expander("Replay failed deliveries in a time range", icon=":material/replay:"):
        c1, c2, c3 = st.columns(3)
        target = c1.selectbox("Endpoint ", list(names), format_func=names.get, key="replay_endpoint")
        first = c2.date_input("From (UTC)", utcnow().date() - timedelta(days=1), key="replay_from")
        last = c3.date_input("To (UTC, inclusive)", utcnow().date(), key="replay_to")
        if st.button("Replay failed…", key="replay_range_button"):
            st.session_state["replay_range"] = (target, first, last)
    if (wanted := st.session_state.get("replay_range")) is not None:
        target, first, last = wanted
        since = datetime.combine(first, time(0), tzinfo=UTC)
        until = datetime.combine(last + timedelta(days=1), time(0), tzinfo=UTC)
        _confirm(
            f"Send again every exhausted delivery of {names[target]} created {first} to {last} (UTC)?",
            lambda: log.replay_failed(actor, target, since, until),
            lambda n: f"{n} failed deliveries will be sent again within seconds.",
        )
