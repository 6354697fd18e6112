"""``manage.py import_orgs --regions F --units F --duties F``: import the org tree from CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hotline.core.csvio import ImportRejected
from hotline.orgs.csvio import orgs_import


class Command(BaseCommand):
    help = (
        "Import regions, units and the duty list from CSV files (any of the three; all or nothing). "
        "Every bad row is printed and nothing is changed if there is one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--regions", type=Path, help="regions CSV")
        parser.add_argument("--units", type=Path, help="units CSV")
        parser.add_argument("--duties", type=Path, help="duty list CSV")
        parser.add_argument("--note", default="CSV import", help="note for the audit log")

    def handle(self, *args: Any, **options: Any) -> None:
        files = {name: options[name] for name in ("regions", "units", "duties") if options[name]}
        if not files:
            raise CommandError("Give at least one of --regions, --units, --duties.")
        data: dict[str, bytes] = {}
        for name, path in files.items():
            try:
                data[name] = path.read_bytes()
            except OSError as exc:
                raise CommandError(f"Cannot read {path}: {exc}") from exc
        try:
            report = orgs_import(**data, note=options["note"])
        except ImportRejected as exc:
            for error in exc.errors:
                label = files[error.file].name if error.file in files else ""
                self.stderr.write(f"{label + ' ' if label else ''}{error}")
            raise CommandError(exc.message) from exc
        for table, counts in report.tables.items():
            self.stdout.write(
                f"{table}: {counts.created} created, {counts.updated} updated, {counts.unchanged} unchanged"
            )
        self.stdout.write(self.style.SUCCESS("Import done."))
