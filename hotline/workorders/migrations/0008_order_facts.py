from typing import Any

from django.db import migrations, models
from django.db.models import Exists, OuterRef, Q, Subquery


def fill(apps: Any, schema_editor: Any) -> None:
    """Set the new columns of the existing orders from their revisits, extensions and assignments."""
    WorkOrder = apps.get_model("workorders", "WorkOrder")
    Revisit = apps.get_model("workorders", "Revisit")
    Extension = apps.get_model("workorders", "Extension")
    Assignment = apps.get_model("workorders", "Assignment")
    mine = {"order": OuterRef("pk")}
    WorkOrder.objects.update(
        resolved=Subquery(Revisit.objects.filter(**mine).order_by("-round", "-id").values("resolved")[:1]),
        revisited=Exists(Revisit.objects.filter(~Q(method="unreachable"), **mine)),
        extended=Exists(Extension.objects.filter(state="approved", **mine)),
        returned=Exists(Assignment.objects.filter(role="lead", state="returned", **mine)),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("workorders", "0007_report_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="workorder",
            name="extended",
            field=models.BooleanField(default=False, verbose_name="extension approved"),
        ),
        migrations.AddField(
            model_name="workorder",
            name="resolved",
            field=models.BooleanField(blank=True, null=True, verbose_name="resolved (latest revisit)"),
        ),
        migrations.AddField(
            model_name="workorder",
            name="returned",
            field=models.BooleanField(default=False, verbose_name="returned by a lead unit"),
        ),
        migrations.AddField(
            model_name="workorder",
            name="revisited",
            field=models.BooleanField(default=False, verbose_name="citizen reached by a revisit"),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
