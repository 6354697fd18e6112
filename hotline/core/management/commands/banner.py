"""Prints where the platform listens and the demo logins (``make run``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from hotline.accounts.choices import Role
from hotline.core.demo import DEMO_PASSWORD, DEMO_USERS


class Command(BaseCommand):
    help = "Print the platform's address and the demo logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000/")

    def handle(self, *args: Any, **options: Any) -> None:
        url = options["url"]
        out = self.stdout
        out.write("")
        out.write(f"  Hotline 12345 is starting at {url}")
        out.write(f"  API docs: {url}api/docs    Admin: {url}admin/")
        out.write(f"  Demo logins (password {DEMO_PASSWORD} for every account):")
        for username, role, full_name, unit_code in DEMO_USERS:
            out.write(f"    {username:<16} {unit_code:<10} {full_name} · {Role(role).label}")
        out.write("")
