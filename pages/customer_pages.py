"""Customer pages (admins and managers): the switch that opens the customer-facing door, each
location's public request link, and which appointment types customers may book online."""

from __future__ import annotations

import streamlit as st

from core.base.errors import DomainError
from core.inquiries import online, public
from core.security import door, links
from core.security.access import A, can
from pages.safe import plain
from pages.ui import require_page

actor = require_page(A.SETTINGS_MANAGE)
st.title("Customer pages")
st.caption(
    "Pages customers open without signing in: a booking request per location, and the unsubscribe link of every email (which works even while the door is off)."
)


def _run(call, done: str) -> None:
    try:
        call()
        st.toast(done)
    except DomainError as exc:
        st.error(plain(exc), icon=":material/error:")


is_open = door.is_open()
wanted = st.toggle("Customer pages are on", value=is_open, disabled=not can(actor, A.DOOR_MANAGE),
                   help="Only an admin turns them on or off. Off: every customer page says to call instead.")  # fmt: skip
if wanted != is_open:
    _run(lambda: door.set_open(actor, wanted), "Customer pages are " + ("on." if wanted else "off."))
    st.rerun()

st.subheader("Request links")
for loc in public.active_locations():
    st.code(links.url("request", location=door.slug(loc.name)), language=None)

st.subheader("Bookable online")
for t in online.online_settings(actor):
    with st.container(border=True):
        st.markdown(f"**{plain(t.name)}**")
        c1, c2, c3, c4 = st.columns([1.2, 1.2, 1, 0.8], vertical_alignment="bottom")
        bookable = c1.toggle("Bookable online", value=t.bookable_online, key=f"cp_b_{t.type_id}")
        instant = c2.toggle("Book at once", value=t.instant, key=f"cp_i_{t.type_id}",
                            help="Off: the time is held as a request for the front desk to confirm.")  # fmt: skip
        hold = c3.number_input("Hold (minutes)", 1, online.MAX_HOLD_MINUTES, t.hold_minutes, key=f"cp_h_{t.type_id}")
        if c4.button("Save", key=f"cp_s_{t.type_id}"):
            values = {"bookable": bookable, "instant": instant, "hold_minutes": int(hold)}
            _run(lambda t=t, v=values: online.set_online(actor, t.type_id, **v), f"Saved {t.name}.")
