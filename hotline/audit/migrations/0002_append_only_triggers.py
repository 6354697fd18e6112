"""Make the audit log append-only in the database itself.

PostgreSQL refuses UPDATE and row DELETE (TRUNCATE stays a database owner's tool, used by
retention jobs and test teardown). SQLite refuses UPDATE; its DELETE guard lives in the model,
because SQLite's flush is a DELETE and test teardown needs it.
"""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS audit_no_update ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_no_delete ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_append_only();
"""
SQLITE_FORWARD = """
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_auditevent
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""
SQLITE_BACKWARD = "DROP TRIGGER IF EXISTS audit_no_update;"


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_FORWARD)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
