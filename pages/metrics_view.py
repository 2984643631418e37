"""Shared by the Weekly KPIs and Utilization pages: the filter bar, cached reads keyed by every
filter, the actor's scope and the data version, and number formatting."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from core.base.tz import today_in
from core.metrics import drill, kpis, utilization
from core.metrics.definitions import Window, last_full_week
from core.metrics.sources import Filters
from core.scheduling.labels import day_label
from core.security.access import Actor
from pages.today_state import scope_key

ANY = None
TTL = 600  # seconds; the data version in every key clears the cache as soon as data changes


@st.cache_data(ttl=60, show_spinner=False)
def version() -> tuple:
    return drill.data_version()


def current_version() -> tuple:
    """Read fresh on every run (cheap), so a change shows on the next rerun."""
    version.clear()
    return version()


@st.cache_data(ttl=TTL, show_spinner=False)
def names(_actor: Actor, scope: tuple) -> dict[str, dict[int, str]]:
    return drill.choices(_actor)


@st.cache_data(ttl=TTL, show_spinner="Computing KPIs...")
def dashboard(_actor: Actor, scope: tuple, window: Window, filters: Filters, data_version: tuple) -> dict:
    return kpis.dashboard(_actor, window, filters)


@st.cache_data(ttl=TTL, show_spinner=False)
def breakdown(_actor: Actor, scope: tuple, window: Window, by: str, filters: Filters, data_version: tuple):
    return kpis.breakdown(_actor, window, by, filters)


@st.cache_data(ttl=TTL, show_spinner=False)
def behind(_actor: Actor, scope: tuple, window: Window, figure: str, filters: Filters, data_version: tuple):
    return drill.appointments_behind(_actor, window, figure, filters)


@st.cache_data(ttl=TTL, show_spinner="Computing utilization...")
def over_time(_actor: Actor, scope: tuple, window: Window, by: str, filters: Filters, data_version: tuple):
    return utilization.over_time(_actor, window, by, filters)


@st.cache_data(ttl=TTL, show_spinner=False)
def heatmap(_actor: Actor, scope: tuple, window: Window, location_id: int, provider_id, data_version: tuple):
    return utilization.heatmap(_actor, window, location_id, provider_id)


def filter_bar(actor: Actor, key: str, default: Window, *, any_location: bool = True) -> tuple[Window, Filters, dict]:
    """Dates, location, provider and type pickers; defaults: `default` in the user's first location."""
    found = names(actor, scope_key(actor))
    locations = list(found["location"])
    dates_col, loc_col, prov_col, type_col = st.columns([1.4, 1, 1, 1])
    picked = dates_col.date_input(
        "Dates (local, start of appointment)", value=(default.first, default.last), key=f"{key}_dates"
    )
    first, last = (tuple(picked) + (None, None))[:2] if isinstance(picked, tuple | list) else (picked, picked)
    window = Window(first, last or first) if first else default
    loc_options = ([ANY] if any_location else []) + locations
    location = loc_col.selectbox(
        "Location", loc_options, index=loc_options.index(locations[0]) if locations else 0, key=f"{key}_location",
        format_func=lambda v: "All my locations" if v is None else found["location"][v],
    )  # fmt: skip
    provider = prov_col.selectbox(
        "Provider", [ANY, *found["provider"]], key=f"{key}_provider",
        format_func=lambda v: "Any provider" if v is None else found["provider"][v],
    )  # fmt: skip
    type_id = type_col.selectbox(
        "Appointment type", [ANY, *found["type"]], key=f"{key}_type",
        format_func=lambda v: "Any type" if v is None else found["type"][v],
    )  # fmt: skip
    return window, Filters(location, provider, type_id), found


def week_to_show(today: date) -> tuple[Window, str]:
    """The default week and what it is: the last complete week, or this week on its last day (a Sunday),
    when the week before last would be a surprise."""
    if today.weekday() == 6:
        return Window(today - timedelta(days=6), today), "this week, up to today"
    return last_full_week(today), "the last complete week"


def default_week(actor: Actor) -> Window:
    return week_to_show(today_in("UTC"))[0]


def which_week(window: Window) -> str | None:
    """'the last complete week' or 'this week, up to today' when `window` is the default, else None."""
    default, label = week_to_show(today_in("UTC"))
    return label if window == default else None


def default_weeks(actor: Actor, weeks: int = 4) -> Window:
    last = last_full_week(today_in("UTC")).last
    return Window(last - timedelta(days=7 * weeks - 1), last)


# Why a utilization figure can pass 100% (docs/metrics.md): shown beside every such figure.
OVER_FULL = ("Above 100%: some appointments sit in time that is not available (booked before time off was added, "
             "or overlapping another booking); they count as booked. The exceptions queue lists them to be moved.")  # fmt: skip


def over_full(*values) -> bool:
    """Whether any of these utilization figures (numbers or Series) is over 100%."""
    return any(bool((pd.Series(v, dtype=float) > 1).any()) for v in values if v is not None)


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def num(value, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def delta(current, previous, *, percent: bool) -> str | None:
    if current is None or previous is None:
        return None
    diff = current - previous
    return f"{diff * 100:+.1f} pts" if percent else f"{diff:+,.1f}" if isinstance(diff, float) else f"{diff:+,}"


def window_label(window: Window) -> str:
    return f"{day_label(window.first)} {window.first.year} – {day_label(window.last)} {window.last.year}"
