"""The queue page's dialogs: resolve, bulk assign, confirm a fixing action, pick a new time.
Every button is one core service call."""

from __future__ import annotations

from datetime import date
from functools import partial

import streamlit as st

from core.base.errors import DomainError
from core.base.tz import to_local, today_in
from core.queue import actions, fixes, lifecycle, reads
from core.queue.reads import ItemView
from core.scheduling.labels import day_label
from core.security.access import Actor
from pages import kit
from pages.safe import plain

PAGE = "queue"  # the page's messages (pages.kit)
DIALOGS = kit.Dialogs("queue_dialog", "qdlg_", PAGE)
act = partial(kit.act, page=PAGE, toast=True)  # one service call; its outcome is a toast or its sentence


@st.dialog("Resolve", on_dismiss=DIALOGS.close)
def resolve_dialog(actor: Actor, ids: list[int]) -> None:
    named = [item for item in (reads.get_item(actor, i) for i in ids[:5]) if item is not None]
    st.markdown(f"Resolve **{len(ids)} item{'s' * (len(ids) != 1)}** by hand. This counts as an admin touch.")
    for item in named:
        st.markdown(f"- **{plain(item.who)}** · {plain(item.label)} · {plain(item.describe())}")
    if len(ids) > len(named):
        st.caption(f"and {len(ids) - len(named)} more")
    resolution = st.radio("Resolution", lifecycle.RESOLUTIONS, key="qdlg_resolution")
    note = st.text_area("Note", key="qdlg_note", placeholder="What was done, for whoever looks next")
    keep, go = st.columns(2)
    if keep.button("Back", key="qdlg_back", width="stretch"):
        DIALOGS.finish()
    if go.button("Resolve", type="primary", key="qdlg_resolve", width="stretch") and act(
        lambda: lifecycle.resolve(actor, ids, resolution=resolution, note=note),
        f"Resolved: {named[0].who}." if len(ids) == 1 and named else f"Resolved {len(ids)} items.",
        dialog=DIALOGS,
    ):
        DIALOGS.finish()
    DIALOGS.error()


@st.dialog("Assign", on_dismiss=DIALOGS.close)
def assign_dialog(actor: Actor, ids: list[int], location_id: int | None) -> None:
    try:
        users = lifecycle.assignable_users(actor, location_id)
    except DomainError as exc:
        st.error(plain(exc))
        return
    names = dict(users)
    user = st.selectbox("Assign to", [0, *names], format_func=lambda u: names.get(u, "Nobody (unassign)"),
                        key="qdlg_user")  # fmt: skip
    st.caption(f"{len(ids)} item{'s' * (len(ids) != 1)} selected.")
    if st.button("Assign", type="primary", key="qdlg_assign") and act(
        lambda: lifecycle.assign(actor, ids, user or None),
        f"Assigned {len(ids)} to {names.get(user, 'nobody')}.",
        dialog=DIALOGS,
    ):
        DIALOGS.finish()
    DIALOGS.error()


@st.dialog("Confirm", on_dismiss=DIALOGS.close)
def confirm_dialog(actor: Actor, item: ItemView, action: actions.FixingAction) -> None:
    st.markdown(f"**{plain(item.label)}** · {plain(item.describe())}")
    st.warning(action.confirm)
    keep, go = st.columns(2)
    if keep.button("Back", key="qdlg_back", width="stretch"):
        DIALOGS.finish()
    if go.button(action.label, type="primary", key="qdlg_go", width="stretch") and act(
        lambda: actions.fix(actor, item.id, action.name), f"{item.who} · {action.label.lower()}.", dialog=DIALOGS
    ):
        DIALOGS.finish()
    DIALOGS.error()


@st.dialog("Pick a new time", width="medium", on_dismiss=DIALOGS.close)
def slot_dialog(actor: Actor, item: ItemView, action: actions.FixingAction) -> None:
    st.markdown(f"**{plain(item.label)}** · {plain(item.describe())}")
    tz = item.timezone or "UTC"
    first = st.date_input("From", value=today_in(tz), key="qdlg_day", format="YYYY-MM-DD")
    try:
        slots = fixes.slots_for(actor, item, first if isinstance(first, date) else today_in(tz))
    except DomainError as exc:
        st.warning(plain(exc))
        return
    if not slots:
        st.info(f"No free time in the {fixes.SLOT_DAYS} days from {first}: try a later day.")
        return
    labels = {
        k: f"{day_label(to_local(s.start, tz))} {to_local(s.start, tz):%H:%M} · {s.provider_name}"
        for k, s in enumerate(slots)
    }
    pick = st.selectbox(f"Time ({len(slots)} free)", list(labels), format_func=labels.get, key="qdlg_slot")
    slot = slots[pick]
    if st.button(action.label.rstrip("…"), type="primary", key="qdlg_book") and act(
        lambda: actions.fix(actor, item.id, action.name, start=slot.start, provider_id=slot.provider_id),
        f"{item.who} · {action.label.rstrip('…').lower()}: {labels[pick]}.",
        dialog=DIALOGS,
    ):
        DIALOGS.finish()
    DIALOGS.error()


def show_open_dialog(actor: Actor) -> None:
    state = DIALOGS.current()
    if not state:
        return
    if state["kind"] == "resolve":
        resolve_dialog(actor, state["ids"])
    elif state["kind"] == "assign":
        assign_dialog(actor, state["ids"], state.get("location_id"))
    else:
        item = reads.get_item(actor, state["item_id"])
        action = next((a for a in actions.available(actor, item) if a.name == state["action"]), None) if item else None
        if action is None:
            DIALOGS.close()
        elif state["kind"] == "slot":
            slot_dialog(actor, item, action)
        else:
            confirm_dialog(actor, item, action)
