"""`python -m core settings export FILE.yaml` and `settings apply FILE.yaml [--dry-run]`."""

from __future__ import annotations

import sys
from pathlib import Path

from core.base.errors import DomainError


def cmd_export(args) -> int:
    from core.security.access import SYSTEM
    from core.settings.config_file import export_config

    text = export_config(SYSTEM)
    if args.file == "-":
        sys.stdout.write(text)
    else:
        Path(args.file).write_text(text, encoding="utf-8")
        print(f"Wrote the configuration to {args.file}.", file=sys.stderr)
    return 0


def cmd_apply(args) -> int:
    from core.base import migrate
    from core.security.access import SYSTEM
    from core.settings.config_file import apply_config

    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    except OSError as exc:
        raise DomainError(f"Cannot read {args.file}: {exc.strerror}.") from None
    migrate.upgrade()
    lines = apply_config(SYSTEM, text, dry_run=args.dry_run)
    for line in lines:
        print(line)
    verb = "would change" if args.dry_run else "changed"
    print(f"{len(lines)} differences; {verb} {len(lines) if lines else 'nothing'}.", file=sys.stderr)
    return 0


def register(sub) -> None:
    p = sub.add_parser("settings", help="export or apply the whole configuration as one YAML file")
    inner = p.add_subparsers(dest="settings_command", required=True, metavar="ACTION")
    e = inner.add_parser("export", help="write locations, rooms, providers, hours, time off and types to FILE")
    e.add_argument("file", help="YAML file to write ('-' for standard output)")
    e.set_defaults(func=cmd_export)
    a = inner.add_parser("apply", help="show the differences from FILE and change what differs (audited)")
    a.add_argument("file", help="YAML file to read ('-' for standard input)")
    a.add_argument("--dry-run", action="store_true", help="only show the differences; change nothing")
    a.set_defaults(func=cmd_apply)
