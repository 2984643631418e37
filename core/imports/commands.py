"""`python -m core import-appointments FILE --mapping MAPPING.json [--dry-run] [--create-locations]
[--rejects REJECTS.csv] [--notify]`."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from core.base.errors import DomainError
from core.base.files import Target
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


def cmd_import(args) -> int:
    data = _read(args.file, "file")
    raw = _read(args.mapping, "mapping file")
    try:
        mapping = load_mapping(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise DomainError(f"The mapping file {args.mapping} is not UTF-8 text.") from None

    def progress(fraction: float, message: str) -> None:
        if sys.stderr.isatty():
            print(f"\r{fraction:4.0%} {message:<60}", end="", file=sys.stderr, flush=True)

    # The rejects file's place is reserved before anything is read from the database, and its
    # rows are written inside the import's transaction: a file that cannot be written leaves
    # nothing imported. Only the final move into place comes after the commit.
    with contextlib.ExitStack() as stack:
        rejects = stack.enter_context(Target(args.rejects, "rejects file")) if args.rejects else None
        result = run_import(
            SYSTEM,
            data,
            mapping,
            file_name=Path(args.file).name,
            dry_run=args.dry_run,
            create_locations=args.create_locations,
            progress=progress,
            notify=args.notify,
            before_commit=(lambda done: rejects.write_text(done.rejects_csv())) if rejects else None,
        )
        if sys.stderr.isatty():
            print(file=sys.stderr)
        if rejects is not None:
            try:
                rejects.commit()
            except DomainError as exc:
                raise DomainError(f"The import was committed, but the rejected rows were not saved: {exc}") from None
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
