"""`python -m core import-appointments FILE --mapping MAPPING.json [--dry-run] [--create-locations]
[--rejects REJECTS.csv] [--notify]`."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from core.base.errors import DomainError
from core.imports.importer import run_import
from core.imports.mapping import load_mapping
from core.security.access import SYSTEM


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise DomainError(f"No {what} at {path}.") from None
    except IsADirectoryError:
        raise DomainError(f"The {what} {path} is a directory, not a file.") from None
    except PermissionError:
        raise DomainError(f"The {what} {path} cannot be read: permission denied.") from None


def write_atomically(path: str, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then move it into place: a failure
    never leaves a half-written or truncated file behind."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent if str(target.parent) else ".", prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cmd_import(args) -> int:
    data = _read(args.file, "file")
    raw = _read(args.mapping, "mapping file")
    try:
        mapping = load_mapping(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise DomainError(f"The mapping file {args.mapping} is not UTF-8 text.") from None
    if args.rejects and not Path(args.rejects).resolve().parent.is_dir():
        raise DomainError(f"Cannot write the rejects file {args.rejects}: its folder does not exist.")

    def progress(fraction: float, message: str) -> None:
        if sys.stderr.isatty():
            print(f"\r{fraction:4.0%} {message:<60}", end="", file=sys.stderr, flush=True)

    result = run_import(
        SYSTEM,
        data,
        mapping,
        file_name=Path(args.file).name,
        dry_run=args.dry_run,
        create_locations=args.create_locations,
        progress=progress,
        notify=args.notify,
    )
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if args.rejects:
        write_atomically(args.rejects, result.rejects_csv())
    print("\n".join(result.summary_lines()))
    if args.rejects:
        print(f"  rejected rows written to {args.rejects}")
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "import-appointments",
        help="import appointment history from a CSV file (see docs/import.md for the mapping)",
        description="Import appointment history from CSV. Valid rows are written in one transaction; "
        "rejected rows are listed with their line number and reason. Re-importing updates by external_id.",
    )
    p.add_argument("file", help="the CSV file (UTF-8)")
    p.add_argument("--mapping", required=True, metavar="MAPPING.json", help="which column holds which field")
    p.add_argument("--dry-run", action="store_true", help="check every row and print the summary; write nothing")
    p.add_argument("--create-locations", action="store_true", help="create locations the file names that do not exist")
    p.add_argument("--notify", action="store_true",
                   help="send a confirmation for each upcoming appointment imported (reminders are sent either way)")  # fmt: skip
    p.add_argument("--rejects", metavar="REJECTS.csv", help="write the rejected rows here, with a reason column")
    p.set_defaults(func=cmd_import)
