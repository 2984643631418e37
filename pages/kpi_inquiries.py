"""The KPI page's inquiry section: conversion split by channel, and the inquiries behind the
figure (customer names only for roles that see customers), each downloadable."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.base.errors import DomainError
from core.inquiries.services import channel_label
from core.metrics import conversion
from core.metrics.definitions import Window
from core.metrics.sources import Filters
from core.security.access import Actor
from pages.downloads import download_buttons
from pages.safe import plain

OUTCOMES = {"all": "All inquiries", "booked": "Booked within the window", "not": "Not booked"}


def conversion_section(actor: Actor, window: Window, filters: Filters) -> None:
    st.subheader("Inquiry conversion by channel")
    st.caption("Inquiries received in the window (repeats within the hour counted once), booked within "
               "the conversion window (CONVERSION_DAYS, default 7 days) of receipt.")  # fmt: skip
    try:
        channels = conversion.by_channel(actor, window, filters)
    except DomainError as exc:
        st.error(plain(exc))
        return
    if not channels:
        st.info("No inquiries in this window.")
        return
    table = pd.DataFrame([{"channel": channel_label(ch), "inquiries": c["inquiries"], "booked": c["booked"],
                           "conversion": c["rate"]} for ch, c in channels.items()])  # fmt: skip
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"conversion": st.column_config.NumberColumn(format="percent")})  # fmt: skip
    outcome = st.segmented_control("Inquiries behind it", list(OUTCOMES), default="all", format_func=OUTCOMES.get,
                                   key="kpi_inquiry_outcome")  # fmt: skip
    booked = {"booked": True, "not": False}.get(outcome or "all")
    rows = conversion.inquiries_behind(actor, window, filters, booked=booked)
    if rows["customer"].isna().all():
        rows = rows.drop(columns=["customer"])
    rows["channel"] = rows["channel"].map(channel_label)
    st.dataframe(rows, hide_index=True, width="stretch", height=260)
    download_buttons(actor, rows, f"inquiries-{outcome}-{window.first}", what="metrics.inquiries")
