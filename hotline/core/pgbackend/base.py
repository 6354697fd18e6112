"""Django's PostgreSQL backend, reading ``timestamptz`` columns with psycopg's compiled loader.

Django registers a ``timestamptz`` loader of its own (it attaches the connection's time zone) that
derives from psycopg's pure-Python loader, so every timestamp a query returns is parsed in Python:
about 4 µs each, a third of the call dashboard's time when it read hours of raw queue events and
agent states (docs/performance.md, "Reports and dashboards"). When results are in UTC — ``USE_TZ``
with no ``TIME_ZONE`` for the database, as this project's settings have it — psycopg's own loader
returns the same values (aware, ``datetime.timezone.utc``, from the connection's ``TimeZone``, which
Django sets to UTC), compiled when psycopg's C implementation is installed: measured nine times
faster. Each cursor gets it (about 1 µs); any other configuration keeps Django's loader.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.backends.postgresql import base
from psycopg import adapters
from psycopg.pq import Format

TIMESTAMPTZ_OID = adapters.types["timestamptz"].oid
# psycopg's default loader for the type: the compiled one when its C implementation is installed
LOADER = adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)


class DatabaseWrapper(base.DatabaseWrapper):
    def create_cursor(self, name: Any = None) -> Any:
        cursor = super().create_cursor(name)
        if LOADER is not None and settings.USE_TZ and self.timezone_name == "UTC":
            cursor.adapters.register_loader(TIMESTAMPTZ_OID, LOADER)
        return cursor
