"""CSV and Excel download buttons for what a page shows (never imported by core/)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.reports import tabular
from core.security.access import Actor


def download_buttons(actor: Actor, frame: pd.DataFrame, name: str, *, what: str, filters: dict | None = None) -> None:
    """Two buttons, CSV and Excel, for `frame` as shown; the file is built and the download
    audited when clicked."""
    if frame.empty:
        return
    csv_col, xlsx_col = st.columns(2)
    csv_col.download_button(
        f"CSV ({len(frame)} row{'' if len(frame) == 1 else 's'})",
        data=lambda: tabular.export_file(actor, frame, what, "csv", filters),
        file_name=f"{name}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key=f"dl_csv_{what}_{name}",
        width="stretch",
    )
    xlsx_col.download_button(
        "Excel",
        data=lambda: tabular.export_file(actor, frame, what, "xlsx", filters),
        file_name=f"{name}.xlsx",
        mime=tabular.XLSX_MIME,
        icon=":material/table_view:",
        on_click="ignore",
        key=f"dl_xlsx_{what}_{name}",
        width="stretch",
    )
