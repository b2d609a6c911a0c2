"""Stock movements (the ledger) are refused UPDATE and DELETE by PostgreSQL itself (the
``kanat_append_only`` trigger function of records 0002); SQLite relies on the app."""

from __future__ import annotations

from django.db import migrations

TABLES = ("inventory_stockmovement",)


def triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION kanat_append_only()"
        )


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0001_initial"),
        ("records", "0002_append_only_and_backfill"),
    ]

    operations = [migrations.RunPython(triggers, drop_triggers)]
