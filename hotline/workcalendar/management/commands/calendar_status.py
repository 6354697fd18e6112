"""Which years have the official holidays, and which count Monday to Friday (plus overrides)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from hotline.workcalendar.choices import YearStatus
from hotline.workcalendar.selectors import calendar_status


class Command(BaseCommand):
    help = (
        "Print, for each year, whether the official holidays are loaded (official) or the calendar "
        "counts Monday to Friday plus administrator overrides (fallback). Default: last year to next year."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("years", nargs="*", type=int, help="years to show")

    def handle(self, *args: Any, **options: Any) -> None:
        years: list[int] = options["years"]
        if not years:
            this_year = timezone.localdate().year
            years = [this_year - 1, this_year, this_year + 1]
        for year, status, overrides in calendar_status(years=sorted(set(years))):
            line = f"{year}  {status:<8}  {overrides} override(s)"
            if status == YearStatus.FALLBACK:
                self.stdout.write(self.style.WARNING(f"{line}  (Monday to Friday plus overrides)"))
            else:
                self.stdout.write(line)
