"""The queue page's pieces: one item's card with its inline actions, the dialogs (resolve, bulk
assign and resolve, pick a new time, confirm), and the open count for the navigation and the
today page. Every button is one core service call."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta

import streamlit as st
from streamlit.errors import StreamlitAPIException

from core.base.clock import utcnow
from core.base.errors import DomainError
from core.base.tz import to_local, today_in
from core.queue import actions, fixes, lifecycle, reads
from core.queue.reads import ItemView
from core.security.access import A, Actor, can
from pages import today_state
from pages.safe import plain

log = logging.getLogger(__name__)
DIALOG, ERROR, TOAST, FLASH = "queue_dialog", "queue_dialog_error", "queue_toast", "queue_flash"
STATUS_ICONS = {"open": ":red[●]", "assigned": ":blue[●]", "snoozed": ":gray[●]", "resolved": ":green[●]"}


def attempt(call: Callable[[], object], success: str | Callable[[object], str], error_key: str = FLASH) -> bool:
    """One service call: a toast on success, the refusal's own sentence on failure."""
    return today_state.attempt(call, success, error_key, toast_key=TOAST)


def show_messages() -> None:
    if toast := st.session_state.pop(TOAST, None):
        st.toast(toast, icon=":material/check_circle:")
    if flash := st.session_state.pop(FLASH, None):
        st.error(plain(flash), icon=":material/error:")


def open_dialog(kind: str, **details) -> None:
    st.session_state.pop(ERROR, None)
    st.session_state[DIALOG] = {"kind": kind, **details}


def close_dialog() -> None:
    for key in [DIALOG, ERROR, *(k for k in st.session_state if str(k).startswith("qdlg_"))]:
        st.session_state.pop(key, None)


def _done() -> None:
    close_dialog()
    st.rerun()


def _dialog_error() -> None:
    if error := st.session_state.get(ERROR):
        st.error(error, icon=":material/error:")


# -- the open count -------------------------------------------------------------------------


def queue_line(actor: Actor) -> None:
    """The today page's one line: how many items wait in the queue, with a link to it."""
    try:
        count = reads.open_count(actor)
    except DomainError:
        return
    if not count:
        return
    label = f"Exceptions queue: {count} open item{'s' * (count != 1)}"
    try:
        st.page_link("pages/queue.py", label=label, icon=":material/inbox:")
    except StreamlitAPIException:  # the page run on its own, outside app.py's navigation
        st.markdown(f":material/inbox: [{label}](queue)")


# -- one item --------------------------------------------------------------------------------


def item_card(actor: Actor, item: ItemView, now: datetime) -> None:
    resolver = can(actor, A.QUEUE_RESOLVE, item.location_id)
    with st.container(border=True):
        head, meta = st.columns([3, 1.2])
        head.markdown(f"{STATUS_ICONS.get(item.status, '')} **{plain(item.label)}** · {plain(item.describe())}")
        age = now - item.detected_at
        age_text = f"{age.days} d" if age.days else f"{int(age.total_seconds() // 3600)} h"
        who = f" · {item.assignee_name}" if item.assignee_name else ""
        meta.caption(f"{item.status}{who} · open {age_text}")
        st.caption(
            item.hint if item.status != "resolved" else f"{item.resolution}" + (f" — {item.note}" if item.note else "")
        )
        if not resolver:
            return
        buttons: list[tuple[str, Callable[[], None], str]] = []
        if item.status == "resolved":
            buttons.append(
                ("Reopen", lambda: attempt(lambda: lifecycle.reopen(actor, item.id), "Item reopened."), "reopen")
            )
        else:
            for action in actions.available(actor, item):
                buttons.append((action.label, _action_click(actor, item, action), action.name))
            if item.assigned_to != actor.user_id:
                buttons.append(("Assign to me", lambda: attempt(lambda: lifecycle.assign(actor, [item.id], actor.user_id),
                                                                "Assigned to you."), "mine"))  # fmt: skip
            tomorrow = utcnow() + timedelta(days=1)
            buttons.append(("Snooze 1 day", lambda: attempt(lambda: lifecycle.snooze(actor, [item.id], tomorrow),
                                                           "Snoozed until tomorrow."), "snooze"))  # fmt: skip
            buttons.append(("Resolve…", lambda: open_dialog("resolve", ids=[item.id]), "resolve"))
        with st.container(horizontal=True):
            for label, click, name in buttons:
                st.button(label, key=f"q_{name}_{item.id}", on_click=click, width="content",
                          type="primary" if name not in ("mine", "snooze", "resolve", "reopen") else "secondary")  # fmt: skip


def _action_click(actor: Actor, item: ItemView, action: actions.FixingAction) -> Callable[[], None]:
    if action.needs == actions.SLOT:
        return lambda: open_dialog("slot", item_id=item.id, action=action.name)
    if action.confirm:
        return lambda: open_dialog("confirm", item_id=item.id, action=action.name)
    return lambda: attempt(lambda: actions.fix(actor, item.id, action.name), lambda msg: msg)


# -- dialogs ---------------------------------------------------------------------------------


@st.dialog("Resolve", on_dismiss=close_dialog)
def resolve_dialog(actor: Actor, ids: list[int]) -> None:
    st.markdown(f"Resolve **{len(ids)} item{'s' * (len(ids) != 1)}** by hand. This counts as an admin touch.")
    resolution = st.radio("Resolution", lifecycle.RESOLUTIONS, key="qdlg_resolution")
    note = st.text_area("Note", key="qdlg_note", placeholder="What was done, for whoever looks next")
    keep, go = st.columns(2)
    if keep.button("Back", key="qdlg_back", width="stretch"):
        _done()
    if go.button("Resolve", type="primary", key="qdlg_resolve", width="stretch") and attempt(
        lambda: lifecycle.resolve(actor, ids, resolution=resolution, note=note), f"Resolved {len(ids)}.", ERROR
    ):
        _done()
    _dialog_error()


@st.dialog("Assign", on_dismiss=close_dialog)
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
    if st.button("Assign", type="primary", key="qdlg_assign") and attempt(
        lambda: lifecycle.assign(actor, ids, user or None),
        f"Assigned {len(ids)} to {names.get(user, 'nobody')}.",
        ERROR,
    ):
        _done()
    _dialog_error()


@st.dialog("Confirm", on_dismiss=close_dialog)
def confirm_dialog(actor: Actor, item: ItemView, action: actions.FixingAction) -> None:
    st.markdown(f"**{plain(item.label)}** · {plain(item.describe())}")
    st.warning(action.confirm)
    keep, go = st.columns(2)
    if keep.button("Back", key="qdlg_back", width="stretch"):
        _done()
    if go.button(action.label, type="primary", key="qdlg_go", width="stretch") and attempt(
        lambda: actions.fix(actor, item.id, action.name), lambda msg: msg, ERROR
    ):
        _done()
    _dialog_error()


@st.dialog("Pick a new time", width="medium", on_dismiss=close_dialog)
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
    labels = {k: f"{to_local(s.start, tz):%a %d %b %H:%M} · {s.provider_name}" for k, s in enumerate(slots)}
    pick = st.selectbox(f"Time ({len(slots)} free)", list(labels), format_func=labels.get, key="qdlg_slot")
    slot = slots[pick]
    if st.button(action.label.rstrip("…"), type="primary", key="qdlg_book") and attempt(
        lambda: actions.fix(actor, item.id, action.name, start=slot.start, provider_id=slot.provider_id),
        f"{action.label.rstrip('…')}: {labels[pick]}.",
        ERROR,
    ):
        _done()
    _dialog_error()


def show_open_dialog(actor: Actor) -> None:
    state = st.session_state.get(DIALOG)
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
            close_dialog()
        elif state["kind"] == "slot":
            slot_dialog(actor, item, action)
        else:
            confirm_dialog(actor, item, action)
