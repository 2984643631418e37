"""Audit log: every change and every refused attempt, newest first, with filters and CSV export."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from core.base.clock import utcnow
from core.base.errors import DomainError
from core.reports import audit_log
from core.security.access import A
from pages import ui
from pages.downloads import download_buttons
from pages.safe import plain

actor = ui.require_page(A.AUDIT_VIEW)
st.title("Audit log")
st.caption(
    "Every change and every refused attempt, newest first, with the names of what each one is about beside "
    "its ids. Entries cannot be edited or deleted: the database refuses it."
)

options = audit_log.filter_options(actor)
ANY = None


def menu(column, label: str, values: list[str], key: str):
    return column.selectbox(label, [ANY, *values], format_func=lambda v: "All" if v is None else v, key=key)


today = utcnow().date()
own_zone, zones = audit_log.time_zones(actor)
user_col, action_col, entity_col, outcome_col, dates_col, zone_col = st.columns([1, 1, 1, 1, 1.4, 1.2])
username = menu(user_col, "User", options["user"], "audit_user")
action = menu(action_col, "Action", options["action"], "audit_action")
entity = menu(entity_col, "Entity", options["entity"], "audit_entity")
outcome = outcome_col.selectbox(
    "Outcome", [ANY, "ok", "denied"], key="audit_outcome",
    format_func=lambda v: {None: "All", "ok": "Done", "denied": "Refused"}[v],
)  # fmt: skip
dates = dates_col.date_input("Dates (UTC)", value=(today - timedelta(days=30), today), key="audit_dates")
zone = zone_col.selectbox(
    "Times in", zones, index=zones.index(own_zone), key="audit_zone", help="Your location's time zone unless you pick another."
)  # fmt: skip
date_from, date_to = (tuple(dates) + (None, None))[:2] if isinstance(dates, tuple | list) else (dates, dates)
filters = audit_log.AuditFilter(username, action, entity, outcome, date_from, date_to or date_from)

try:
    rows, total = audit_log.search(actor, filters, zone=zone)
except DomainError as exc:
    st.error(plain(exc), icon=":material/error:")
    st.stop()

if not total:
    st.info("No audit entries match these filters. Widen the dates or set a filter back to All.")
    st.stop()


def about(row: dict) -> str:
    """'appointment #23666 · Ada Lovelace · Consultation · Dr. Rao · Mon 7 Jan 2030 10:00'."""
    ident = f"#{row['entity_id']}" if row["entity_id"] else ""
    return " · ".join(p for p in (f"{row['entity'] or ''} {ident}".strip(), row["entity_name"]) if p)


LOCAL = f"Time ({zone})"
table = pd.DataFrame(
    [
        {
            LOCAL: r["at_local"].strftime("%Y-%m-%d %H:%M:%S"),
            "User": r["user"] or "—",
            "Role": r["role"] or "",
            "Action": r["action"],
            "Outcome": "Refused" if r["outcome"] == "denied" else "Done",
            "About": about(r),
            "Location": r["location"] or "",
            "Before": r["before_named"],
            "After": r["after_named"],
            "Reason": r["reason"] or "",
            "UTC": r["at_utc"].strftime("%Y-%m-%d %H:%M:%S"),
        }
        for r in rows
    ]
)
COLUMNS = {
    LOCAL: st.column_config.TextColumn(
        help=f"When it happened, in {zone}. The UTC time is in the last column and in the CSV (at_utc)."
    ),
    "About": st.column_config.TextColumn(help="What the entry is about: its kind and id, and the name a person knows."),
    "Before": st.column_config.TextColumn(
        width="large", help="Values before the change: names beside ids, times in the location's own zone."
    ),
    "After": st.column_config.TextColumn(width="large", help="Values after the change, read the same way."),
    "UTC": st.column_config.TextColumn(help="The same instant in UTC, as stored."),
}
shown = f"the newest {len(rows)} of {total}" if total > len(rows) else f"all {total}"
summary, download = st.columns([3, 1], vertical_alignment="center")
summary.caption(
    f"Showing {shown} matching entries. Download CSV has every matching entry; the buttons below, the rows shown."
)
download.download_button(
    f"Download CSV ({total} rows)",
    data=lambda: audit_log.export_csv(actor, filters, zone=zone),  # built on click, and the export is audited
    file_name=f"audit-log-{today.isoformat()}.csv",
    mime="text/csv",
    icon=":material/download:",
    on_click="ignore",
    width="stretch",
)
picked = st.dataframe(
    table, hide_index=True, height=min(38 + 35 * len(table), 640), column_config=COLUMNS,
    on_select="rerun", selection_mode="single-row", key="audit_table",
)  # fmt: skip
download_buttons(actor, table, f"audit-log-shown-{today.isoformat()}", what="audit_log")

if picked.selection.rows:  # the whole entry, readable without scrolling sideways
    r = rows[picked.selection.rows[0]]
    with st.container(border=True):
        st.markdown(f"**{plain(r['action'])}** · {plain(about(r))}")
        st.caption(
            plain(f"{r['at_local']:%Y-%m-%d %H:%M:%S} {zone} · {r['at_utc']:%Y-%m-%d %H:%M:%S} UTC · "
                  f"{r['user'] or '—'} ({r['role'] or 'no role'}) · {r['location'] or 'no location'}")
        )  # fmt: skip
        for label, value in (("Before", r["before_named"]), ("After", r["after_named"]), ("Reason", r["reason"])):
            if value:
                st.markdown(f"**{label}:** {plain(value)}")
else:
    st.caption("Pick a row to read the whole entry here.")
