"""Utilization explorer: when in the week a location has capacity and how much of it is used,
utilization over time by location, provider or type, and where capacity leaks away."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core.base.errors import DomainError
from core.metrics.utilization import THIN_MIN_PER_WEEK, thin_below
from core.security.access import A
from pages import metrics_view as mv
from pages import ui
from pages.downloads import download_buttons
from pages.safe import chart_text, plain
from pages.today_state import scope_key

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

actor = ui.require_page(A.METRICS_VIEW)
st.title("Utilization")
window, filters, found = mv.filter_bar(actor, "util", mv.default_weeks(actor), any_location=False)
scope = scope_key(actor)
version = mv.current_version()
st.caption(
    f"{mv.window_label(window)}. Utilization = booked minutes / available minutes (working hours minus time off, "
    "local time); a group class's minutes are shared by its places, so a full class holds its slot once. "
    "Appointments on days without working hours are left out and counted apart."
)
if filters.location_id is None:
    st.info("You have no locations to look at yet. Ask an admin to add you to a location.")
    st.stop()

try:
    heat = mv.heatmap(actor, scope, window, filters.location_id, filters.provider_id, version)
    providers = mv.breakdown(actor, scope, window, "provider", filters, version)
except DomainError as exc:
    st.error(plain(exc), icon=":material/error:")
    st.stop()

st.subheader(f"When the week is used: {plain(found['location'][filters.location_id])}")
if heat.empty or not heat["available_min"].sum():
    st.info("No working hours at this location in these dates, so there is no capacity to measure.")
else:
    hours = list(range(int(heat["hour"].min()), int(heat["hour"].max()) + 1))

    def cells(frame: pd.DataFrame, values: str) -> pd.DataFrame:
        grid = frame.pivot_table(index="weekday", columns="hour", values=values, aggfunc="sum")
        return grid.reindex(index=range(7), columns=hours)

    avail = (cells(heat, "available_min").fillna(0).values / 60).round(1)
    x = [f"{h:02d}:00" for h in hours]
    fig = go.Figure(
        [go.Heatmap(z=cells(heat[~heat["thin"]], "utilization").values, x=x, y=WEEKDAYS, colorscale="Blues", zmin=0,
                    zmax=1, customdata=avail, colorbar={"tickformat": ".0%", "title": "used"}, hoverongaps=False,
                    hovertemplate="%{y} %{x}: %{z:.0%} of %{customdata} available hours<extra></extra>"),
         go.Heatmap(z=cells(heat[heat["thin"]].assign(one=1), "one").values, x=x, y=WEEKDAYS, showscale=False,
                    colorscale=[[0, "#d4d4d4"], [1, "#d4d4d4"]], customdata=avail, hoverongaps=False,
                    hovertemplate="%{y} %{x}: only %{customdata} available hours, too little to read<extra></extra>")]
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=320, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    st.plotly_chart(fig, width="stretch", key="util_heatmap")
    st.caption(
        "Blank cells have no working hours. Darker = more of the available time booked. Grey cells have less than "
        f"{THIN_MIN_PER_WEEK} available minutes a week in these dates (under {thin_below(window) / 60:g} h in all): "
        "too little to read a rate from; their figures are in the table below."
    )
    if mv.over_full(heat["utilization"]):
        st.warning(mv.OVER_FULL, icon=":material/info:")

st.subheader("Utilization week by week")
by = st.segmented_control("By", ["provider", "location", "type"], default="provider", format_func=str.capitalize,
                          key="util_by") or "provider"  # fmt: skip
weekly = mv.over_time(actor, scope, window, by, filters, version)
if weekly.empty:
    st.info("No bookings or working hours in these dates for these filters.")
else:
    named = weekly.assign(**{by: [found[by].get(k, "(none)") for k in weekly[by]]})
    line = px.line(named.assign(**{by: named[by].map(chart_text)}), x="period", y="utilization", color=by, markers=True,
                   labels={"period": "week", "utilization": "utilization"})  # fmt: skip
    line.update_yaxes(tickformat=".0%")
    line.update_layout(height=360, margin={"l": 10, "r": 10, "t": 10, "b": 10}, legend={"title": by.capitalize()})
    st.plotly_chart(line, width="stretch", key="util_over_time")
    if mv.over_full(weekly["utilization"]):
        st.warning(mv.OVER_FULL, icon=":material/info:")
    download_buttons(actor, named, f"utilization-by-{by}-{window.first}", what=f"metrics.utilization_by_{by}")

st.subheader("Capacity leak by provider")
if providers.empty or "available_min" not in providers or not providers["available_min"].sum():
    st.info("No provider had working hours in these dates.")
else:
    leak = pd.DataFrame(
        {
            "provider": [found["provider"].get(k, "(none)") for k in providers["provider"]],
            "attended or booked": providers["attended_min"] / 60,
            "lost to no-shows": providers["no_show_min"] / 60,
            "lost to late cancels": providers["late_cancel_min"] / 60,
            "unbooked": providers["unbooked_min"] / 60,
        }
    ).sort_values("unbooked", ascending=False)
    long = leak.assign(provider=leak["provider"].map(chart_text)).melt(
        id_vars="provider", var_name="where the hours went", value_name="hours"
    )
    colours = {"attended or booked": "#4C78A8", "lost to no-shows": "#E45756", "lost to late cancels": "#F58518",
               "unbooked": "#BAB0AC"}  # fmt: skip
    bars = px.bar(long, y="provider", x="hours", color="where the hours went", orientation="h",
                  color_discrete_map=colours)  # fmt: skip
    bars.update_layout(height=max(260, 28 * len(leak) + 80), margin={"l": 10, "r": 10, "t": 10, "b": 10},
                       yaxis={"categoryorder": "array", "categoryarray": list(leak["provider"].map(chart_text))[::-1]})  # fmt: skip
    st.plotly_chart(bars, width="stretch", key="util_leak")
    worst = leak.sort_values("lost to no-shows", ascending=False).iloc[0]
    st.caption(
        f"Most unbooked: {plain(leak.iloc[0]['provider'])} ({leak.iloc[0]['unbooked']:.1f} h). No-shows cost most "
        f"at {plain(worst['provider'])} ({worst['lost to no-shows']:.1f} h)."
    )
    download_buttons(actor, leak.round(2), f"capacity-leak-{window.first}", what="metrics.capacity_leak")
HOUR_COLUMNS = {"weekday": "Day", "hour": "Hour", "available_min": "Available (min)", "booked_min": "Booked (min)",
                "thin": "Too little time to read"}  # fmt: skip
if not heat.empty:
    hours_table = heat.assign(weekday=[WEEKDAYS[d] for d in heat["weekday"]]).rename(
        columns=lambda c: HOUR_COLUMNS.get(c, c.replace("_", " ").capitalize())
    )
    with st.expander("Hour by hour (table)"):
        st.dataframe(hours_table, hide_index=True, width="stretch",
                     column_config={"Utilization": st.column_config.NumberColumn(format="percent")})  # fmt: skip
        download_buttons(actor, hours_table, f"utilization-hours-{window.first}", what="metrics.utilization_hours")
