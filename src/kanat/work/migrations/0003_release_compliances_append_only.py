"""A release's compliance records (its many-to-many table) are signed with it: PostgreSQL
refuses UPDATE and DELETE there too."""

from __future__ import annotations

from django.db import migrations

TABLE = "work_release_compliances"


def trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION kanat_append_only()"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}")


class Migration(migrations.Migration):
    dependencies = [("work", "0002_append_only")]

    operations = [migrations.RunPython(trigger, drop)]
