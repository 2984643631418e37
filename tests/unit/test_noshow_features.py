"""The no-show features of day D use only what was known before D: altering any outcome from day
D or later (statuses, confirmations, reminders after the cutoff) never changes them; and the
customer's record has the known answers on a hand-built history."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pandas as pd
import pytest

from core.noshow import features

pytestmark = pytest.mark.unit

ZONES = {1: "America/New_York", 2: "Europe/London"}
D = datetime(2026, 3, 10, tzinfo=UTC)  # the scored day (local dates in each zone)
DAY_E = int(D.timestamp())


def appt(i, customer, start_e, status, *, loc=1, booked_e=None, confirmed_e=None, provider=7.0, type_=3.0):
    return {"id": i, "external_id": None, "location_id": loc, "provider_id": provider, "type_id": type_,
            "customer_id": customer, "source": "online", "status": status, "start_e": start_e,
            "booked_e": booked_e if booked_e is not None else start_e - 20 * 86400,
            "confirmed_e": confirmed_e}  # fmt: skip


def frame(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df["confirmed_e"] = df["confirmed_e"].astype("float64")
    return df


def world(seed: int):
    """Three customers with history spread around D, several appointments on D itself."""
    rng = random.Random(seed)
    rows, i = [], 0
    for customer in (1, 2, 3):
        for k in range(-12, 8):
            i += 1
            start = DAY_E + k * 86400 + 15 * 3600 + rng.randrange(0, 5) * 3600
            status = rng.choice(["completed", "completed", "no_show", "cancelled"])
            rows.append(appt(i, customer, start, status, loc=1 + customer % 2, confirmed_e=start - 3600))
    return frame(rows)


@pytest.mark.parametrize("seed", range(5))
def test_a_feature_for_day_d_never_changes_when_outcomes_from_d_on_are_altered(seed):
    rows = world(seed)
    rows.loc[len(rows)] = appt(999, 1, DAY_E + 12 * 3600, "completed", confirmed_e=DAY_E + 11 * 3600)
    rows["confirmed_e"] = rows["confirmed_e"].astype("float64")
    local = features.localize(rows, ZONES)
    target_day = local.loc[local["id"] == 999, "day"].item()
    targets = rows[local["day"] == target_day]
    reminders = pd.DataFrame({"id": rows["id"], "channel": "email", "sent_e": rows["start_e"] - 2 * 86400})
    before = features.build(targets, features.record(targets, rows, ZONES), reminders, ZONES)

    altered = rows.copy()
    rng = random.Random(seed + 100)
    later = local["day"] >= target_day
    altered.loc[later, "status"] = [rng.choice(["completed", "no_show", "cancelled"]) for _ in range(later.sum())]
    on_the_day = altered.loc[later, "start_e"] - 600  # SMS reminders sent on the day itself
    late_sent = pd.concat(
        [reminders, pd.DataFrame({"id": altered.loc[later, "id"], "channel": "sms", "sent_e": on_the_day})]
    )
    altered.loc[later, "confirmed_e"] = altered.loc[later, "start_e"] - 60.0
    changed = altered[local["day"] == target_day]
    after = features.build(changed, features.record(changed, altered, ZONES), late_sent, ZONES)
    pd.testing.assert_frame_equal(before, after)


def test_the_customers_record_counts_only_earlier_days():
    day = 86400
    rows = frame([
        appt(1, 5, DAY_E - 30 * day + 15 * 3600, "no_show"),
        appt(2, 5, DAY_E - 20 * day + 15 * 3600, "completed"),
        appt(3, 5, DAY_E - 10 * day + 15 * 3600, "no_show"),
        appt(4, 5, DAY_E - 5 * day + 15 * 3600, "cancelled"),
        appt(5, 5, DAY_E - 2 * day + 15 * 3600, "no_show"),
        appt(6, 5, DAY_E + 14 * 3600, "no_show"),  # the same day, earlier: not yet known
        appt(7, 5, DAY_E + 16 * 3600, "completed", booked_e=DAY_E - 34 * day + 12 * 3600, provider=float("nan")),
        appt(8, 6, DAY_E + 16 * 3600, "completed"),  # a first visit
    ])  # fmt: skip
    empty = pd.DataFrame({"id": [], "channel": [], "sent_e": []})
    targets = rows[rows["id"].isin([7, 8])]
    out = features.build(targets, features.record(targets, rows, ZONES), empty, ZONES).set_index(pd.Index([7, 8]))
    first, new = out.loc[7], out.loc[8]
    assert (first["prior_finished"], first["prior_no_show"], first["last3_no_show"], first["last3_n"]) == (4, 3, 2, 3)
    assert first["prior_cancelled"] == 1 and first["days_since_last"] == 2 and first["lead_days"] == 34
    assert first["hour"] == 12 and first["weekday"] == 1  # 16:00 UTC is noon in New York; a Tuesday
    assert pd.isna(first["provider_id"]) and first["confirmed"] == 0
    assert new["prior_finished"] == 0 and pd.isna(new["prior_no_show_rate"]) and pd.isna(new["days_since_last"])
    assert features.reasons(first.to_dict()) == [
        "missed 2 of their last 3",
        "booked 34 days ahead",
        "not confirmed yet",
    ]
    assert "first visit" in features.reasons(new.to_dict())


def test_confirmations_and_reminders_count_when_they_came_before_the_day():
    start = DAY_E + 16 * 3600  # noon in New York on D (local midnight: 05:00 UTC)
    rows = frame([
        appt(1, 5, start, "completed", confirmed_e=start - 20 * 3600),  # confirmed the evening before
        appt(2, 6, start, "completed", confirmed_e=start - 2 * 3600),  # confirmed on the day: not known yet
    ])  # fmt: skip
    sent = pd.DataFrame({"id": [1, 2], "channel": ["sms", "sms"], "sent_e": [start - 86400, start - 3600]})
    out = features.build(rows, features.record(rows, rows, ZONES), sent, ZONES)
    assert out["confirmed"].tolist() == [1.0, 0.0] and out["reminder_sms"].tolist() == [1.0, 0.0]
    assert out["reminder_email"].tolist() == [0.0, 0.0]
