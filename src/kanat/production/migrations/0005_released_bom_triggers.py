"""A released BOM is never changed, by PostgreSQL itself too (SQLite relies on the app:
``Bom.save``, ``BomLine.save`` and their querysets, which raise ``ReleasedBomEdit``).

* ``production_bom``: a row that is no longer a draft is never deleted, and its only
  update is what ``services.release_bom`` does to the revision released before: status
  released → superseded with ``superseded_at``; every other column stays.
* ``production_bomline``: no line of a BOM that is not a draft is inserted, updated or
  deleted (nor moved to or from one).
* ``production_buildscrap`` (what NCR scrap dispositions scrapped) is append-only like the
  other signed records (``kanat_append_only`` of records 0002).
"""

from __future__ import annotations

from django.db import migrations

BOM_FUNCTION = """
CREATE OR REPLACE FUNCTION kanat_released_bom() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'draft' THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE'
        AND OLD.status = 'released' AND NEW.status = 'superseded'
        AND ROW(NEW.id, NEW.part_number_id, NEW.number, NEW.revision, NEW.based_on_id,
                NEW.effectivity, NEW.reason, NEW.created_at, NEW.created_by_id,
                NEW.released_at, NEW.released_by_id)
            IS NOT DISTINCT FROM
            ROW(OLD.id, OLD.part_number_id, OLD.number, OLD.revision, OLD.based_on_id,
                OLD.effectivity, OLD.reason, OLD.created_at, OLD.created_by_id,
                OLD.released_at, OLD.released_by_id)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'released BOM: BOM % is %, it is never changed (a change is a new revision)',
        OLD.id, OLD.status USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;
"""

LINE_FUNCTION = """
CREATE OR REPLACE FUNCTION kanat_released_bom_line() RETURNS trigger AS $$
DECLARE
    bom bigint;
    bom_status text;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT id, status INTO bom, bom_status FROM production_bom WHERE id = OLD.bom_id;
        IF COALESCE(bom_status, 'draft') <> 'draft' THEN
            RAISE EXCEPTION 'released BOM: lines of BOM % (%) are never changed', bom, bom_status
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        SELECT id, status INTO bom, bom_status FROM production_bom WHERE id = NEW.bom_id;
        IF COALESCE(bom_status, 'draft') <> 'draft' THEN
            RAISE EXCEPTION 'released BOM: lines are added to a draft BOM only, BOM % is %',
                bom, bom_status USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
"""


def triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(BOM_FUNCTION, params=None)
    schema_editor.execute(LINE_FUNCTION, params=None)
    schema_editor.execute(
        "CREATE TRIGGER production_bom_released BEFORE UPDATE OR DELETE ON production_bom "
        "FOR EACH ROW EXECUTE FUNCTION kanat_released_bom()"
    )
    schema_editor.execute(
        "CREATE TRIGGER production_bomline_released "
        "BEFORE INSERT OR UPDATE OR DELETE ON production_bomline "
        "FOR EACH ROW EXECUTE FUNCTION kanat_released_bom_line()"
    )
    schema_editor.execute(
        "CREATE TRIGGER production_buildscrap_append_only BEFORE UPDATE OR DELETE "
        "ON production_buildscrap FOR EACH ROW EXECUTE FUNCTION kanat_append_only()"
    )


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "DROP TRIGGER IF EXISTS production_buildscrap_append_only ON production_buildscrap"
    )
    schema_editor.execute(
        "DROP TRIGGER IF EXISTS production_bomline_released ON production_bomline"
    )
    schema_editor.execute("DROP TRIGGER IF EXISTS production_bom_released ON production_bom")
    schema_editor.execute("DROP FUNCTION IF EXISTS kanat_released_bom_line()")
    schema_editor.execute("DROP FUNCTION IF EXISTS kanat_released_bom()")


class Migration(migrations.Migration):
    dependencies = [
        ("production", "0004_build_scrap_and_serial_claims"),
        ("records", "0002_append_only_and_backfill"),
    ]

    operations = [migrations.RunPython(triggers, drop_triggers)]
