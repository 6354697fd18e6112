"""Create an administrator account (the first one on a new production install)."""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hotline.accounts.choices import Role
from hotline.accounts.services import user_create
from hotline.core.errors import ServiceError


class Command(BaseCommand):
    help = "Create an administrator. The password comes from HOTLINE_ADMIN_PASSWORD or a prompt."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--full-name", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("HOTLINE_ADMIN_PASSWORD") or getpass.getpass("Password: ")
        try:
            user = user_create(
                actor=None,
                username=options["username"],
                password=password,
                role=Role.ADMIN,
                full_name=options["full_name"],
            )
        except ServiceError as exc:
            details = "; ".join(f"{k}: {', '.join(v)}" for k, v in exc.fields.items())
            raise CommandError(f"{exc.message} {details}") from exc
        self.stdout.write(f"created administrator {user.username}")
