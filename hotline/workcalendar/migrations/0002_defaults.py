"""The default working hours (08:30–12:00, 13:30–17:30) and deadline rules.

The 24-hour rules of the utility categories need categories that may not exist yet when this runs:
``services.deadline_rules_ensure_defaults()`` adds them (the demo loader calls it).
"""

import datetime

from django.db import migrations

WORKING_HOURS = [
    (datetime.time(8, 30), datetime.time(12, 0)),
    (datetime.time(13, 30), datetime.time(17, 30)),
]

# (step, urgency, complex_case, amount, measure)
DEFAULT_RULES = [
    ("sign", "", None, 2, "working_hours"),
    ("answer", "", None, 5, "working_days"),
    ("answer", "", True, 15, "working_days"),
    ("answer", "emergency", None, 2, "calendar_hours"),
    ("review", "", None, 1, "working_days"),
    ("revisit", "", None, 3, "working_days"),
    ("extension_max", "", None, 10, "working_days"),
    ("supervise", "", None, 3, "working_days"),
]


def create_defaults(apps, schema_editor):
    WorkingHours = apps.get_model("workcalendar", "WorkingHours")
    DeadlineRule = apps.get_model("workcalendar", "DeadlineRule")
    if not WorkingHours.objects.exists():
        for start, end in WORKING_HOURS:
            WorkingHours.objects.create(start=start, end=end)
    for step, urgency, complex_case, amount, measure in DEFAULT_RULES:
        DeadlineRule.objects.get_or_create(
            step=step,
            request_type=None,
            category=None,
            urgency=urgency,
            complex_case=complex_case,
            defaults={"amount": amount, "measure": measure},
        )


class Migration(migrations.Migration):
    dependencies = [("workcalendar", "0001_initial")]
    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
