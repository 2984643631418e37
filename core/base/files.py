"""Files the commands write for a person (exports, rejected rows): a place checked before any
work is done, written through a temporary file beside it and moved into place, every failure
told in one sentence naming the person's own path (never the temporary file's)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from core.base.errors import ValidationError


def _reason(exc: OSError, folder: Path) -> str:
    if isinstance(exc, IsADirectoryError):
        return "it is a folder: name a file inside it"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return f"no file can be written in {folder} ({(exc.strerror or type(exc).__name__).lower()})"


class Target:
    """A file to write at `path`, reserved at once: `Target(path, what)` raises ValidationError
    if `path` is a folder, its folder is missing or nothing may be written there, before any
    work. `tmp` is the temporary file beside it; `commit()` moves it into place; `discard()`
    removes it (both safe to call more than once)."""

    def __init__(self, path: str | os.PathLike, what: str) -> None:
        self.path, self.what = Path(path), what
        if self.path.is_dir():
            raise self.error(IsADirectoryError())
        folder = self.path.parent
        if not folder.is_dir():
            raise ValidationError(f"Cannot write the {what} {path}: the folder {folder} does not exist.")
        if self.path.exists() and not os.access(self.path, os.W_OK):
            raise self.error(PermissionError())
        try:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{self.path.name}.", suffix=".part")
        except OSError as exc:
            raise self.error(exc) from None
        os.close(fd)
        self.tmp: Path | None = Path(tmp)

    def error(self, exc: OSError) -> ValidationError:
        return ValidationError(f"Cannot write the {self.what} {self.path}: {_reason(exc, self.path.parent)}.")

    def write_text(self, text: str) -> None:
        try:
            with open(self.tmp, "w", newline="", encoding="utf-8") as out:  # type: ignore[arg-type]
                out.write(text)
        except OSError as exc:
            raise self.error(exc) from None

    def commit(self) -> None:
        try:
            os.replace(self.tmp, self.path)  # type: ignore[arg-type]
        except OSError as exc:
            raise self.error(exc) from None
        self.tmp = None

    def discard(self) -> None:
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)
            self.tmp = None

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *_exc) -> None:
        self.discard()
