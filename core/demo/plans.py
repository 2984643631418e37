"""What the generator knows of each location and provider while it lays out the year: ids,
zones, who works where and when, and the booking channels."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from core.demo.catalogue import TypeSpec


@dataclass
class LocationPlan:
    id: int
    index: int
    name: str
    tz: str
    area: str | None
    providers: list[ProviderPlan] = field(default_factory=list)
    exam_rooms: list[int] = field(default_factory=list)
    shared_rooms: dict[str, list[int]] = field(default_factory=dict)
    schedule: list[list[tuple[ProviderPlan, list[tuple[int, int]]]]] = field(
        default_factory=lambda: [[] for _ in range(7)]
    )
    pool: tuple[int, int] = (0, 0)  # first customer id, pool size
    src_cum: list[float] = field(default_factory=list)


@dataclass
class ProviderPlan:
    id: int
    index: int
    name: str
    email: str
    kind: str
    skills: list[str]
    tz: str
    types: list[TypeSpec] = field(default_factory=list)
    cum: list[float] = field(default_factory=list)
    demand: float = 1.0
    off_days: set[date] = field(default_factory=set)
    half_days: set[date] = field(default_factory=set)
    locations: list[LocationPlan] = field(default_factory=list)
