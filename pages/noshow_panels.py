"""The KPI page's no-show section: expected no-shows per week against what happened (can the
risk score be trusted?), and the trends (hour x weekday, lead time, reminders, new or returning),
each figure with the number behind it and a flag where it rests on fewer than 30. Reads only:
core.noshow.trends never loads scikit-learn."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.metrics.definitions import Window
from core.metrics.sources import Filters
from core.noshow import reads, trends
from core.security.access import Actor
from pages.downloads import download_buttons

TTL = 600
FEW_NOTE = f"under {trends.FEW}: too few to read"


@st.cache_data(ttl=TTL, show_spinner="Computing no-show trends...")
def _trends(_actor: Actor, scope: tuple, window: Window, location_id: int | None, version: tuple) -> trends.Trends:
    return trends.trends(_actor, window.first, window.last, location_id=location_id)


@st.cache_data(ttl=TTL, show_spinner=False)
def _expected(_actor: Actor, scope: tuple, window: Window, location_id: int | None, version: tuple) -> pd.DataFrame:
    return trends.expected_by_week(_actor, window.last, location_id=location_id)


def _pct(v) -> str:
    return "—" if v is None or pd.isna(v) else f"{v:.1%}"


def _table(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    return pd.DataFrame({
        key: frame[key].astype(str), "appointments": frame["appointments"], "finished": frame["finished"],
        "no-show rate": [_pct(v) for v in frame["no_show_rate"]], "late-cancel rate": [_pct(v) for v in frame["late_cancel_rate"]],
        "note": [FEW_NOTE if few else "" for few in frame["few"]],
    })  # fmt: skip


def _heatmap(heat: pd.DataFrame) -> None:
    if heat.empty:
        st.info("No finished appointments in these weeks.")
        return
    rates = heat.pivot(index="weekday", columns="hour", values="no_show_rate").reindex(list(trends.WEEKDAYS))
    counts = heat.pivot(index="weekday", columns="hour", values="finished").reindex(list(trends.WEEKDAYS))
    shown = rates.where(counts >= trends.FEW)  # a cell under 30 is left blank, its n still on hover
    text = [[f"{r:.0%}" if pd.notna(r) else "" for r in row] for row in shown.to_numpy()]
    hover = [[f"{d} {h}:00 · {int(n) if pd.notna(n) else 0} finished · {_pct(r)}" for h, n, r in zip(rates.columns, nr, rr, strict=True)]
             for d, nr, rr in zip(rates.index, counts.to_numpy(), rates.to_numpy(), strict=True)]  # fmt: skip
    fig = go.Figure(go.Heatmap(z=shown.to_numpy(), x=[f"{h}:00" for h in rates.columns], y=list(rates.index),
                               text=text, texttemplate="%{text}", hovertext=hover, hoverinfo="text",
                               colorscale="Reds", zmin=0, colorbar={"tickformat": ".0%"}))  # fmt: skip
    fig.update_layout(height=300, margin={"l": 10, "r": 10, "t": 10, "b": 10}, yaxis={"autorange": "reversed"})
    st.plotly_chart(fig, width="stretch", key="noshow_heatmap")
    st.caption(f"No-show rate by local hour of start and weekday; blank cells rest on fewer than {trends.FEW}.")


def section(actor: Actor, scope: tuple, window: Window, filters: Filters, version: tuple) -> None:
    st.subheader("No-shows: expected and trends")
    if why := reads.why_none():
        st.caption(f"Risk score: {why}")
    expected = _expected(actor, scope, window, filters.location_id, version)
    if expected.empty:
        st.caption(
            "Expected no-shows: no scored appointment has finished yet; scores are kept from the day they are made."
        )
    else:
        fig = go.Figure([go.Bar(x=expected["week"], y=expected["expected"], name="expected"),
                         go.Bar(x=expected["week"], y=expected["happened"], name="happened")])  # fmt: skip
        fig.update_layout(barmode="group", height=260, margin={"l": 10, "r": 10, "t": 10, "b": 10})
        st.plotly_chart(fig, width="stretch", key="noshow_expected")
        st.caption("Expected = the sum of the stored risks of the week's scored appointments that finished; "
                   "happened = their no-shows. Close bars week after week: the score can be trusted.")  # fmt: skip
    t = _trends(actor, scope, window, filters.location_id, version)
    st.caption(f"Trends over {t.first} to {t.last} (at least twelve weeks, to the window's last day).")
    _heatmap(t.heatmap)
    if t.by_reminder is not None:
        w, wo = t.by_reminder.with_reminder, t.by_reminder.without_reminder
        if w.no_show + w.completed == 0:
            st.markdown(f"**No reminder was sent** for these weeks' {wo.no_show + wo.completed:,} finished appointments "
                        f"({_pct(wo.rate)} no-shows): nothing to compare yet.")  # fmt: skip
        else:
            st.markdown(f"**With a reminder sent:** {_pct(w.rate)} no-shows of {w.no_show + w.completed:,} finished · "
                        f"**without:** {_pct(wo.rate)} of {wo.no_show + wo.completed:,}")  # fmt: skip
    tabs = st.tabs([name.capitalize() for name in t.tables])
    for tab, (name, frame) in zip(tabs, t.tables.items(), strict=True):
        with tab:
            table = _table(frame, name)
            st.dataframe(table, hide_index=True, width="stretch")
            download_buttons(
                actor, table, f"no-shows-by-{name.replace(' ', '-')}-{t.last}", what="metrics.noshow_trends"
            )
