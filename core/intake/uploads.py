"""Uploaded intake files: the type is read from the content (filetype's magic numbers), never
from the name or what the browser says, and only PDF, JPEG, PNG and HEIC pass; the size is
capped by the INTAKE_UPLOAD_MAX_MB setting (default 10). The bytes go to the uploads folder
(INTAKE_UPLOADS_DIR, default data/uploads) under their SHA-256, written through a temporary file
and moved into place, so the same file uploaded twice is stored once and a half-written file is
never seen; the database keeps the name, type, size and hash (core.base.models.IntakeFile)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import filetype

from core.base.config import get_settings
from core.base.errors import NotFound, ValidationError

ALLOWED = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/heic": "HEIC",
    "image/heif": "HEIC",
}
NAME_MAX = 255


@dataclass(frozen=True)
class Checked:
    name: str
    content_type: str
    size: int
    sha256: str


def folder() -> Path:
    return Path(get_settings().intake_uploads_dir)


def max_mb() -> int:
    return get_settings().intake_upload_max_mb


def max_bytes() -> int:
    return max_mb() * 1024 * 1024


def check(name: str, data: bytes, label: str) -> Checked:
    """The file's record, or ValidationError in one sentence naming the question `label`."""
    name = os.path.basename((name or "").replace("\\", "/")).strip()[:NAME_MAX] or "upload"
    if not data:
        raise ValidationError(f"The file for '{label}' is empty.")
    limit = max_mb()
    if len(data) > max_bytes():
        size = len(data) / (1024 * 1024)
        raise ValidationError(f"The file for '{label}' is {size:.1f} MB; files can be at most {limit} MB.")
    kind = filetype.guess(data[:8192])
    if kind is None or kind.mime not in ALLOWED:
        found = f"a {kind.extension.upper()} file" if kind is not None else "not a file type we can read"
        raise ValidationError(f"The file for '{label}' is {found}: upload a PDF, JPEG, PNG or HEIC (photo) instead.")
    return Checked(name, kind.mime, len(data), hashlib.sha256(data).hexdigest())


def store(checked: Checked, data: bytes) -> Path:
    """Write the bytes under their hash (once); returns the path."""
    target = folder() / checked.sha256
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{checked.sha256}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def load(sha256: str) -> bytes:
    """A stored file's bytes (checked against its hash)."""
    path = folder() / sha256
    if len(sha256) != 64 or not path.is_file():
        raise NotFound("This file is no longer in the uploads folder: ask the customer to upload it again.")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise NotFound("This file in the uploads folder has been changed since it was uploaded: it is not served.")
    return data
