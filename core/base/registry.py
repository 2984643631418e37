"""Registries filled from above: the event bus, the worker's jobs and the queue's fixing actions.

A capability marks a function where it lives (`@subscribe(...)`, `@job(...)`, `@fixing_action(...)`):
the mark is only an attribute on the function, so importing a module registers nothing.
`core.bootstrap` lists, in order, the modules whose marks count and installs them once at the
program's start; a registry read before that raises `NotBootstrapped` instead of answering with
whatever happened to be imported. Nothing here imports anything above core.base.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Generic, TypeVar

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., object])


class NotBootstrapped(RuntimeError):
    """A registry was read before `core.bootstrap.bootstrap()` filled it (a programming error)."""


class Registry(Generic[T]):
    """Entries marked on functions (`mark`), installed module by module in the order given
    (`install`, within a module in the order of definition), read with `entries()`."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._attribute = f"__registry_{what.replace(' ', '_')}__"
        self._entries: list[T] = []
        self._installed = False
        self.version = 0  # bumped on every change, for readers that keep an index

    def mark(self, fn: F, entry: T) -> F:
        fn.__dict__.setdefault(self._attribute, []).append(entry)
        return fn

    def marked_in(self, module: ModuleType) -> list[T]:
        """The entries marked on functions defined in `module` (not ones it imports)."""
        found: list[T] = []
        for value in vars(module).values():
            if getattr(value, "__module__", None) == module.__name__ and self._attribute in getattr(
                value, "__dict__", {}
            ):
                found.extend(value.__dict__[self._attribute])
        return found

    def install(self, modules: Iterable[ModuleType]) -> None:
        if self._installed:
            raise RuntimeError(f"The {self.what} registry is already installed; core.bootstrap runs once.")
        for module in modules:
            self._entries.extend(self.marked_in(module))
        self._installed = True
        self.version += 1

    def add(self, entry: T) -> None:
        """One more entry after installation (tests that listen to an event)."""
        self._entries.append(entry)
        self.version += 1

    def remove(self, entry: T) -> None:
        self._entries.remove(entry)
        self.version += 1

    @property
    def installed(self) -> bool:
        return self._installed

    def entries(self) -> list[T]:
        if not self._installed:
            raise NotBootstrapped(
                f"The {self.what} registry is read before it is filled: call core.bootstrap.bootstrap() "
                "once at the program's start (app.py, the CLI, tests/conftest.py and bench do)."
            )
        return list(self._entries)
