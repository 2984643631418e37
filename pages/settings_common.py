"""Helpers for the settings pages (never imported by core/): one service call per button with
its sentence on refusal, the search / show-inactive controls every list has, and the table of
appointments a change would leave outside working time."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pandas as pd
import streamlit as st

from core.base.errors import DomainError
from pages.safe import plain

log = logging.getLogger(__name__)
NOTICE = "settings_notice"  # the last change's message, shown until the next action


def show_notice() -> None:
    if notice := st.session_state.get(NOTICE):
        st.success(notice, icon=":material/check_circle:")


def run(action: Callable[[], object], success: str | Callable[[object], str], *, rerun: bool = True) -> object | None:
    """One service call: on success a message after the rerun, otherwise the refusal's sentence."""
    st.session_state.pop(NOTICE, None)
    try:
        result = action()
    except DomainError as exc:
        st.error(plain(exc), icon=":material/error:")
        return None
    except Exception:  # noqa: BLE001 - a person gets a sentence, the log gets the traceback
        log.exception("settings: action failed")
        st.error(
            "Something went wrong and nothing was changed. Try again, or reload the page.", icon=":material/error:"
        )
        return None
    st.session_state[NOTICE] = success(result) if callable(success) else success
    if rerun:
        st.rerun()
    return result


def list_controls(key: str, placeholder: str) -> tuple[str, bool]:
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    search = left.text_input("Search", key=f"{key}_search", placeholder=placeholder)
    inactive = right.toggle("Show inactive", key=f"{key}_inactive")
    return search, inactive


def affected_frame(affected) -> pd.DataFrame:
    return pd.DataFrame(
        [{"When": a.when, "Location": a.location, "Customer": a.customer, "Type": a.type, "Why": a.reason}
         for a in affected],
        columns=["When", "Location", "Customer", "Type", "Why"],
    )  # fmt: skip


def show_affected(affected, *, none: str) -> None:
    if not affected:
        st.success(none, icon=":material/check_circle:")
        return
    st.warning(
        f"{len(affected)} booked appointment{'s' if len(affected) != 1 else ''} would fall outside working time. "
        "They stay booked and go to the exceptions queue to be moved or called.",
        icon=":material/warning:",
    )
    st.table(affected_frame(affected).set_index("When"))
