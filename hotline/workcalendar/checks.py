"""System check ``workcalendar.W001``: in November and December, next year's holidays should be
loaded (the State Council publishes them around then)."""

from __future__ import annotations

import datetime
from typing import Any

from django.core import checks
from django.core.checks import CheckMessage, register
from django.db import DatabaseError
from django.utils import timezone

from .engine import official_covers

WARN_FROM_MONTH = 11


def next_year_messages(*, today: datetime.date) -> list[CheckMessage]:
    """The warning for ``today``: next year is not covered by chinese-calendar and has no
    administrator overrides, and it is November or December."""
    if today.month < WARN_FROM_MONTH:
        return []
    year = today.year + 1
    if official_covers(year):
        return []
    from .models import CalendarDay

    try:
        overrides = CalendarDay.objects.filter(date__year=year).exists()
    except DatabaseError:  # not migrated yet: nothing to say
        return []
    if overrides:
        return []
    return [
        checks.Warning(
            f"The public holidays of {year} are not loaded: deadlines in {year} will count Monday to "
            "Friday only.",
            hint=(
                f"When the State Council publishes the {year} holidays, upgrade chinese-calendar or "
                f"add the holidays and make-up working days of {year} as calendar days in the admin."
            ),
            id="workcalendar.W001",
        )
    ]


@register()
def next_year_loaded(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return next_year_messages(today=timezone.localdate())
