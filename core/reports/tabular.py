"""What a page shows as a table, as a file to take elsewhere: CSV and Excel (.xlsx), with
spreadsheet formulas neutralised, and every download audited.

A text cell that starts with =, +, - or @ (or a tab or carriage return) would be run as a formula
by spreadsheet programs; it gets a leading apostrophe, so Excel and LibreOffice show it as text.
Numbers stay numbers.
"""

from __future__ import annotations

import io

import pandas as pd

from core.security.access import Actor
from core.security.service import service

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def safe_cell(value: object) -> object:
    """A text value that a spreadsheet would run as a formula, made plain text."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(safe_cell)
        elif isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].dt.tz_localize(None)  # Excel has no time zones: local wall time
    out.columns = [str(safe_cell(str(c))) for c in out.columns]
    return out


def to_csv(frame: pd.DataFrame) -> bytes:
    return _safe_frame(frame).to_csv(index=False).encode("utf-8")


def to_xlsx(frame: pd.DataFrame, sheet: str = "Data") -> bytes:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        _safe_frame(frame).to_excel(writer, index=False, sheet_name=sheet[:31] or "Data")
    return buf.getvalue()


def record_download(actor: Actor | None, what: str, rows: int, fmt: str, filters: dict | None = None) -> None:
    """Audit a download of `rows` rows of `what` (e.g. "metrics.kpis") before the data leaves."""
    with service(actor, "export.table", entity="export") as tx:
        tx.audit(after={"what": what, "rows": rows, "format": fmt, **(filters or {})})


def export_file(actor: Actor | None, frame: pd.DataFrame, what: str, fmt: str, filters: dict | None = None) -> bytes:
    """The file for a download button, audited first."""
    record_download(actor, what, len(frame), fmt, filters)
    return to_xlsx(frame, what) if fmt == "xlsx" else to_csv(frame)
