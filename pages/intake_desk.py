"""The intake section of the appointment dialog for a type with a form: where the intake stands
(complete, what is missing, which version), the answers, the files to download and the consents
signed; the desk corrects answers or signs for the customer, marks it received on paper, and
prints it (PDF or HTML). Downloads and prints are audited when clicked; analysts see no files and
no sensitive answers (core.intake.reads decides)."""

from __future__ import annotations

import streamlit as st

from core.intake import answers, reads
from core.security.access import A, Actor, can
from pages import intake_fields
from pages.safe import plain

PREFIX = "dlg_form_intake"


def _size(n: int) -> str:
    return f"{n} bytes" if n < 1024 else f"{n / 1024:.0f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


def section(actor: Actor, record: dict, *, location_id: int, submit) -> None:
    """Draw the section; `submit(call, success)` runs a service the dialog's way."""
    appt_id = record["appointment"]["id"]
    state = "Complete" if record["state"] == "complete" else "Incomplete"
    how = " (received on paper)" if record.get("received_on_paper") else ""
    st.markdown(f"**Intake: {state}{how}** · form version {record['form_version']}")
    if record["missing"] and record["state"] != "complete":
        st.caption("Missing: " + plain(", ".join(record["missing"])))
    rows = [{"Question": i["label"], "Answer": i["answer"]} for i in record["items"] if i["answer"]]
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
    for f in record["files"]:
        st.download_button(
            f"{f['name']} ({_size(f['size'])})", data=lambda fid=f["id"]: reads.download(actor, fid)[2],
            file_name=f["name"], mime=f["content_type"], icon=":material/attach_file:", on_click="ignore",
            key=f"{PREFIX}_file_{f['id']}",
        )  # fmt: skip
    for c in record["consents"]:
        st.caption(plain(f"{c['label']}: signed “{c['signed_name']}” by {c['signed_by']}, {c['signed_at_local']}"))
    pdf, html = st.columns(2)
    pdf.download_button("Print (PDF)", data=lambda: reads.printout_file(actor, appt_id, "pdf"),
                        file_name=f"intake-{appt_id}.pdf", mime="application/pdf", icon=":material/print:",
                        on_click="ignore", key=f"{PREFIX}_pdf", width="stretch")  # fmt: skip
    html.download_button("Print (HTML)", data=lambda: reads.printout_file(actor, appt_id, "html"),
                         file_name=f"intake-{appt_id}.html", mime="text/html", icon=":material/html:",
                         on_click="ignore", key=f"{PREFIX}_html", width="stretch")  # fmt: skip
    if not can(actor, A.APPOINTMENT_NOTE, location_id):
        return
    with st.expander("Fill in or correct", expanded=record["state"] != "complete"):
        files = {f["key"]: f["name"] for f in record["files"]}
        filled = intake_fields.draw(record["definition"], record["answers"], files, set(record["signed"]),
                                    prefix=f"{PREFIX}{appt_id}",
                                    staff=actor.name)  # fmt: skip
        if st.button("Save intake", type="primary", key=f"{PREFIX}_save"):
            intake_fields.saved(f"{PREFIX}{appt_id}")
            submit(lambda: answers.submit(actor, appt_id, answers=filled.answers, uploads_=filled.uploads,
                                          signatures=filled.signatures), "Intake saved.")  # fmt: skip
    if record["state"] != "complete" and st.button("Mark received on paper", key=f"{PREFIX}_paper"):
        submit(lambda: answers.mark_received_on_paper(actor, appt_id, note="received on paper (appointment dialog)"),
               "Intake marked received on paper.")  # fmt: skip
