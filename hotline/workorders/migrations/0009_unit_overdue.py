from typing import Any

from django.db import migrations, models
from django.db.models import Exists, OuterRef, Q


def fill(apps: Any, schema_editor: Any) -> None:
    """An existing order was overdue at a unit if the deadline scan marked it overdue while a unit
    had to sign or answer it, or if a unit answered after the answer deadline (the history says)."""
    WorkOrder = apps.get_model("workorders", "WorkOrder")
    OrderEvent = apps.get_model("workorders", "OrderEvent")
    late = OrderEvent.objects.filter(
        Q(action="deadline", data__level=100, from_state__in=["pending_sign", "handling"])
        | Q(action="answer", data__overdue=True),
        order=OuterRef("pk"),
    )
    WorkOrder.objects.filter(was_overdue=True).update(unit_overdue=Exists(late))


class Migration(migrations.Migration):
    dependencies = [
        ("workorders", "0008_order_facts"),
    ]

    operations = [
        migrations.AddField(
            model_name="workorder",
            name="unit_overdue",
            field=models.BooleanField(default=False, verbose_name="overdue at a unit"),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
