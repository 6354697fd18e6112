from django.db import migrations

DEFAULT_REQUEST_TYPES = [
    ("consultation", "咨询"),
    ("complaint", "投诉"),
    ("report", "举报"),
    ("help", "求助"),
    ("suggestion", "建议"),
    ("praise", "表扬"),
]


def create_types(apps, schema_editor):
    RequestType = apps.get_model("taxonomy", "RequestType")
    for order, (code, name) in enumerate(DEFAULT_REQUEST_TYPES, start=1):
        RequestType.objects.get_or_create(code=code, defaults={"name": name, "sort_order": order})


class Migration(migrations.Migration):
    dependencies = [("taxonomy", "0001_initial")]
    operations = [migrations.RunPython(create_types, migrations.RunPython.noop)]
