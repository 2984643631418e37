"""The queue page's pieces: one item's card with its inline actions, the line a card acted on
leaves in its place, and the open count for the today page. Every button is one core service
call; the dialogs they open are in pages/queue_dialogs.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial

import streamlit as st
from streamlit.errors import StreamlitAPIException

from core.base.clock import utcnow
from core.base.errors import DomainError
from core.queue import actions, lifecycle, reads, snoozes
from core.queue.reads import ItemView
from core.scheduling import booking
from core.security.access import A, Actor, can
from pages.queue_dialogs import DIALOGS, act
from pages.safe import plain

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
        who = f" · {item.assignee_name}" if item.assignee_name else ""
        meta.caption(f"{item.status_text()}{who} · open {item.age(now)}")
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
                buttons.append(("Assign to me", lambda: act(lambda: lifecycle.assign(actor, [item.id], actor.user_id),
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
    if act(call, f"{text}."):
        st.session_state.setdefault(DONE, {})[item.id] = {
            "text": text, "appointment_id": item.appointment_id if undo else None,
            "until": utcnow() + booking.UNDO_WINDOW,
        }  # fmt: skip


def _undo(actor: Actor, item_id: int, appointment_id: int, name: str) -> None:
    if act(lambda: booking.undo_status(actor, appointment_id), f"Undone: {name} is unconfirmed again."):
        st.session_state.get(DONE, {}).pop(item_id, None)


def cards(actor: Actor, items: list[ItemView], now: datetime, filters: tuple) -> None:
    """The items' cards, with the line of each card just acted on in the place it had."""
    state = st.session_state
    if state.get("queue_filters") != filters:
        state["queue_filters"], state[DONE] = filters, {}
    done = {i: d for i, d in state.get(DONE, {}).items() if d["until"] > now}
    state[DONE] = done
    by_id = {i.id: i for i in items}
    order = state[ORDER] = reads.keep_places(state.get(ORDER, []), list(by_id), set(done))
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
