"""The PostgreSQL backend reads timestamps with psycopg's own (compiled) loader and gives the same
aware UTC values as Django's loader would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection
from psycopg.pq import Format

from hotline.callcenter.models import AgentStateLog

pytestmark = pytest.mark.django_db


def test_timestamps_are_read_as_utc_by_psycopgs_loader() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the loader is PostgreSQL's; SQLite's timestamps are parsed by Django")
    from hotline.core.pgbackend.base import LOADER, TIMESTAMPTZ_OID

    shanghai = timezone(timedelta(hours=8))
    moments = [
        datetime(2026, 2, 17, 0, 30, 5, 123456, tzinfo=shanghai),  # the day before in UTC
        datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(2026, 11, 22, 3, 8, tzinfo=timezone(timedelta(hours=-5))),
    ]
    with connection.cursor() as cursor:
        assert cursor.cursor.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT) is LOADER
        for at in moments:
            cursor.execute("SELECT %s::timestamptz", [at])
            (value,) = cursor.fetchone()
            assert value == at and value.tzinfo is UTC
    row = AgentStateLog.objects.create(agent=None, state="ready", at=moments[0])
    loaded = AgentStateLog.objects.get(pk=row.pk).at
    assert loaded == moments[0] and loaded.tzinfo is UTC
    assert loaded.astimezone(shanghai).hour == 0 and loaded.hour == 16
    streamed = AgentStateLog.objects.filter(pk=row.pk).values_list("at", flat=True).iterator()
    assert list(streamed) == [moments[0]]  # a server-side cursor
