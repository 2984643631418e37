"""The features of one appointment, as it would have been scored before its day.

Everything here is known before the visit: the booking (lead time, weekday and hour in the
location's zone, location, type, provider, channel of booking), the customer's own earlier
appointments (only those whose local day is before the day scored: an outcome from that day or
later never reaches a feature), and the confirmations and reminders that had happened by the
cutoff (local midnight starting the day, or the scoring moment if earlier). Missing provider or
type (imported history) stays missing: the model handles it.

Pure pandas/numpy: no database, no scikit-learn, so a leakage test can alter outcomes freely.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NUMERIC = ("lead_days", "hour", "weekday", "prior_finished", "prior_no_show", "prior_no_show_rate",
           "last3_no_show", "last3_n", "days_since_last", "prior_cancelled", "confirmed", "reminder_email",
           "reminder_sms")  # fmt: skip
CATEGORICAL = ("location_id", "type_id", "provider_id", "source")
FEATURES = NUMERIC + CATEGORICAL


def localize(frame: pd.DataFrame, zones: dict[int, str]) -> pd.DataFrame:
    """Adds the start's local day (days since 1970-01-01), hour and weekday, the booking's local
    day, and the epoch of the local midnight that starts the day (the cutoff)."""
    out = frame.copy()
    n = len(out)
    day, hour, weekday = np.zeros(n, "int64"), np.zeros(n, "int64"), np.zeros(n, "int64")
    booked_day, midnight = np.zeros(n, "int64"), np.zeros(n, "int64")
    for loc, idx in out.groupby("location_id").indices.items():
        tz = zones.get(int(loc), "UTC")
        start = pd.to_datetime(out["start_e"].to_numpy()[idx], unit="s", utc=True).tz_convert(tz)
        naive = start.tz_localize(None)
        day[idx] = naive.to_numpy().astype("datetime64[D]").astype("int64")
        hour[idx], weekday[idx] = start.hour, start.day_of_week
        midnight_local = start.normalize()
        midnight[idx] = midnight_local.asi8 // 10**9
        if "booked_e" in out:
            booked = pd.to_datetime(out["booked_e"].to_numpy()[idx], unit="s", utc=True).tz_convert(tz)
            booked_day[idx] = booked.tz_localize(None).to_numpy().astype("datetime64[D]").astype("int64")
    out["day"], out["hour"], out["weekday"], out["midnight_e"] = day, hour, weekday, midnight
    out["booked_day"] = booked_day
    return out


def _finished_state(history: pd.DataFrame) -> pd.DataFrame:
    """Per customer and local day: the customer's record at the end of that day."""
    fin = history[history["status"].isin(("completed", "no_show"))]
    fin = fin.sort_values(["customer_id", "day", "start_e"], kind="stable")
    ns = (fin["status"] == "no_show").astype("int64")
    g = ns.groupby(fin["customer_id"])
    cum_ns = g.cumsum()
    cum_fin = g.cumcount() + 1
    before3 = cum_ns.groupby(fin["customer_id"]).shift(3).fillna(0).astype("int64")
    state = pd.DataFrame(
        {
            "customer_id": fin["customer_id"].to_numpy(),
            "day": fin["day"].to_numpy(),
            "prior_finished": cum_fin.to_numpy(),
            "prior_no_show": cum_ns.to_numpy(),
            "last3_no_show": (cum_ns - before3).to_numpy(),
            "last3_n": np.minimum(cum_fin.to_numpy(), 3),
            "last_day": fin["day"].to_numpy(),
        }
    )
    return state.drop_duplicates(["customer_id", "day"], keep="last")


def _cancel_state(history: pd.DataFrame) -> pd.DataFrame:
    c = history[history["status"] == "cancelled"].sort_values(["customer_id", "day"], kind="stable")
    state = pd.DataFrame(
        {"customer_id": c["customer_id"].to_numpy(), "day": c["day"].to_numpy(),
         "prior_cancelled": c.groupby("customer_id").cumcount().to_numpy() + 1}
    )  # fmt: skip
    return state.drop_duplicates(["customer_id", "day"], keep="last")


def _as_of(targets: pd.DataFrame, state: pd.DataFrame) -> pd.DataFrame:
    """For each target, the customer's state at the end of the last day strictly before its day."""
    left = targets[["customer_id", "day"]].reset_index().sort_values("day", kind="stable")
    right = state.sort_values("day", kind="stable")
    merged = pd.merge_asof(left, right, on="day", by="customer_id", allow_exact_matches=False)
    return merged.set_index("index").reindex(targets.index)


def build(
    targets: pd.DataFrame,
    history: pd.DataFrame,
    reminders: pd.DataFrame,
    zones: dict[int, str],
    *,
    now_e: int | None = None,
) -> pd.DataFrame:
    """One row of features per target appointment (same index). `history` holds the customers'
    appointments (any dates); `reminders` the first sent reminder per appointment and channel.
    The cutoff is the local midnight starting each target's day, or `now_e` if that is earlier."""
    t = localize(targets, zones)
    h = localize(history, zones) if len(history) else history.assign(day=pd.Series(dtype="int64"))
    fin = _as_of(t, _finished_state(h)) if len(h) else pd.DataFrame(index=t.index)
    can = _as_of(t, _cancel_state(h)) if len(h) else pd.DataFrame(index=t.index)
    cutoff = t["midnight_e"].to_numpy()
    if now_e is not None:
        cutoff = np.minimum(cutoff, now_e)
    out = pd.DataFrame(index=t.index)
    out["lead_days"] = (t["day"] - t["booked_day"]).clip(lower=0).astype("float64")
    out["hour"] = t["hour"].astype("float64")
    out["weekday"] = t["weekday"].astype("float64")
    for col in ("prior_finished", "prior_no_show", "last3_no_show", "last3_n"):
        out[col] = fin[col].fillna(0).astype("float64") if col in fin else 0.0
    out["prior_no_show_rate"] = np.where(out["prior_finished"] > 0, out["prior_no_show"] / out["prior_finished"].where(out["prior_finished"] > 0, 1), np.nan)  # fmt: skip
    out["days_since_last"] = (t["day"] - fin["last_day"]).astype("float64") if "last_day" in fin else np.nan
    out["prior_cancelled"] = can["prior_cancelled"].fillna(0).astype("float64") if "prior_cancelled" in can else 0.0
    confirmed = t["confirmed_e"].to_numpy(dtype="float64")
    out["confirmed"] = (~np.isnan(confirmed) & (confirmed < cutoff)).astype("float64")
    for channel in ("email", "sms"):
        sent = reminders[reminders["channel"] == channel].set_index("id")["sent_e"]
        sent_e = t["id"].map(sent).to_numpy(dtype="float64")
        out[f"reminder_{channel}"] = (~np.isnan(sent_e) & (sent_e < cutoff)).astype("float64")
    for col in CATEGORICAL:
        out[col] = t[col]
    out["day"] = t["day"]
    return out


def reasons(row: pd.Series) -> list[str]:
    """The features that push a risk up, in words, strongest first (at most three)."""
    said: list[str] = []
    if row["last3_no_show"] >= 1:
        said.append(f"missed {int(row['last3_no_show'])} of their last {int(row['last3_n'])}")
    elif row["prior_no_show"] >= 2:
        said.append(f"missed {int(row['prior_no_show'])} of {int(row['prior_finished'])} before")
    if row["lead_days"] >= 15:
        said.append(f"booked {int(row['lead_days'])} days ahead")
    if row["prior_finished"] == 0:
        said.append("first visit")
    if row["confirmed"] == 0:
        said.append("not confirmed yet")
    return said[:3]
