"""A hand-made history imported from CSV gives the metrics worked out by hand (issue 15: "a
hand-made history whose metrics are known"), through the rollup the import keeps."""

from __future__ import annotations

from datetime import date

import pytest

from core.imports.importer import run_import
from core.imports.mapping import parse_mapping
from core.metrics.definitions import Window
from core.metrics.kpis import kpis
from core.metrics.sources import Filters
from core.security.access import SYSTEM
from tests.factories import world

MAPPING = parse_mapping(
    {
        "columns": {
            "external_id": "Visit", "customer_external_id": "Patient no", "customer_name": "Patient",
            "location": "Clinic", "provider": "Doctor", "appointment_type": "Service", "start": "Start",
            "duration_minutes": "Minutes", "booked_at": "Booked", "status": "Outcome", "cancelled_at": "Cancelled",
        },
        "values": {"status": {"Seen": "completed", "DNA": "no_show", "Did not attend": "no_show"}},
    }
)  # fmt: skip

# Downtown is in New York; the times are naive, so they are New York wall-clock times.
HISTORY = b"""\
Visit,Patient no,Patient,Clinic,Doctor,Service,Start,Minutes,Booked,Outcome,Cancelled
H01,P1,Ann Arbor,Downtown,Dr. Rao,Consultation,2016-05-02T09:00,30,2016-05-02T08:00,Seen,
H02,P2,Bo Brant,Downtown,Dr. Rao,Consultation,2016-05-02T10:00,30,2016-04-30,Seen,
H03,P3,Cy Chen,Downtown,Dr. Kim,,2016-05-03T09:00,30,2016-05-01T23:30,Did not attend,
H04,P1,Ann Arbor,Downtown,,,2016-05-03T14:00,,2016-04-26,Seen,
H05,P4,Di Diaz,Downtown,Dr. Rao,Consultation,2016-05-04T09:00,30,2016-05-03,Cancelled,2016-05-03T20:00
H06,P5,Ed Eze,Downtown,Dr. Kim,Consultation,2016-05-04T11:00,30,2016-04-20,Cancelled,2016-05-01T09:00
H07,P2,Bo Brant,Downtown,,,2016-05-05T09:00,,2016-05-05,DNA,
H08,P6,Flo Fox,Downtown,Dr. Rao,Consultation,2016-05-06T16:00,30,2016-04-06,Seen,
H09,P7,Gil Gray,Downtown,Dr. Kim,Consultation,2016-05-08T22:30,30,2016-05-06,Seen,
H10,P8,Hal Hu,Downtown,Dr. Kim,Consultation,2016-05-07T10:00,30,2016-05-04,DNA,
H11,P1,Ann Arbor,Downtown,Dr. Rao,Consultation,2016-05-09T00:30,30,2016-05-02,Seen,
H12,P9,Ida Ito,Downtown,,,2016-05-01T23:00,,2016-04-01,Seen,
"""
WEEK = Window(date(2016, 5, 2), date(2016, 5, 8))  # Monday to Sunday, New York dates


@pytest.fixture
def w(db):
    return world()


def test_an_imported_hand_made_history_has_the_hand_computed_metrics(w):
    result = run_import(SYSTEM, HISTORY, MAPPING, file_name="history.csv")
    assert (result.imported, result.rejected) == (12, 0)
    r = kpis(SYSTEM, WEEK, Filters(location_id=w.locations["downtown"].id))
    # In the week: H01-H10. H09 at 22:30 on Sunday is Monday 02:30 UTC and still counts; H11
    # (Monday 00:30) is the next week's and H12 (Sunday 23:00 the day before) the previous one's.
    assert r["appointments"] == 10
    # Completed H01 H02 H04 H08 H09, no-shows H03 H07 H10: 3 / (5 + 3).
    assert r["no_show_rate"] == pytest.approx(3 / 8)
    # Cancelled H05 (13 hours before, inside the 24-hour window) and H06 (3 days before): one late.
    assert r["late_cancel_rate"] == pytest.approx(1 / 10)
    # Leads in local days: H01 0, H02 2, H03 2 (booked 23:30 on the 1st), H04 7, H05 1, H06 14,
    # H07 0, H08 30, H09 2, H10 3 -> 0 0 1 2 2 2 3 7 14 30: the 5th value is the median, the 9th p90.
    assert (r["lead_time_median_days"], r["lead_time_p90_days"]) == (2, 14)
    previous = r["previous"]  # H12 alone: seen, booked 30 days before
    assert (previous["appointments"], previous["no_show_rate"], previous["late_cancel_rate"]) == (1, 0.0, 0.0)
    assert (previous["lead_time_median_days"], previous["lead_time_p90_days"]) == (30, 30)

    again = run_import(SYSTEM, HISTORY, MAPPING, file_name="history.csv")
    assert (again.imported, again.unchanged) == (0, 12)
    assert kpis(SYSTEM, WEEK, Filters(location_id=w.locations["downtown"].id)) == r
