"""The public "medical appointment no-shows" file (Brazil, 2016; 110,527 rows), or a file of its
shape when it is not here: the same columns, row count, value formats and mix (visit days over six
weeks at midnight UTC, bookings up to months before with a time and Z, one patient in about two
visits twice, 81 neighbourhoods of very different sizes, a fifth no-shows, a few bookings dated
after the visit). Put the real file at data/KaggleV2-May-2016.csv (or BENCH_NOSHOW_CSV) to time it;
it is not in the repository (its licence is not ours)."""

from __future__ import annotations

import csv
import io
import os
import random
from datetime import date, datetime, timedelta
from pathlib import Path

from core.base.config import ROOT
from core.imports.mapping import parse_mapping

ROWS = 110_527
PATH = Path(os.environ.get("BENCH_NOSHOW_CSV", ROOT / "data" / "KaggleV2-May-2016.csv"))
HEADER = ["PatientId", "AppointmentID", "Gender", "ScheduledDay", "AppointmentDay", "Age", "Neighbourhood",
          "Scholarship", "Hipertension", "Diabetes", "Alcoholism", "Handcap", "SMS_received", "No-show"]  # fmt: skip
# How a team maps it: a neighbourhood is a location (created by the import), the visit day is a
# date at the location (written as midnight UTC, so read with a format that drops the Z).
MAPPING = parse_mapping(
    {
        "columns": {
            "external_id": "AppointmentID", "customer_external_id": "PatientId", "location": "Neighbourhood",
            "start": "AppointmentDay", "booked_at": "ScheduledDay", "status": "No-show",
        },
        "values": {"status": {"Yes": "no_show", "No": "completed"}},
        "timezone": "America/Sao_Paulo",
        "formats": {"start": "%Y-%m-%dT%H:%M:%SZ"},
    }
)  # fmt: skip
_NAMES = ["JARDIM DA PENHA", "MATA DA PRAIA", "PONTAL DE CAMBURI", "REPÚBLICA", "GOIABEIRAS", "ANDORINHAS",
          "CONQUISTA", "NOVA PALESTINA", "DA PENHA", "TABUAZEIRO", "BENTO FERREIRA", "SÃO PEDRO", "SANTA MARTHA",
          "SÃO CRISTÓVÃO", "MARUÍPE", "GRANDE VITÓRIA", "SÃO BENEDITO", "ILHA DAS CAIEIRAS", "SANTO ANDRÉ",
          "SOLON BORGES", "BONFIM", "JARDIM CAMBURI", "MARIA ORTIZ", "JABOUR", "ANTÔNIO HONÓRIO", "RESISTÊNCIA"]  # fmt: skip


def public_file() -> tuple[str, bytes]:
    """(what it is, its bytes): the real file when it is here, else one of its shape."""
    if PATH.exists():
        return f"{PATH.name} (the public file)", PATH.read_bytes()
    return "a file of the public file's shape (the public file is not here)", shaped_file()


def shaped_file(rows: int = ROWS, seed: int = 7) -> bytes:
    rnd = random.Random(seed)
    names = _NAMES + [f"BAIRRO {i:02d}" for i in range(81 - len(_NAMES))]
    weights = [rnd.paretovariate(1.2) for _ in names]
    days = [d for d in (date(2016, 4, 29) + timedelta(n) for n in range(41)) if d.weekday() < 5]
    patients = [rnd.randrange(10**10, 10**15) for _ in range(62_299)]
    ids = rnd.sample(range(5_030_230, 5_790_485), rows)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(HEADER)
    for n, hood in enumerate(rnd.choices(names, weights, k=rows)):
        day = rnd.choice(days)
        lead = 0 if rnd.random() < 0.35 else min(179, int(rnd.expovariate(1 / 14)) + 1)
        if n % 20_000 == 7:
            lead = -1  # booked the day after the visit: rejected, as in the public file
        booked = datetime.combine(day - timedelta(lead), datetime.min.time()) + timedelta(
            seconds=rnd.randrange(7 * 3600, 20 * 3600)
        )
        patient = (
            patients[int(rnd.paretovariate(0.9) * 1000) % len(patients)] if rnd.random() < 0.5 else rnd.choice(patients)
        )
        w.writerow([
            patient, ids[n], rnd.choice("FFM"), f"{booked:%Y-%m-%dT%H:%M:%SZ}", f"{day:%Y-%m-%d}T00:00:00Z",
            rnd.randint(0, 95), hood, *(int(rnd.random() < p) for p in (0.1, 0.2, 0.07, 0.03, 0.02)),
            int(lead >= 3 and rnd.random() < 0.55), "Yes" if rnd.random() < 0.202 else "No",
        ])  # fmt: skip
    return out.getvalue().encode()
