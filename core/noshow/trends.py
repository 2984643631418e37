"""No-show and late-cancel trends (docs/noshow.md has the definitions): by hour of day and
weekday, by lead-time band, by reminder received and its offset, by new or returning customer,
each figure with the number behind it and a flag where that is under FEW; and the model's
expected no-shows per week against what happened.

Rates follow the metric definitions: no-show rate = no-shows / (completed + no-shows); late-cancel
rate = late cancellations / all appointments. Days, hours and weeks are local to each location."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import or_, select

from core.base.db import get_engine
from core.base.errors import ValidationError
from core.base.models import Appointment, NoShowScore, NotificationOutbox
from core.noshow import data, features
from core.notifications.stats import NoShowByReminder, local_windows, no_show_by_reminder
from core.security.access import A, Actor
from core.security.service import reading

FEW = 30
MIN_DAYS = 84  # trends read at least twelve weeks, ending on the window's last day
LEAD_BANDS = ((0, 0, "same day"), (1, 2, "1-2 days"), (3, 7, "3-7 days"), (8, 14, "8-14 days"),
              (15, 30, "15-30 days"), (31, 10**6, "over 30 days"))  # fmt: skip
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
BREAKDOWNS = ("lead time", "reminder received", "reminder offset", "customer")


@dataclass
class Trends:
    first: date
    last: date
    heatmap: pd.DataFrame  # weekday x hour: finished, no_shows, no_show_rate, few
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    by_reminder: NoShowByReminder | None = None


def widened(first: date, last: date) -> tuple[date, date]:
    return min(first, last - timedelta(days=MIN_DAYS - 1)), last


def _reminders(conn, ids) -> pd.DataFrame:
    o = NotificationOutbox
    rows = conn.execute(
        select(o.appointment_id, o.channel, o.offset_min, data.epoch(conn, o.sent_at)).where(
            o.kind == "reminder", o.status == "sent", o.appointment_id.in_(ids)
        )
    ).all()
    return pd.DataFrame(rows, columns=["id", "channel", "offset_min", "sent_e"])


def _rates(frame: pd.DataFrame, key: str, order: list[str]) -> pd.DataFrame:
    g = frame.groupby(key, observed=False)
    out = pd.DataFrame({
        "appointments": g.size(), "finished": g["finished"].sum(), "no_shows": g["no_show"].sum(),
        "late_cancels": g["late_cancel"].sum(),
    }).reindex(order, fill_value=0)  # fmt: skip
    out["no_show_rate"] = (out["no_shows"] / out["finished"].where(out["finished"] > 0)).astype("float64")
    out["late_cancel_rate"] = (out["late_cancels"] / out["appointments"].where(out["appointments"] > 0)).astype(
        "float64"
    )
    out["few"] = out["finished"] < FEW
    return out.rename_axis(key).reset_index()


def _offset_label(minutes: float) -> str:
    if np.isnan(minutes):
        return "none"
    return f"{minutes / 1440:g} days" if minutes >= 2880 else f"{minutes / 60:g} h"


def trends(actor: Actor | None, first: date, last: date, *, location_id: int | None = None) -> Trends:
    if last < first:
        raise ValidationError(f"The window ends ({last}) before it starts ({first}).")
    first, last = widened(first, last)
    with reading(actor, A.METRICS_VIEW, location_id, entity="metrics") as s:
        windows = local_windows(s, actor, first, last, location_id)
    if not windows:
        return Trends(first, last, pd.DataFrame())
    in_window = or_(*windows)
    with get_engine().connect() as conn:
        zones = data.zones(conn)
        appts = data.appointments(conn, in_window)
        late = dict(conn.execute(select(Appointment.id, Appointment.late_cancel).where(in_window)).all())
        history = data.history_of(conn, select(Appointment.customer_id).where(in_window))
        sent = _reminders(conn, select(Appointment.id).where(in_window))
    first_sent = sent.sort_values("sent_e").drop_duplicates(["id", "channel"])  # several offsets per channel
    f = features.build(appts, features.record(appts, history, zones), first_sent.drop(columns="offset_min"), zones)
    frame = pd.DataFrame({
        "weekday": f["weekday"].astype(int), "hour": f["hour"].astype(int),
        "finished": appts["status"].isin(data.FINISHED).to_numpy(), "no_show": (appts["status"] == "no_show").to_numpy(),
        "late_cancel": appts["id"].map(late).fillna(False).astype(bool).to_numpy(),
    }, index=appts.index)  # fmt: skip
    lead = f["lead_days"].to_numpy()
    frame["lead time"] = pd.cut(lead, [-1] + [hi for _, hi, _ in LEAD_BANDS], labels=[b for *_, b in LEAD_BANDS])
    before = sent.merge(appts[["id", "start_e"]], on="id")
    before = before[before["sent_e"] < before["start_e"]]
    channels = before.groupby("id")["channel"].agg(lambda c: "both" if c.nunique() > 1 else c.iloc[0])
    names = {"email": "email", "sms": "SMS", "both": "both"}
    frame["reminder received"] = [names.get(channels.get(i), "none") for i in appts["id"]]
    longest = appts["id"].map(before.groupby("id")["offset_min"].max()).to_numpy(dtype="float64")
    frame["reminder offset"] = [_offset_label(m) for m in longest]
    frame["customer"] = np.where(f["prior_finished"].to_numpy() > 0, "returning", "new")
    offsets = sorted({o for o in frame["reminder offset"] if o != "none"}, key=lambda o: -float(o.split()[0]) * (1440 if "days" in o else 60))  # fmt: skip
    orders = {"lead time": [b for *_, b in LEAD_BANDS], "reminder received": ["none", "email", "SMS", "both"],
              "reminder offset": ["none", *offsets], "customer": ["new", "returning"]}  # fmt: skip
    heat = frame.groupby(["weekday", "hour"]).agg(finished=("finished", "sum"), no_shows=("no_show", "sum"))
    heat["no_show_rate"] = heat["no_shows"] / heat["finished"].where(heat["finished"] > 0)
    heat["few"] = heat["finished"] < FEW
    heat = heat.reset_index()
    heat["weekday"] = [WEEKDAYS[d] for d in heat["weekday"]]
    return Trends(
        first, last, heat, {name: _rates(frame, name, orders[name]) for name in BREAKDOWNS},
        no_show_by_reminder(actor, first, last, location_id=location_id),
    )  # fmt: skip


def expected_by_week(
    actor: Actor | None, last: date, *, weeks: int = 8, location_id: int | None = None
) -> pd.DataFrame:
    """Per local week (Monday) up to the one holding `last`: the no-shows the stored scores expected
    (the sum of the risks of the scored appointments that finished) against those that happened."""
    monday = last - timedelta(days=last.weekday())
    first = monday - timedelta(weeks=weeks - 1)
    with reading(actor, A.METRICS_VIEW, location_id, entity="metrics") as s:
        windows = local_windows(s, actor, first, monday + timedelta(days=6), location_id)
    empty = pd.DataFrame(columns=["week", "scored", "expected", "happened", "few"])
    if not windows:
        return empty
    with get_engine().connect() as conn:
        rows = conn.execute(
            select(
                Appointment.location_id, data.epoch(conn, Appointment.start_at), Appointment.status, NoShowScore.risk
            )
            .join(NoShowScore, NoShowScore.appointment_id == Appointment.id)
            .where(or_(*windows), Appointment.status.in_(data.FINISHED))
        ).all()
        zones = data.zones(conn)
    if not rows:
        return empty
    frame = pd.DataFrame(rows, columns=["location_id", "start_e", "status", "risk"])
    local = features.localize(frame, zones)
    days = local["day"].to_numpy() - local["weekday"].to_numpy()
    frame["week"] = [date(1970, 1, 1) + timedelta(days=int(d)) for d in days]
    g = frame.groupby("week")
    out = pd.DataFrame({"scored": g.size(), "expected": g["risk"].sum(), "happened": g["status"].apply(lambda s: int((s == "no_show").sum()))})  # fmt: skip
    out["few"] = out["scored"] < FEW
    return out.reset_index()


def describe(t: Trends) -> str:
    """The trends as text tables (the CLI's output)."""
    out = [f"No-show trends, {t.first} to {t.last} (n = finished appointments; * = under {FEW}, too few to read)"]
    for name, frame in t.tables.items():
        out.append(f"\nby {name}:\n{'':<14}{'appts':>7}{'n':>7}{'no-show':>9}{'late-cancel':>13}")
        for r in frame.to_dict("records"):
            ns = "-" if pd.isna(r["no_show_rate"]) else f"{r['no_show_rate']:.1%}"
            lc = "-" if pd.isna(r["late_cancel_rate"]) else f"{r['late_cancel_rate']:.1%}"
            flag = " *" if r["few"] else ""
            out.append(f"{r[name]:<14}{r['appointments']:>7,}{r['finished']:>7,}{ns:>9}{lc:>13}{flag}")
    if len(t.heatmap):
        out.append("\nby weekday and hour (no-show rate, n):")
        for r in t.heatmap.to_dict("records"):
            rate = "-" if pd.isna(r["no_show_rate"]) else f"{r['no_show_rate']:.1%}"
            out.append(f"{r['weekday']} {r['hour']:02d}:00  {rate:>6}  n={r['finished']}{' *' if r['few'] else ''}")
    return "\n".join(out)
