"""``manage.py setup_demo``: load the demo city (idempotent; see ``hotline.core.demo``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from hotline.core.demo import DEMO_PASSWORD, load_demo
from hotline.core.errors import ServiceError


class Command(BaseCommand):
    help = "Load the demo city 滨江市 with its org tree, categories, duty list, users and citizens."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = load_demo(stdout=self.stdout if options["verbosity"] > 1 else None)
        except ServiceError as exc:
            details = "\n".join(f"  {key}: {'; '.join(msgs)}" for key, msgs in exc.fields.items())
            raise CommandError(f"{exc.message}\n{details}") from exc
        if any(result.values()):
            summary = ", ".join(f"{count} {kind}" for kind, count in result.items() if count)
            self.stdout.write(self.style.SUCCESS(f"Demo data loaded: {summary}."))
            self.stdout.write(f"Demo password for every account: {DEMO_PASSWORD}")
        else:
            self.stdout.write("Demo data already loaded: nothing changed.")
