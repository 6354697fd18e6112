"""``manage.py export_orgs --out DIR``: write regions.csv, units.csv and duties.csv."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hotline.orgs.csvio import EXPORTS, export_record


class Command(BaseCommand):
    help = "Export the org tree and the duty list as CSV (UTF-8 with BOM) into a directory."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, required=True, help="directory to write the files into")

    def handle(self, *args: Any, **options: Any) -> None:
        out: Path = options["out"]
        try:
            out.mkdir(parents=True, exist_ok=True)
            for table, export in EXPORTS.items():
                path = out / f"{table}.csv"
                text = export()
                path.write_text(text, encoding="utf-8", newline="")
                export_record(table=table)
                self.stdout.write(f"{path}: {text.count(chr(10)) - 1} rows")
        except OSError as exc:
            raise CommandError(f"Cannot write to {out}: {exc}") from exc
