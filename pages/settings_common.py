"""Helpers for the settings pages (never imported by core/): one service call per button with
its sentence on refusal, the search / show-inactive controls every list has, and the table of
appointments a change would leave outside working time."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from pages import kit

PAGE = "settings"  # the settings pages share their messages: the last change's, until the next action


def show_notice() -> None:
    kit.show(PAGE)


def run(action: Callable[[], object], success: str | Callable[[object], str]) -> bool:
    """One service call (pages.kit.act): on success its message at the top after the rerun,
    otherwise the refusal's sentence here, where the button is."""
    return kit.act(action, success, page=PAGE, inline=True, rerun=True)


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
