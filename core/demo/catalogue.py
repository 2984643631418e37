"""What the demo world is made of: the demo users, the appointment types, names and places,
the demand and risk patterns, and the fast dice the generator rolls."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from core.base.models import Role

# (username, password, role): one demo user per role, printed by seed-demo and the README.
DEMO_USERS: list[tuple[str, str, str]] = [
    ("frontdesk", "frontdesk-demo-1", Role.FRONT_DESK.value),
    ("provider", "provider-demo-1", Role.PROVIDER.value),
    ("manager", "manager-demo-1", Role.MANAGER.value),
    ("analyst", "analyst-demo-1", Role.ANALYST.value),
    ("admin", "admin-demo-1", Role.ADMIN.value),
]
USER_NAMES = {
    "frontdesk": "Frankie Desk",
    "provider": None,  # the provider's own name
    "manager": "Morgan Manager",
    "analyst": "Avery Analyst",
    "admin": "Ada Admin",
}

CHUNK = 25_000  # appointments per bulk insert
HISTORY_DAYS = 365
AHEAD_DAYS = 28
SOURCES = ("front_desk", "online", "phone", "google")

# ---------------------------------------------------------------------------------------------
# The catalogue


@dataclass(frozen=True)
class TypeSpec:
    name: str
    duration: int  # minutes
    before: int
    after: int
    min_notice: int  # minutes
    horizon: int  # days
    window: int  # cancellation window, hours
    reschedule_notice: int  # hours
    capacity: int
    skills: tuple[str, ...]
    room_kind: str | None
    intake: tuple[tuple[str, str, bool], ...]
    routing: str
    color: str
    weight: float  # how often a provider who can do it books it
    no_show: float  # relative no-show risk
    cancel: float  # relative cancellation risk
    short: float  # share booked within ~a day
    mean_days: float  # typical lead time
    long_days: int  # lead time of planned-ahead bookings, at most

    block: int = 0  # minutes held: buffers and the appointment

    def __post_init__(self) -> None:
        object.__setattr__(self, "block", self.before + self.duration + self.after)


TYPES: tuple[TypeSpec, ...] = (
    TypeSpec(
        "New patient consultation", 45, 0, 10, 24 * 60, 90, 24, 24, 1, ("general",), "exam",
        (("reason", "Reason for visit", True), ("insurance", "Insurance provider", True),
         ("referral", "Referred by", False)),
        "round_robin", "#4C78A8", 3, 1.2, 1.0, 0.04, 9, 60,
    ),
    TypeSpec(
        "Follow-up visit", 20, 0, 5, 120, 60, 24, 12, 1, ("general",), "exam",
        (("reason", "What should we follow up on?", False),),
        "least_booked", "#72B7B2", 5, 0.9, 0.9, 0.15, 6, 35,
    ),
    TypeSpec(
        "Annual check-up", 30, 5, 10, 24 * 60, 180, 48, 24, 1, ("general",), "exam",
        (("medications", "Current medications", True),),
        "round_robin", "#54A24B", 2, 1.0, 1.1, 0.02, 21, 120,
    ),
    TypeSpec(
        "Telehealth check-in", 15, 0, 5, 60, 21, 4, 2, 1, ("general",), None,
        (("callback", "Best number to reach you", True),),
        "least_booked", "#B279A2", 2, 1.4, 0.8, 0.45, 2, 14,
    ),
    TypeSpec(
        "Physiotherapy session", 50, 0, 10, 12 * 60, 60, 24, 24, 1, ("physio",), "treatment",
        (("complaint", "Injury or complaint", True),),
        "round_robin", "#F58518", 6, 1.0, 1.0, 0.08, 6, 45,
    ),
    TypeSpec(
        "Group mobility class", 60, 0, 15, 120, 30, 12, 12, 8, ("group",), "studio", (),
        "round_robin", "#E45756", 1, 1.5, 1.2, 0.10, 5, 28,
    ),
    TypeSpec(
        "Minor procedure", 60, 15, 15, 2 * 24 * 60, 90, 72, 72, 1, ("procedure",), "procedure",
        (("consent", "Consent form signed", True), ("allergies", "Allergies", True)),
        "least_booked", "#9D755D", 1, 0.5, 0.7, 0.0, 14, 60,
    ),
    TypeSpec(
        "Nutrition counselling", 40, 0, 10, 24 * 60, 60, 24, 24, 1, ("nutrition",), "exam",
        (("goals", "What would you like to work on?", True),),
        "round_robin", "#EECA3B", 5, 1.1, 1.0, 0.05, 10, 45,
    ),
)  # fmt: skip

INTAKE_ANSWERS = {
    "reason": ["Back pain", "Persistent cough", "Headaches", "Knee pain after running", "Skin rash"],
    "insurance": ["BlueShield", "Aetna", "Self-pay", "Bupa", "Cigna"],
    "referral": ["Dr. Gomez", "A friend", "Website", ""],
    "medications": ["None", "Lisinopril 10 mg", "Metformin", "Vitamin D"],
    "callback": ["Mobile on file", "Work number", "Call after 5 pm"],
    "complaint": ["Shoulder strain", "ACL rehab", "Lower back", "Ankle sprain", "Neck stiffness"],
    "consent": ["yes"],
    "allergies": ["None known", "Penicillin", "Latex", "Nuts"],
    "goals": ["Lower cholesterol", "Weight management", "Sports nutrition", "Diabetes diet"],
}

# name, IANA zone, city line, US area code (None: London)
LOCATION_SEEDS = (
    ("Downtown", "America/New_York", "New York, NY 10007", "212"),
    ("Brooklyn Heights", "America/New_York", "Brooklyn, NY 11201", "718"),
    ("Shoreditch", "Europe/London", "London EC2A", None),
    ("Lakeview", "America/Chicago", "Chicago, IL 60657", "773"),
    ("Santa Monica", "America/Los_Angeles", "Santa Monica, CA 90401", "310"),
    ("Camden", "Europe/London", "London NW1", None),
    ("Wicker Park", "America/Chicago", "Chicago, IL 60622", "312"),
    ("Cherry Creek", "America/Denver", "Denver, CO 80206", "303"),
    ("Harlem", "America/New_York", "New York, NY 10027", "646"),
    ("Silver Lake", "America/Los_Angeles", "Los Angeles, CA 90026", "213"),
    ("Arcadia", "America/Phoenix", "Phoenix, AZ 85018", "602"),
    ("Clapham", "Europe/London", "London SW4", None),
)
LOCATION_SUFFIXES = ("North", "South", "East", "West", "Central", "Park", "Square", "Plaza", "Hills", "Heights")
STREETS = ("Main St", "Oak Ave", "High St", "Market St", "Church Rd", "Park Lane", "Elm St", "Station Rd")


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    "Olivia Liam Emma Noah Ava Oliver Sophia Elijah Isabella James Mia William Amelia Benjamin Harper Lucas "
    "Evelyn Henry Abigail Alexander Emily Mason Ella Michael Elizabeth Ethan Camila Daniel Luna Jacob Sofia "
    "Logan Avery Jackson Mila Sebastian Aria Jack Scarlett Aiden Penelope Owen Layla Samuel Chloe Matthew "
    "Victoria Joseph Madison Levi Eleanor Mateo Grace David Nora John Riley Wyatt Zoey Carter Hannah Julian "
    "Priya Arjun Mei Hiroshi Fatima Omar Aisha Kwame Chidi Ines Lars Ingrid Mateus Yusuf Zara Rafael Leila"
)
LAST_NAMES = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
    "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark "
    "Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams "
    "Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Patel Shah Kim Chen Wang Okafor Mensah "
    "Kowalski Novak Dubois Rossi Schmidt Murphy O'Brien Kelly Singh Ali Haddad Cohen Silva Costa Tanaka"
)

CANCEL_REASONS = (
    "Schedule conflict", "Feeling better", "Illness", "Transport problem", "Work commitment",
    "Booked elsewhere", "Weather", "Childcare", "Cost", "No reason given",
)  # fmt: skip
STAFF_CANCEL_REASONS = ("Provider unavailable", "Clinic closure", "Duplicate booking")
NOTES = (
    "Prefers morning calls", "Needs step-free access", "Interpreter requested (Spanish)",
    "Running 10 minutes late, called ahead", "Bring previous imaging", "First visit after surgery",
    "Parking validation", "Allergic to latex",
)  # fmt: skip
# Inquiries (the desk's channels, core.inquiries.services.CHANNELS). About one inquiry per 1.3
# appointments: a share of each booking channel's appointments began as an inquiry, and about a
# third of all inquiries led nowhere (closed with a reason, the last days' ones partly still open).
# The first share is drawn from the main dice, as the demo always did (changing it moves every
# appointment after); the second, of the rest, from the inquiries' own.
INQUIRY_SHARE = {"front_desk": 0.05, "online": 0.10, "phone": 0.30, "google": 0.28}
MORE_INQUIRY_SHARE = {"front_desk": 0.305, "online": 0.433, "phone": 0.614, "google": 0.222}
INQUIRY_CHANNELS = {  # booking source -> (inquiry channel, cumulative share)
    "front_desk": (("walk_in", 0.75), ("email", 0.9), ("other", 1.0)),
    "online": (("web", 1.0),),
    "phone": (("phone", 0.85), ("email", 1.0)),
    "google": (("web", 0.8), ("other", 1.0)),
}
LOST_CHANNELS = (("phone", 0.4), ("web", 0.7), ("email", 0.85), ("walk_in", 0.95), ("other", 1.0))
INQUIRY_LOST = (  # (note, closing reason)
    ("Asked about prices", "price"), ("No suitable time offered", "no_suitable_slot"),
    ("Insurance not accepted", "went_elsewhere"), ("Went elsewhere", "went_elsewhere"),
    ("Only wanted information", "no_suitable_slot"), ("Too far away", "went_elsewhere"),
    ("Called twice about the same visit", "duplicate"), ("Will call back next month", "no_suitable_slot"),
    ("Sales call", "spam"),
)  # fmt: skip
PREFERRED_TIMES = ("Mornings", "After 5 pm", "Saturdays", "Any weekday afternoon", "As soon as possible")
VACATION_REASONS = ("Vacation", "Vacation", "Conference", "Sick leave", "Family leave")
PARTIAL_REASONS = ("Training", "Personal appointment", "Team meeting", "Admin afternoon")

# Demand and risk patterns.
WEEKDAY_DEMAND = (1.10, 1.02, 0.97, 1.0, 0.92, 0.85, 0.0)
MONTH_DEMAND = (1.08, 1.03, 1.02, 1.0, 0.98, 0.95, 0.9, 0.82, 1.02, 1.04, 1.02, 0.88)
WEEKDAY_NO_SHOW = (1.25, 0.9, 0.85, 0.95, 1.2, 1.35, 1.0)
SOURCE_NO_SHOW = {"front_desk": 0.75, "online": 1.15, "phone": 0.9, "google": 1.35}
NO_SHOW_BASE = 0.08
CANCEL_BASE = 0.12
RESCHEDULE_RATE = 0.08
REBOOK_RATE = 0.45
FUTURE_BOOKED_MEAN = 6 * 86400  # how long ago upcoming appointments were booked, on average


def randint(rng: random.Random, lo: int, hi: int) -> int:
    """rng.randint without its overhead (the seeder calls it millions of times)."""
    return lo + int(rng.random() * (hi - lo + 1))


def randrange(rng: random.Random, n: int) -> int:
    return int(rng.random() * n)


def choice(rng: random.Random, seq: Sequence):
    return seq[int(rng.random() * len(seq))]


def sizing(appointments: int) -> tuple[int, int, int]:
    """(locations, providers, customers) for a requested number of appointments: a clinic group
    of ~4 locations and ~15 providers at 25k, a chain of ~120 locations at a million."""
    providers = max(6, round(appointments / 1700))
    if providers <= 9:
        locations = 3
    elif providers <= 20:
        locations = 4
    else:
        locations = round(providers / 5)
    customers = max(150, appointments // 8)
    return locations, providers, customers


HALF_DAY_FROM = 13 * 60  # partial time off covers local 13:00-20:00
HALF_DAY_TO = 20 * 60
