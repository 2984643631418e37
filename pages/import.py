"""Import history: upload a CSV, map its columns (with a preview of the parsed values), dry run,
then import. The same importer as `python -m core import-appointments`; docs/import.md."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from core.base.errors import DomainError
from core.base.models import Status
from core.imports import preview
from core.imports.importer import run_import
from core.imports.mapping import FIELDS, REQUIRED, load_mapping, parse_mapping
from core.security.access import A
from pages import kit, ui
from pages.safe import plain

actor = ui.require_page(A.IMPORT_APPOINTMENTS)
st.title("Import history")
st.caption(
    "Bring appointment history from another tool or a spreadsheet (CSV, UTF-8). Check it with a dry run first; "
    "importing the same file again updates rows by their external id and never duplicates them."
)
kit.show()

upload = st.file_uploader("CSV file", type=["csv"], key="import_file")
if upload is None:
    st.info(
        "Upload a CSV file with one appointment per row. You need at least an appointment id, a location, a start "
        "date, a status and something that identifies the customer; provider, type and duration may be missing.",
        icon=":material/upload_file:",
    )
    st.stop()
data = upload.getvalue()
try:
    header, first_rows, total = preview.read_header(data, upload.name)
except DomainError as exc:
    st.error(plain(exc), icon=":material/error:")
    st.stop()
st.write(f"**{plain(upload.name)}**: {total:,} rows, {len(header)} columns.")
st.dataframe(pd.DataFrame(first_rows, columns=header), hide_index=True)

NONE = "—"
with st.expander("Use a saved mapping file (JSON)", icon=":material/file_open:"):
    saved = st.file_uploader("Mapping", type=["json"], key="import_mapping_file", label_visibility="collapsed")
loaded = None
if saved is not None:
    try:
        loaded = load_mapping(saved.getvalue().decode("utf-8-sig"))
    except (DomainError, UnicodeDecodeError) as exc:
        st.error(f"That mapping file cannot be used: {plain(exc)}", icon=":material/error:")

st.subheader("Map the columns")
guess = loaded.columns if loaded else preview.guess_columns(header)
source = f"{upload.file_id}_{saved.file_id if saved is not None and loaded else 'guess'}"  # new file or mapping: new defaults
columns: dict[str, str] = {}
grid = st.columns(3)
for i, field in enumerate(FIELDS):
    options = [NONE, *header]
    default = guess.get(field)
    label = field.replace("_", " ") + (" *" if field in REQUIRED else "")
    choice = grid[i % 3].selectbox(
        label, options, index=options.index(default) if default in options else 0, key=f"map_{source}_{field}"
    )
    if choice != NONE:
        columns[field] = choice
left, right = st.columns(2)
timezone = left.text_input(
    "Time zone of times without one (empty: each location's own)",
    value=(loaded.timezone if loaded else "") or "",
    placeholder="e.g. Europe/London",
)
create_locations = right.checkbox("Create locations the file names that do not exist yet", value=False)

values: dict[str, dict[str, str]] = dict(loaded.values) if loaded else {}
if "status" in columns:
    found = preview.distinct_values(data, columns["status"])
    statuses = [s.value for s in Status]
    unknown = [v for v in found if v.lower().replace(" ", "_").replace("-", "_") not in statuses]
    if unknown:
        st.write("**What do the file's status words mean?**")
        table = dict(values.get("status", {}))
        cols = st.columns(min(4, len(unknown)))
        for i, word in enumerate(unknown):
            options = [NONE, *statuses]
            current = table.get(word)
            pick = cols[i % len(cols)].selectbox(
                f"“{word}”",
                options,
                index=options.index(current) if current in options else 0,
                key=f"status_{source}_{word}",
            )
            if pick != NONE:
                table[word] = pick
        values["status"] = table

try:
    mapping = parse_mapping({"columns": columns, "values": values, "timezone": timezone.strip() or None,
                             "formats": loaded.formats if loaded else {}})  # fmt: skip
except DomainError as exc:
    st.warning(plain(exc), icon=":material/rule:")
    st.stop()
st.download_button("Save this mapping (JSON)", mapping.to_json(), file_name="mapping.json", mime="application/json",
                    icon=":material/save:", on_click="ignore")  # fmt: skip

st.subheader("Preview: the first rows as they will be read")
try:
    rows = preview.preview(actor, data, mapping, create_locations=create_locations)
except DomainError as exc:
    st.error(plain(exc), icon=":material/error:")
    st.stop()
table = pd.DataFrame(rows).set_index("line").fillna("")
st.dataframe(
    table[["problem", *(c for c in table.columns if c != "problem")]],
    width="stretch",
    column_config={"problem": st.column_config.TextColumn(width="medium")},
)

st.subheader("Check, then import")
key = (upload.file_id, mapping.to_json(), create_locations)
if st.button("Dry run: check every row", icon=":material/fact_check:"):
    try:
        st.session_state["import_dry"] = (key, run_import(actor, data, mapping, file_name=upload.name, dry_run=True,
                                                          create_locations=create_locations))  # fmt: skip
    except DomainError as exc:
        st.error(plain(exc), icon=":material/error:")
dry = st.session_state.get("import_dry")
if not dry or dry[0] != key:
    st.caption("Run the dry run to see what would be imported and which rows would be rejected, and why.")
    st.stop()
result = dry[1]
a, b, c, d = st.columns(4)
a.metric("New", f"{result.imported:,}")
b.metric("Updated", f"{result.updated:,}")
c.metric("Unchanged", f"{result.unchanged:,}")
d.metric("Rejected", f"{result.rejected:,}")
if result.created_locations:
    st.write(f"Locations to create: {plain(', '.join(result.created_locations))}")
if result.rejections:
    reasons = result.reasons(per_kind=3)
    chart = pd.DataFrame([(kind, n) for kind, n, _ in reasons], columns=["reason", "rows"])
    st.plotly_chart(px.bar(chart, x="rows", y="reason", orientation="h", height=80 + 40 * len(chart))
                    .update_layout(margin={"l": 0, "r": 0, "t": 10, "b": 0}, yaxis_title=None)
                    .update_xaxes(tickformat=",d", dtick=1 if chart["rows"].max() <= 10 else None), width="stretch")  # fmt: skip
    for kind, n, first in reasons:
        st.text(f"{kind} ({n:,}):\n" + "\n".join(f"  {line}" for line in first))
    st.download_button("Rejected rows (CSV, with the reason)", result.rejects_csv(), file_name="rejects.csv",
                       mime="text/csv", icon=":material/download:", on_click="ignore")  # fmt: skip

if result.imported + result.updated == 0 and not result.created_locations:
    st.info("Nothing to import: every valid row is already here, unchanged.")
    st.stop()


def _close() -> None:
    st.session_state.pop("import_confirm", None)


@st.dialog("Import history", on_dismiss=_close)
def confirm() -> None:
    st.write(f"Add **{result.imported:,}** appointments and update **{result.updated:,}** from {plain(upload.name)}? "
             f"{result.rejected:,} rejected rows are left out. The import is one audited change.")  # fmt: skip
    if st.button("Import", type="primary", width="stretch"):
        bar = st.progress(0.0, text="Starting")
        try:
            done = run_import(actor, data, mapping, file_name=upload.name, create_locations=create_locations,
                              progress=lambda f, m: bar.progress(min(1.0, f), text=m))  # fmt: skip
        except DomainError as exc:
            st.error(plain(exc), icon=":material/error:")
            return
        st.session_state.pop("import_dry", None)
        _close()
        kit.say(f"Imported {upload.name}: {done.imported:,} new, {done.updated:,} updated, {done.unchanged:,} "
                 f"unchanged, {done.rejected:,} rejected ({done.seconds:.1f} s).")  # fmt: skip
        st.rerun()


if st.button("Import…", type="primary", icon=":material/upload:"):
    st.session_state["import_confirm"] = key
if st.session_state.get("import_confirm") == key:  # open until imported or dismissed
    confirm()
