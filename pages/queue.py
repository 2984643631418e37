"""The exceptions queue: everything that needs a person, most urgent first, each with the action
that fixes it. The front desk opens it first thing and leaves it empty."""

from __future__ import annotations

import streamlit as st

from core.base.clock import utcnow
from core.base.errors import DomainError
from core.queue import kinds, reads
from core.scheduling import schedule
from core.security.access import A, can
from pages import inquiry_dialogs, kit, queue_dialogs, queue_parts
from pages.downloads import download_buttons
from pages.safe import plain
from pages.ui import require_page

PAGE_SIZE = 25
AGES = {"Any age": None, "Older than 1 hour": 1, "Older than a day": 24, "Older than 3 days": 72}
SHOW = {"Open": "open", "Snoozed": "snoozed", "Resolved": "resolved"}

actor = require_page(A.QUEUE_VIEW)
now = utcnow()
visible = schedule.visible_locations(actor)
title_col, record_col = st.columns([5, 1.2], vertical_alignment="bottom")
title_col.title("Exceptions queue")
with record_col:  # a call coming in while the desk works the queue: the chosen location first
    first = st.session_state.get("queue_location") or getattr(schedule.default_location(actor, visible), "id", None)
    inquiry_dialogs.queue_record_button(actor, sorted(visible, key=lambda loc: loc.id != first))
kit.show(queue_dialogs.PAGE)
queue_dialogs.show_open_dialog(actor)

locations = {loc.id: loc.name for loc in visible}
cols = st.columns([1.3, 2, 1.2, 1.2, 1])
location_id = cols[0].selectbox("Location", [0, *locations], format_func=lambda i: locations.get(i, "All locations"),
                                key="queue_location")  # fmt: skip
chosen_kinds = cols[1].multiselect("Kind", list(kinds.KINDS), format_func=kinds.label, key="queue_kinds",
                                   placeholder="All kinds")  # fmt: skip
assignee = cols[2].selectbox("Assigned to", ["anyone", reads.ME, reads.NOBODY],
                             format_func={"anyone": "Anyone", reads.ME: "Me", reads.NOBODY: "Nobody"}.get,
                             key="queue_assignee")  # fmt: skip
age = cols[3].selectbox("Age", list(AGES), key="queue_age")
show = cols[4].selectbox("Show", list(SHOW), key="queue_show")

FILTERS = (location_id, tuple(chosen_kinds), assignee, age, show)  # a change forgets the cards' lines
try:
    items = reads.list_items(
        actor, now=now, location_id=location_id or None, kinds_=chosen_kinds or None,
        assignee=None if assignee == "anyone" else assignee, older_than_hours=AGES[age], show=SHOW[show],
        limit=reads.LIST_LIMIT,
    )  # fmt: skip
    by_kind = reads.counts_by_kind(actor, now=now, location_id=location_id or None)
except DomainError as exc:
    st.error(plain(exc))
    st.stop()

total = sum(by_kind.values())
oldest = max((now - i.detected_at for i in items if i.status != "resolved"), default=None)
metrics = st.columns(4)
metrics[0].metric("Open in your scope", total)
metrics[1].metric("Shown", len(items))
metrics[2].metric("Assigned to me", sum(i.assigned_to == actor.user_id for i in items if i.status != "resolved"))
metrics[3].metric("Oldest", f"{oldest.days} d" if oldest and oldest.days else f"{int(oldest.total_seconds() // 3600)} h"
                  if oldest else "—")  # fmt: skip
if by_kind:
    order = sorted(by_kind, key=by_kind.get)
    st.plotly_chart(
        {"data": [{"type": "bar", "orientation": "h", "y": [kinds.label(k) for k in order],
                   "x": [by_kind[k] for k in order], "marker": {"color": "#f59e0b"}, "text": [by_kind[k] for k in order],
                   "textposition": "auto", "hovertemplate": "%{y}: %{x}<extra></extra>"}],
         "layout": {"height": 50 + 30 * len(order), "margin": {"l": 0, "r": 0, "t": 0, "b": 20},
                    "xaxis": {"dtick": 1 if max(by_kind.values()) <= 10 else None}}},
        key="queue_chart", width="stretch", config={"displayModeBar": False},
    )  # fmt: skip

if not items:
    if SHOW[show] == "open" and total == 0:
        st.success("Nothing needs you right now: the queue is empty.", icon=":material/task_alt:")
    else:
        st.info("No items match these filters.", icon=":material/filter_alt_off:")
    queue_parts.cards(actor, [], now, FILTERS)  # the lines of the cards just acted on, with their Undo
    st.stop()

frame = reads.frame(items, now)
listed = f"{len(items)} item{'s' * (len(items) != 1)}, most urgent first"
if len(items) >= reads.LIST_LIMIT:  # more match: say so rather than pass the first ones off as all
    listed = f"The {len(items)} most urgent items (more match: narrow the filters to see the rest)"
st.caption(f"{listed}. Select rows for bulk actions.")
selection = st.dataframe(frame, key="queue_table", hide_index=True, width="stretch", on_select="rerun",
                         selection_mode="multi-row", height=min(38 + 35 * len(frame), 420),
                         column_config={"Detail": st.column_config.TextColumn(width="medium")})  # fmt: skip
selected = [int(frame.index[r]) for r in selection.selection.rows]
resolvable = [i.id for i in items if i.id in selected and can(actor, A.QUEUE_RESOLVE, i.location_id)]
bulk = st.columns([1.2, 1.2, 2.6])
if resolvable and SHOW[show] != "resolved":
    if bulk[0].button(f"Assign {len(resolvable)}…", key="queue_bulk_assign", width="stretch"):
        queue_dialogs.DIALOGS.open("assign", ids=resolvable, location_id=location_id or None)
        st.rerun()
    if bulk[1].button(f"Resolve {len(resolvable)}…", key="queue_bulk_resolve", width="stretch"):
        queue_dialogs.DIALOGS.open("resolve", ids=resolvable)
        st.rerun()
with bulk[2]:
    download_buttons(actor, frame, "exceptions-queue", what="exceptions queue", filters={"show": SHOW[show]})

st.subheader("Work the queue")
queue_parts.cards(actor, items[:PAGE_SIZE], now, FILTERS)
if len(items) > PAGE_SIZE:
    st.caption(f"The first {PAGE_SIZE} of {len(items)} are shown here; narrow the filters to see the rest.")
