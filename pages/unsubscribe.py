"""The customer's unsubscribe page (/unsubscribe?t=<signed token>, the link at the foot of every
email and in its List-Unsubscribe header): one button, then the sentence of what was done. It
works while the door is switched off (an opt-out from a message already sent must always work);
a link that is expired or tampered with is one sentence, nothing written. The mail client's
one-click POST to the same URL is pages/door_routes.py."""

from __future__ import annotations

import streamlit as st

from core.notifications import preferences
from core.security import links
from pages import door
from pages.safe import plain

door.frame("Unsubscribe", switched=False)
token = st.query_params.get("t")
DONE = f"door_unsubscribe_done:{token}"
try:
    link = links.read(preferences.PURPOSE, token)  # a bad link says so before offering the button
except links.LinkError as exc:
    st.error(plain(exc), icon=":material/link_off:")
    st.stop()

if (done := st.session_state.get(DONE)) is not None:
    st.success(plain(done), icon=":material/check_circle:")
    st.stop()

words = preferences.CHANNEL_WORDS.get(link.get("ch"), "messages")
st.write(f"Stop the {words} we send you about your appointments?")
if st.button("Unsubscribe", type="primary"):
    said = door.answer(lambda: preferences.unsubscribe(token, door.client()))
    if said is not None:
        st.session_state[DONE] = said
        st.rerun()
