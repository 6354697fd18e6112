"""The permissions of this app, for the role matrix (``hotline/accounts/roles.py``).

Administrators manage the calendar, the working hours and the deadline rules; everybody may read
them (a handler wants to know why a deadline falls where it does).
"""

from __future__ import annotations

MODELS = ("calendarday", "workinghours", "deadlinerule")

READ_WORKCALENDAR = frozenset(f"workcalendar.view_{model}" for model in MODELS)
MANAGE_WORKCALENDAR = READ_WORKCALENDAR | frozenset(
    f"workcalendar.{verb}_{model}" for verb in ("add", "change", "delete") for model in MODELS
)
