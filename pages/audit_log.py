"""Audit log: every change and every refused attempt, newest first, with filters and CSV export."""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import streamlit as st

from core.base.db import utcnow
from core.base.errors import DomainError
from core.reports import audit_log
from core.security.access import A
from pages import ui
from pages.downloads import download_buttons
from pages.safe import plain

actor = ui.require_page(A.AUDIT_VIEW)
st.title("Audit log")
st.caption(
    "Every change and every refused attempt, newest first. Times are UTC. "
    "Entries cannot be edited or deleted: the database refuses it."
)

options = audit_log.filter_options(actor)
ANY = None


def menu(column, label: str, values: list[str], key: str):
    return column.selectbox(label, [ANY, *values], format_func=lambda v: "All" if v is None else v, key=key)


today = utcnow().date()
user_col, action_col, entity_col, outcome_col, dates_col = st.columns([1, 1, 1, 1, 1.4])
username = menu(user_col, "User", options["user"], "audit_user")
action = menu(action_col, "Action", options["action"], "audit_action")
entity = menu(entity_col, "Entity", options["entity"], "audit_entity")
outcome = outcome_col.selectbox(
    "Outcome", [ANY, "ok", "denied"], key="audit_outcome",
    format_func=lambda v: {None: "All", "ok": "Done", "denied": "Refused"}[v],
)  # fmt: skip
dates = dates_col.date_input("Dates (UTC)", value=(today - timedelta(days=30), today), key="audit_dates")
date_from, date_to = (tuple(dates) + (None, None))[:2] if isinstance(dates, tuple | list) else (dates, dates)
filters = audit_log.AuditFilter(username, action, entity, outcome, date_from, date_to or date_from)

try:
    rows, total = audit_log.search(actor, filters)
except DomainError as exc:
    st.error(plain(exc), icon=":material/error:")
    st.stop()

if not total:
    st.info("No audit entries match these filters. Widen the dates or set a filter back to All.")
    st.stop()


def compact(value) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


table = pd.DataFrame(
    [
        {
            "Time (UTC)": r["at_utc"].strftime("%Y-%m-%d %H:%M:%S"),
            "User": r["user"] or "—",
            "Role": r["role"] or "",
            "Action": r["action"],
            "Outcome": "Refused" if r["outcome"] == "denied" else "Done",
            "Entity": " ".join(str(v) for v in (r["entity"], r["entity_name"] or r["entity_id"]) if v),
            "Location": r["location"] or "",
            "Before": compact(r["before"]),
            "After": compact(r["after"]),
            "Reason": r["reason"] or "",
        }
        for r in rows
    ]
)
shown = f"the newest {len(rows)} of {total}" if total > len(rows) else f"all {total}"
summary, download = st.columns([3, 1], vertical_alignment="center")
summary.caption(
    f"Showing {shown} matching entries. Download CSV has every matching entry; the buttons below, the rows shown."
)
download.download_button(
    f"Download CSV ({total} rows)",
    data=lambda: audit_log.export_csv(actor, filters),  # built on click, and the export is audited
    file_name=f"audit-log-{today.isoformat()}.csv",
    mime="text/csv",
    icon=":material/download:",
    on_click="ignore",
    width="stretch",
)
st.dataframe(table, hide_index=True, height=min(38 + 35 * len(table), 640))
download_buttons(actor, table, f"audit-log-shown-{today.isoformat()}", what="audit_log")
