"""Scrap dispositions that scrap what they name (``BuildScrap``, the NCR's material or
unit), and output serials claimed once per part number across every build order: each
output gets its product's part number (backfilled) and ``buildoutput_serial_per_pn``."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def backfill_part_numbers(apps, schema_editor):
    BuildOutput = apps.get_model("production", "BuildOutput")
    for output in BuildOutput.objects.select_related("order__product").iterator():
        output.part_number_id = output.order.product.part_number_id
        output.save(update_fields=["part_number"])
    if schema_editor.connection.vendor == "postgresql":
        # check the deferred foreign keys now: the column is altered in this transaction
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("fleet", "0002_aircrafttype_finding_tasks_aircrafttype_limits"),
        ("inventory", "0004_purchase_order_prices"),
        ("production", "0003_first_articles"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="BuildScrap",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("quantity", models.DecimalField(decimal_places=3, max_digits=14)),
                ("at", models.DateTimeField()),
            ],
            options={
                "ordering": ["order", "at", "id"],
            },
        ),
        migrations.AddField(
            model_name="buildoutput",
            name="part_number",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="fleet.partnumber",
            ),
        ),
        migrations.RunPython(backfill_part_numbers, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="buildoutput",
            name="part_number",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="fleet.partnumber"
            ),
        ),
        migrations.AddField(
            model_name="buildoutput",
            name="scrapped_by",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="scrapped_output",
                to="production.nonconformance",
            ),
        ),
        migrations.AddField(
            model_name="nonconformance",
            name="consumption",
            field=models.ForeignKey(
                blank=True,
                help_text="The issued material (serial or batch) that does not conform",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="ncrs",
                to="production.buildconsumption",
            ),
        ),
        migrations.AddField(
            model_name="nonconformance",
            name="output",
            field=models.ForeignKey(
                blank=True,
                help_text="The unit (output serial) that does not conform",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="ncrs",
                to="production.buildoutput",
            ),
        ),
        migrations.AddConstraint(
            model_name="buildoutput",
            constraint=models.UniqueConstraint(
                fields=("part_number", "serial"), name="buildoutput_serial_per_pn"
            ),
        ),
        migrations.AddConstraint(
            model_name="buildoutput",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("part__isnull", True), ("scrapped_by__isnull", True), _connector="OR"
                ),
                name="buildoutput_scrapped_not_registered",
            ),
        ),
        migrations.AddField(
            model_name="buildscrap",
            name="actor",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="buildscrap",
            name="consumption",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="scrap",
                to="production.buildconsumption",
            ),
        ),
        migrations.AddField(
            model_name="buildscrap",
            name="movement",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="inventory.stockmovement",
            ),
        ),
        migrations.AddField(
            model_name="buildscrap",
            name="ncr",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="scraps",
                to="production.nonconformance",
            ),
        ),
        migrations.AddField(
            model_name="buildscrap",
            name="order",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="scraps",
                to="production.buildorder",
            ),
        ),
        migrations.AddConstraint(
            model_name="buildscrap",
            constraint=models.CheckConstraint(
                condition=models.Q(("quantity__gt", 0)), name="buildscrap_quantity_gt_0"
            ),
        ),
    ]
