"""Drop the single-column indexes of three foreign keys that a composite index already leads
with: commission.order (commission_once_per_rule), commission.advocate
(commission_advocate_status) and ledgerentry.advocate (ledger_advocate_currency). Every
lookup by those columns, the foreign-key checks on deleting an order or an advocate included,
uses the composite; each index gone is one write less per row a payout build inserts or links.

Only the indexes go: the foreign-key constraints stay as they are. (A plain AlterField would
drop each constraint and add it again, re-checking every row of the table under a lock.)
"""

import django.db.models.deletion
from django.db import migrations, models

# (index, table, column): the names Django gave the indexes in 0001 and 0002.
INDEXES = [
    ("referrals_commission_advocate_id_b5e0e9f0", "referrals_commission", "advocate_id"),
    ("referrals_commission_order_id_7d793718", "referrals_commission", "order_id"),
    ("referrals_ledgerentry_advocate_id_c1bbda9f", "referrals_ledgerentry", "advocate_id"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("advocacy", "0004_stripe_mirror_connect_recurring"),
        ("referrals", "0006_clickdaily"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="commission",
                    name="advocate",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="commissions",
                        to="advocacy.advocate",
                    ),
                ),
                migrations.AlterField(
                    model_name="commission",
                    name="order",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="commissions",
                        to="referrals.order",
                    ),
                ),
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="advocate",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ledger",
                        to="advocacy.advocate",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    sql=f'DROP INDEX "{index}"',
                    reverse_sql=f'CREATE INDEX "{index}" ON "{table}" ("{column}")',
                )
                for index, table, column in INDEXES
            ],
        ),
    ]
