"""Append-only in the database on PostgreSQL (a trigger refuses UPDATE and DELETE of signed
records and chain links; SQLite relies on the app), and a link for every compliance record
written before the chains existed, in the order they were recorded."""

from __future__ import annotations

import datetime as dt

from django.db import migrations

TABLES = ("records_chainlink", "maintenance_compliance")

FUNCTION = """
CREATE OR REPLACE FUNCTION kanat_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'append-only: % rows are never changed or deleted (record a correction)',
        TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;
"""


def triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)
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
    schema_editor.execute("DROP FUNCTION IF EXISTS kanat_append_only()")


def backfill(apps, schema_editor):
    from kanat.records import chain

    Compliance = apps.get_model("maintenance", "Compliance")
    Operator = apps.get_model("core", "Operator")
    ChainHead = apps.get_model("records", "ChainHead")
    ChainLink = apps.get_model("records", "ChainLink")
    codes = dict(Operator.objects.values_list("pk", "code"))
    heads: dict[str, tuple[int, str]] = {}
    rows = Compliance.objects.select_related("task", "aircraft", "part__part_number").order_by(
        "recorded_at", "pk"
    )
    links = []
    for c in rows.iterator(chunk_size=2000):
        name = codes[c.operator_id] if c.operator_id else "hub"
        seq, prev = heads.get(name, (0, chain.ZERO))
        link = ChainLink(
            chain=name,
            seq=seq + 1,
            operator_id=c.operator_id,
            kind="compliance",
            subject_model="maintenance.compliance",
            subject_id=c.pk,
            content_sha256=chain.sha256(chain._compliance_content(c)),
            signer_id=c.performed_by_id,
            signer_label=c.performed_by_label or "migrated",
            qualification_ref="",
            signed_at=c.recorded_at.astimezone(dt.UTC),
            prev_hash=prev,
        )
        link.hash = chain.link_hash(link)
        heads[name] = (link.seq, link.hash)
        links.append(link)
    ChainLink.objects.bulk_create(links, batch_size=2000)
    for name, (seq, digest) in heads.items():
        operator_id = next((k for k, v in codes.items() if v == name), None)
        ChainHead.objects.create(chain=name, operator_id=operator_id, seq=seq, hash=digest)


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0001_initial"),
        ("maintenance", "0003_raiseditem"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RunPython(triggers, drop_triggers),
    ]
