"""``manage.py import_taxonomy [FILE]``: import the category tree (default: the bundled one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hotline.core.csvio import ImportRejected
from hotline.taxonomy.importers import BUNDLED_TAXONOMY, taxonomy_import


class Command(BaseCommand):
    help = (
        "Import the category tree from a CSV file with columns level1,level2,level3 "
        "(optionally code1,code2,code3). Without a file, the tree shipped with the project."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", type=Path, default=BUNDLED_TAXONOMY, help="CSV file")
        parser.add_argument("--note", default="CSV import", help="note for the audit log")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        try:
            report = taxonomy_import(data=data, note=options["note"])
        except ImportRejected as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"categories: {report.created} created, {report.updated} updated, {report.unchanged} unchanged"
        )
        self.stdout.write(self.style.SUCCESS("Import done."))
