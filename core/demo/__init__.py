"""Realistic, deterministic demo data: `seed_demo` builds it, `is_empty` says whether a database
may receive it."""

from core.demo.builder import DEMO_USERS, Summary, is_empty, seed_demo, sizing

__all__ = ["DEMO_USERS", "Summary", "is_empty", "seed_demo", "sizing"]
