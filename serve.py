"""The app on Streamlit's Starlette server with the door's plain POST routes beside it
(pages/door_routes.py): `streamlit run serve.py` (what `make run` starts). app.py alone still
runs with `streamlit run app.py`, without those routes."""

import streamlit as st

from core import bootstrap
from pages.door_routes import routes

bootstrap.bootstrap()  # a POST route may run before any page did
app = st.App("app.py", routes=routes())
