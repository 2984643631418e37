"""The features of one appointment, as it would have been scored before its day.

Everything here is known before the visit: the booking (lead time, weekday and hour in the
location's zone, location, type, provider, channel of booking), the customer's own earlier
appointments (only those that started before the local midnight that starts the day scored: an
outcome from that day or later never reaches a feature), and the confirmations and reminders that had happened by the
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
FINISHED = ("completed", "no_show")
CATEGORICAL = ("location_id", "type_id", "provider_id", "source")
FEATURES = NUMERIC + CATEGORICAL


def _local(epochs: np.ndarray, location_ids: np.ndarray, zones: dict[int, str]) -> tuple[np.ndarray, ...]:
    """Instants (epoch seconds) at their locations: local day (days since 1970-01-01), hour,
    weekday, and the epoch of the local midnight that starts the day."""
    day, hour, weekday, midnight = (np.zeros(len(epochs), "int64") for _ in range(4))
    # One conversion per zone, not per location: a hundred locations share a handful of zones.
    found, which = np.unique(location_ids, return_inverse=True)
    names = np.array([zones.get(int(loc), "UTC") for loc in found], dtype=object)[which]
    for name, idx in pd.Series(names).groupby(names).indices.items():
        local = pd.to_datetime(epochs[idx], unit="s", utc=True).tz_convert(name)
        day[idx] = local.tz_localize(None).to_numpy().astype("datetime64[D]").astype("int64")
        hour[idx], weekday[idx], midnight[idx] = local.hour, local.day_of_week, local.normalize().as_unit("s").asi8
    return day, hour, weekday, midnight


def local_day(epochs: np.ndarray, location_ids: np.ndarray, zones: dict[int, str]) -> np.ndarray:
    """The local day (days since 1970-01-01) of each instant at its location."""
    return _local(epochs, location_ids, zones)[0]


def localize(frame: pd.DataFrame, zones: dict[int, str]) -> pd.DataFrame:
    """Adds the start's local day (days since 1970-01-01), hour and weekday, the booking's local
    day, and the epoch of the local midnight that starts the day (the cutoff)."""
    out = frame.copy()
    locations = out["location_id"].to_numpy()
    out["day"], out["hour"], out["weekday"], out["midnight_e"] = _local(out["start_e"].to_numpy(), locations, zones)
    out["booked_day"] = local_day(out["booked_e"].to_numpy(), locations, zones) if "booked_e" in out else 0
    return out


def record(targets: pd.DataFrame, history: pd.DataFrame, zones: dict[int, str]) -> pd.DataFrame:
    """The customer's record for each target (same index), from their `history` (any dates):
    only the appointments that started before the local midnight that starts the target's day.
    `history` needs id, customer_id, location_id, status and start_e. Columns: prior_finished, prior_no_show,
    last3_no_show (no-shows among the last three finished), last_e and last_location_id (the
    latest finished), prior_cancelled."""
    midnight = _local(targets["start_e"].to_numpy(), targets["location_id"].to_numpy(), zones)[3]
    left = pd.DataFrame(
        {"index": targets.index, "customer_id": targets["customer_id"].to_numpy(), "midnight_e": midnight}
    )
    left = left.sort_values("midnight_e", kind="stable")
    out = pd.DataFrame(index=targets.index)
    fin = history[history["status"].isin(FINISHED)].sort_values(["customer_id", "start_e", "id"], kind="stable")
    ns = (fin["status"] == "no_show").astype("int64")
    cum_ns = ns.groupby(fin["customer_id"]).cumsum()
    state = pd.DataFrame({
        "customer_id": fin["customer_id"].to_numpy(), "start_e": fin["start_e"].to_numpy(),
        "prior_finished": fin.groupby("customer_id").cumcount().to_numpy() + 1, "prior_no_show": cum_ns.to_numpy(),
        "last3_no_show": (cum_ns - cum_ns.groupby(fin["customer_id"]).shift(3).fillna(0)).to_numpy(),
        "last_e": fin["start_e"].to_numpy(), "last_location_id": fin["location_id"].to_numpy(),
    })  # fmt: skip
    can = history[history["status"] == "cancelled"].sort_values(["customer_id", "start_e"], kind="stable")
    cancelled = pd.DataFrame({"customer_id": can["customer_id"].to_numpy(), "start_e": can["start_e"].to_numpy(),
                              "prior_cancelled": can.groupby("customer_id").cumcount().to_numpy() + 1})  # fmt: skip
    for right in (state, cancelled):
        if right.empty:
            for col in right.columns.drop(["customer_id", "start_e"]):
                out[col] = np.nan
            continue
        right = right.astype({"start_e": "int64"}).sort_values("start_e", kind="stable")
        merged = pd.merge_asof(left, right, left_on="midnight_e", right_on="start_e",
                               by="customer_id", allow_exact_matches=False)  # fmt: skip
        merged = merged.set_index("index").reindex(targets.index)
        for col in right.columns.drop(["customer_id", "start_e"]):
            out[col] = merged[col]
    return out


def build(
    targets: pd.DataFrame,
    customers: pd.DataFrame,
    reminders: pd.DataFrame,
    zones: dict[int, str],
    *,
    now_e: int | None = None,
) -> pd.DataFrame:
    """One row of features per target appointment (same index). `customers` is their record
    (`record`); `reminders` the first sent reminder per
    appointment and channel. The cutoff of confirmations and reminders is the local midnight
    starting each target's day, or `now_e` if that is earlier."""
    t = localize(targets, zones)
    cutoff = t["midnight_e"].to_numpy()
    if now_e is not None:
        cutoff = np.minimum(cutoff, now_e)
    out = pd.DataFrame(index=t.index)
    out["lead_days"] = (t["day"] - t["booked_day"]).clip(lower=0).astype("float64")
    out["hour"] = t["hour"].astype("float64")
    out["weekday"] = t["weekday"].astype("float64")
    for col in ("prior_finished", "prior_no_show", "last3_no_show", "prior_cancelled"):
        out[col] = customers[col].reindex(t.index).fillna(0).astype("float64")
    out["last3_n"] = np.minimum(out["prior_finished"], 3)
    out["prior_no_show_rate"] = np.where(out["prior_finished"] > 0, out["prior_no_show"] / out["prior_finished"].where(out["prior_finished"] > 0, 1), np.nan)  # fmt: skip
    last = customers[["last_e", "last_location_id"]].reindex(t.index)
    seen = last["last_e"].notna().to_numpy()
    since = np.full(len(t), np.nan)
    if seen.any():
        days = local_day(
            last["last_e"].to_numpy()[seen].astype("int64"), last["last_location_id"].to_numpy()[seen], zones
        )
        since[seen] = t["day"].to_numpy()[seen] - days
    out["days_since_last"] = since
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
