"""Helpers shared by the pages (never imported by core/). Pages ask core for everything."""

from __future__ import annotations

import streamlit as st

from core import access
from core.access import Actor
from core.db import read_session

USER_KEY = "user_id"


def current_actor() -> Actor | None:
    """The signed-in actor, read fresh from the database on every run: a role change or a
    deactivation takes effect on the user's next click."""
    user_id = st.session_state.get(USER_KEY)
    if user_id is None:
        return None
    with read_session() as session:
        return access.load_actor(session, user_id)


def require_page(action: str) -> Actor:
    """Stop the page unless the signed-in actor may do `action` somewhere."""
    actor = current_actor()
    if actor is None or action not in access.allowed_actions(actor):
        st.error("You do not have access to this page.")
        st.stop()
    return actor
