"""Your account: who you are, change your password, sign out."""

import streamlit as st

from pages import ui

actor = ui.current_actor()
st.title("Account")
st.write(actor.name if actor else "")
