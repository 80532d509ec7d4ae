"""Linking a payout's commissions as in-place (HOT) updates in PostgreSQL.

A batch build sets `payout_id` on every payable commission (100k rows at 100k advocates). With
an index on `payout_id` each of those updates wrote a new entry into every index of the table;
without it, and with room left on each page (fillfactor), PostgreSQL rewrites the row on its own
page and touches no index. A payout's commissions are found through the advocate's index (a
payout belongs to one advocate). Measured in bench/README.md.
"""

import django.db.models.deletion
from django.db import migrations, models

FILLFACTOR = 60


def _set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        table = apps.get_model("referrals", "Commission")._meta.db_table
        schema_editor.execute(f'ALTER TABLE "{table}" SET (fillfactor = {FILLFACTOR})')


def _reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        table = apps.get_model("referrals", "Commission")._meta.db_table
        schema_editor.execute(f'ALTER TABLE "{table}" RESET (fillfactor)')


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0007_drop_fk_indexes_covered_by_composites"),
    ]

    operations = [
        migrations.AlterField(
            model_name="commission",
            name="payout",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="commissions",
                to="referrals.payout",
            ),
        ),
        migrations.RunPython(_set_fillfactor, _reset_fillfactor),
    ]
