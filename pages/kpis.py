"""Weekly KPIs: cards against the previous period, a 12-week trend, breakdowns by location,
provider and type, and the appointments behind a figure, each table downloadable."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from core.base.errors import DomainError
from core.metrics.drill import FIGURES
from core.security.access import A
from pages import kpi_inquiries, noshow_panels, ui
from pages import metrics_view as mv
from pages.downloads import download_buttons
from pages.safe import plain
from pages.today_state import scope_key

actor = ui.require_page(A.METRICS_VIEW)
st.title("Weekly KPIs")
window, filters, found = mv.filter_bar(actor, "kpi", mv.default_week(actor))
scope = scope_key(actor)
version = mv.current_version()
try:
    data = mv.dashboard(actor, scope, window, filters, version)
except DomainError as exc:
    st.error(plain(exc), icon=":material/error:")
    st.stop()
cur, prev = data["current"], data["previous"]
which = mv.which_week(window)
st.caption(
    (f"Showing {which}: " if which else "")
    + f"{mv.window_label(window)}, compared with {mv.window_label(window.previous())}."
    " Each appointment counts on its local date of start at its location."
)

if cur["appointments"] == 0 and not cur["minutes"]["available"]:
    st.info("No appointments and no working hours in this window for these filters. Pick other dates or filters.")
    st.stop()

HELP = {
    "lead_time_p90_days": "Days from booking to the visit that 90% of appointments stay within.",
    "admin_touch_per_100": "Staff interventions (reschedules, edits, notes, resolved queue items) per 100 appointments.",
}
counts, minutes = cur["counts"], cur["minutes"]
# What each rate divides, under its card: the drill-down lists the numerator's appointments.
OUT_OF = {
    "no_show_rate": f"{counts['no_show']:,} of {counts['completed'] + counts['no_show']:,} completed or no-show",
    "late_cancel_rate": f"{counts['late_cancel']:,} of {cur['appointments']:,} appointments",
    "reschedule_rate": f"{counts['rescheduled']:,} of {cur['appointments']:,} appointments",
    "utilization": f"{minutes['booked']:,} of {minutes['available']:,} available min booked",
}
if counts["inquiries"] is not None:
    OUT_OF["conversion_rate"] = f"{counts['converted_inquiries']:,} of {counts['inquiries']:,} inquiries"
CARDS = [
    ("Appointments", "appointments", False, "normal"),
    ("No-show rate", "no_show_rate", True, "inverse"),
    ("Late-cancel rate", "late_cancel_rate", True, "inverse"),
    ("Reschedule rate", "reschedule_rate", True, "inverse"),
    ("Utilization", "utilization", True, "normal"),
    ("Lead time median, days", "lead_time_median_days", False, "off"),
    ("Lead time p90, days", "lead_time_p90_days", False, "off"),
    ("Inquiry conversion", "conversion_rate", True, "normal"),
    ("Admin touch per 100", "admin_touch_per_100", False, "inverse"),
]
for row in (CARDS[:5], CARDS[5:]):
    for col, (label, key, percent, colour) in zip(st.columns(5), row, strict=False):
        value = mv.pct(cur[key]) if percent else mv.num(cur[key])
        col.metric(label, value, mv.delta(cur[key], prev[key], percent=percent), delta_color=colour, border=True,
                   help=HELP.get(key))  # fmt: skip
        if key in OUT_OF:
            col.caption(OUT_OF[key])
if mv.over_full(cur["utilization"]):
    st.warning(mv.OVER_FULL, icon=":material/info:")
leak, out = cur["capacity_leak"], cur["outside_hours"]
st.caption(
    "Capacity leak (available minutes that did not become visits): "
    f"{mv.pct(leak['unbooked'])} of available minutes unbooked, {mv.pct(leak['no_show'])} lost to "
    f"no-shows, {mv.pct(leak['late_cancel'])} to late cancellations."
    + (f" {out['appointments']} appointments ({out['minutes']} min) fell on days without working hours." if out["appointments"] else "")
)  # fmt: skip

st.subheader("Last 12 weeks")
trend: pd.DataFrame = data["trend"]
SERIES = [("Appointments", "appointments", False), ("No-show rate", "no_show_rate", True),
          ("Utilization", "utilization", True), ("Late-cancel rate", "late_cancel_rate", True),
          ("Lead time median (days)", "lead_time_median_days", False), ("Inquiry conversion", "conversion_rate", True)]  # fmt: skip
fig = make_subplots(rows=2, cols=3, subplot_titles=[s[0] for s in SERIES], vertical_spacing=0.18)
for i, (label, key, percent) in enumerate(SERIES):
    fig.add_trace(
        go.Scatter(x=trend["week"], y=trend[key], mode="lines+markers", name=label, showlegend=False),
        row=i // 3 + 1, col=i % 3 + 1,
    )  # fmt: skip
    if percent:
        fig.update_yaxes(tickformat=".0%", row=i // 3 + 1, col=i % 3 + 1)
fig.update_layout(height=460, margin={"l": 10, "r": 10, "t": 40, "b": 10})
st.plotly_chart(fig, width="stretch", key="kpi_trend")

st.subheader("Breakdown")
RATE_COLUMNS = ["no_show_rate", "late_cancel_rate", "reschedule_rate", "utilization", "conversion_rate",
                "leak_unbooked", "leak_no_show", "leak_late_cancel"]  # fmt: skip
for tab, by in zip(st.tabs(["By location", "By provider", "By type"]), ("location", "provider", "type"), strict=True):
    with tab:
        table = mv.breakdown(actor, scope, window, by, filters, version)
        if table.empty:
            st.info("Nothing to break down in this window.")
            continue
        table = table.copy()
        table[by] = [found[by].get(k, "(none)") for k in table[by]]
        shown = table.rename(columns=lambda c: c.replace("_", " "))
        config = {c.replace("_", " "): st.column_config.NumberColumn(format="percent") for c in RATE_COLUMNS}
        st.dataframe(shown, hide_index=True, width="stretch", column_config=config)
        download_buttons(actor, table, f"kpis-by-{by}-{window.first}", what=f"metrics.kpis_by_{by}")

kpi_inquiries.conversion_section(actor, window, filters)
noshow_panels.section(actor, scope, window, filters, version)

st.subheader("Appointments behind a figure")
DRILL_LABELS = {"id": "Appointment", "start": "Starts", "location": "Location", "provider": "Provider", "type": "Type",
                "status": "Status", "late_cancel": "Late cancellation", "reschedules": "Times rescheduled",
                "lead_days": "Booked days ahead"}  # fmt: skip
figure = st.selectbox("Figure", list(FIGURES), format_func=lambda f: FIGURES[f].capitalize(), key="kpi_drill")
rows = mv.behind(actor, scope, window, figure, filters, version)
if rows.empty:
    st.info(f"No appointments: {FIGURES[figure]} in this window.")
else:
    rows = rows.rename(columns=DRILL_LABELS)
    st.dataframe(rows, hide_index=True, width="stretch", height=300)
    download_buttons(actor, rows, f"appointments-{figure}-{window.first}", what="metrics.drill")
summary = pd.DataFrame(
    [{"kpi": key, "this period": cur[key], "previous period": prev[key]} for _, key, _, _ in CARDS]
    + [{"kpi": f"capacity leak {k}", "this period": v, "previous period": prev["capacity_leak"][k]} for k, v in leak.items()]
)  # fmt: skip
with st.expander("Download the KPI summary"):
    download_buttons(actor, summary, f"kpis-{window.first}", what="metrics.kpis")
