from __future__ import annotations

from collections.abc import Iterator

import pytest

from hotline.workcalendar.engine import calendar_cache_clear, work_calendar


@pytest.fixture(autouse=True)
def _fresh_calendar() -> Iterator[None]:
    """Each test starts without the process's calendar tables: a rolled-back test must not leave
    its overrides behind in the cache."""
    calendar_cache_clear()
    work_calendar().missing_years_seen.clear()
    yield
    calendar_cache_clear()
    work_calendar().missing_years_seen.clear()
