"""The customer's intake page (/intake?t=<signed link>, sent in the confirmation): that
appointment's time, place and instructions, and its form. "Save for later" keeps what is filled
in (the same link opens it again); "Finish" saves and says what is still missing, if anything.
An expired or tampered link is one sentence; nothing else about the business is shown."""

from __future__ import annotations

import streamlit as st

from core.base.errors import NotFound
from core.intake import public
from core.security.links import LinkError
from pages import door, intake_fields
from pages.safe import plain

SAID = "door_intake_said"

door.frame("Before your visit")
token = st.query_params.get("t")
try:
    page = public.page(token)
except (LinkError, NotFound) as exc:
    st.error(plain(exc), icon=":material/link_off:")
    st.stop()

st.subheader(plain(page.type_name))
st.markdown(f":material/event: **{plain(page.when)}**")
place = ", ".join(x for x in (page.location, page.address) if x)
st.markdown(
    f":material/location_on: {plain(place)}"
    + (f"  \n:material/person: {plain(page.provider)}" if page.provider else "")
)
if page.instructions:
    st.info(plain(page.instructions), icon=":material/info:")

if (said := st.session_state.pop(SAID, None)) is not None:
    (st.success if said[0] == "ok" else st.warning)(plain(said[1]), icon=":material/check_circle:")
if page.version is None:
    st.write("There is no form to fill in for this appointment. See you soon.")
    st.stop()
if page.complete:
    st.success("Your intake form is complete. Thank you! You can still change your answers below.",
               icon=":material/task_alt:")  # fmt: skip
elif page.missing:
    st.caption("Still to do: " + plain(", ".join(page.missing)))

PREFIX = f"intake{page.appointment_id}"
filled = intake_fields.draw(page.definition, page.answers, page.files, page.signed, prefix=PREFIX)
trap = door.honeypot()
later, finish = st.columns(2)
save_later = later.button("Save for later", width="stretch")
save_finish = finish.button("Finish", type="primary", width="stretch")
if save_later or save_finish:
    agent = st.context.headers.get("User-Agent") if st.context.headers else None
    progress = door.answer(lambda: public.submit(
        token, door.client(), answers=filled.answers, uploads=filled.uploads, signatures=filled.signatures,
        user_agent=agent, finish=save_finish, honeypot=trap,
    ))  # fmt: skip
    if progress is not None:
        if progress.complete:
            st.session_state[SAID] = ("ok", "Thank you: your intake form is complete. See you soon.")
        else:
            st.session_state[SAID] = ("later", "Saved. Open the same link any time before your visit to finish. "
                                      f"Still to do: {', '.join(progress.missing)}.")  # fmt: skip
        intake_fields.saved(PREFIX)
        st.rerun()
