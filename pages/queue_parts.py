"""The queue page's pieces: one item's card with its inline actions, the dialogs (resolve, bulk
assign and resolve, pick a new time, confirm), and the open count for the navigation and the
today page. Every button is one core service call."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from functools import partial

import streamlit as st
from streamlit.errors import StreamlitAPIException

from core.base.clock import utcnow
from core.base.errors import DomainError
from core.base.tz import to_local, today_in
from core.queue import actions, fixes, lifecycle, reads, snoozes
from core.queue.reads import ItemView
from core.scheduling import booking
from core.scheduling.labels import day_label
from core.security.access import A, Actor, can
from pages import kit
from pages.safe import plain

log = logging.getLogger(__name__)
PAGE = "queue"  # the page's messages (pages.kit)
DIALOGS = kit.Dialogs("queue_dialog", "qdlg_", PAGE)
_act = partial(kit.act, page=PAGE, toast=True)  # one service call; its outcome is a toast or its sentence
STATUS_ICONS = {"open": ":red[●]", "assigned": ":blue[●]", "snoozed": ":gray[●]", "resolved": ":green[●]"}


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
        meta.caption(f"{item.status_text()}{who} · open {age_text}")
        st.caption(
            item.hint if item.status != "resolved" else f"{item.resolution}" + (f" — {item.note}" if item.note else "")
        )
        if not resolver:
            return
        buttons: list[tuple[str, Callable[[], None], str]] = []
        if item.status == "resolved":
            buttons.append(("Reopen", lambda: _keep_place(item, lambda: lifecycle.reopen(actor, item.id), "item reopened"),
                            "reopen"))  # fmt: skip
        else:
            for action in actions.available(actor, item):
                buttons.append((action.label, _action_click(actor, item, action), action.name))
            if item.assigned_to != actor.user_id:
                buttons.append(("Assign to me", lambda: _act(lambda: lifecycle.assign(actor, [item.id], actor.user_id),
                                                                f"{item.who}: assigned to you."), "mine"))  # fmt: skip
        with st.container(horizontal=True):
            for label, click, name in buttons:
                st.button(label, key=f"q_{name}_{item.id}", on_click=click, width="content",
                          type="primary" if name not in ("mine", "reopen") else "secondary")  # fmt: skip
            if item.status != "resolved":
                _snooze_menu(actor, item, now)
                st.button("Resolve…", key=f"q_resolve_{item.id}", width="content",
                          on_click=lambda: DIALOGS.open("resolve", ids=[item.id]))  # fmt: skip


def _snooze_menu(actor: Actor, item: ItemView, now: datetime) -> None:
    """Snoozes counted back from the appointment while it is ahead (core.queue.snoozes)."""
    offered = item.snooze_choices(now)
    with st.popover("Snooze", icon=":material/snooze:", disabled=not offered,
                    help=None if offered else "Its appointment starts too soon to snooze it."):  # fmt: skip
        for choice in offered:
            when = snoozes.moment(choice.until, item.timezone)
            st.button(f"{choice.label} · {when}", key=f"q_snooze_{choice.key}_{item.id}", width="stretch",
                      on_click=_keep_place, args=(item, partial(lifecycle.snooze, actor, [item.id], choice.until),
                                                  f"snoozed until {when}"))  # fmt: skip


def _action_click(actor: Actor, item: ItemView, action: actions.FixingAction) -> Callable[[], None]:
    if action.needs == actions.SLOT:
        return lambda: DIALOGS.open("slot", item_id=item.id, action=action.name)
    if action.confirm:
        return lambda: DIALOGS.open("confirm", item_id=item.id, action=action.name)
    return lambda: _keep_place(item, lambda: actions.fix(actor, item.id, action.name), action.label.rstrip("…").lower(),
                         undo=action.name == "confirm")  # fmt: skip


# -- a card's place -------------------------------------------------------------------------
# A card acted on leaves a line in its place until the filters change or the undo window ends,
# so the next card never slides under the pointer: "Owen Moore · confirmed after a call · Undo".
DONE, ORDER = "queue_done", "queue_order"  # {item id: {"text", "undo", "until"}}; the ids last drawn


def _keep_place(item: ItemView, call: Callable[[], object], what: str, *, undo: bool = False) -> None:
    text = f"{item.who} · {what}"
    if _act(call, f"{text}."):
        st.session_state.setdefault(DONE, {})[item.id] = {
            "text": text, "appointment_id": item.appointment_id if undo else None,
            "until": utcnow() + booking.UNDO_WINDOW,
        }  # fmt: skip


def _undo(actor: Actor, item_id: int, appointment_id: int, name: str) -> None:
    if _act(lambda: booking.undo_status(actor, appointment_id), f"Undone: {name} is unconfirmed again."):
        st.session_state.get(DONE, {}).pop(item_id, None)


def cards(actor: Actor, items: list[ItemView], now: datetime, filters: tuple) -> None:
    """The items' cards, with the line of each card just acted on in the place it had."""
    state = st.session_state
    if state.get("queue_filters") != filters:
        state["queue_filters"], state[DONE] = filters, {}
    done = {i: d for i, d in state.get(DONE, {}).items() if d["until"] > now}
    state[DONE] = done
    by_id = {i.id: i for i in items}
    order = [i.id for i in items]
    for index, item_id in enumerate(state.get(ORDER, [])):
        if item_id in done and item_id not in by_id:
            order.insert(min(index, len(order)), item_id)
    state[ORDER] = order
    for item_id in order:
        if item_id in by_id:
            item_card(actor, by_id[item_id], now)
        else:
            _placeholder(actor, item_id, done[item_id])


def _placeholder(actor: Actor, item_id: int, done: dict) -> None:
    with st.container(border=True):
        text, undo = st.columns([5, 1], vertical_alignment="center")
        text.markdown(f":green[:material/check_circle:] {plain(done['text'])}")
        if done["appointment_id"]:
            undo.button("Undo", key=f"q_undo_{item_id}", on_click=_undo,
                        args=(actor, item_id, done["appointment_id"], done["text"].split(" · ")[0]))  # fmt: skip


# -- dialogs ---------------------------------------------------------------------------------


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
    if go.button("Resolve", type="primary", key="qdlg_resolve", width="stretch") and _act(
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
    if st.button("Assign", type="primary", key="qdlg_assign") and _act(
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
    if go.button(action.label, type="primary", key="qdlg_go", width="stretch") and _act(
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
    if st.button(action.label.rstrip("…"), type="primary", key="qdlg_book") and _act(
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
