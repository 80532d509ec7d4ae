"""Stores: orders and API keys belong to one, and an order id is unique per store.

Existing data: the sandbox and Stripe each get their built-in store, and every existing API key
and API order goes to one shared default API store. The API never recorded which key sent an
order, so only a shared store keeps every existing order answering its keys as before; new
integrations get stores of their own.
"""

import django.db.models.deletion
from django.db import migrations, models

BUILT_IN = {
    "api": ("api-default", "Default API store"),
    "sandbox": ("sandbox", "Sandbox store"),
    "stripe": ("stripe", "Stripe"),
}


def fill_stores(apps, schema_editor):
    Store = apps.get_model("referrals", "Store")
    Order = apps.get_model("referrals", "Order")
    ApiKey = apps.get_model("referrals", "ApiKey")
    if schema_editor.connection.vendor == "postgresql":
        # The foreign keys written below are deferred constraints: checked now, they leave no
        # pending trigger events in the way of the ALTER TABLEs that follow.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    kinds = set(Order.objects.values_list("source", flat=True).distinct())
    if ApiKey.objects.exists():
        kinds.add("api")
    for kind in sorted(kinds):
        slug, name = BUILT_IN[kind]
        store, _ = Store.objects.get_or_create(slug=slug, defaults={"name": name, "kind": kind})
        Order.objects.filter(source=kind, store__isnull=True).update(store=store)
        if kind == "api":
            ApiKey.objects.filter(store__isnull=True).update(store=store)


class Migration(migrations.Migration):
    dependencies = [
        ("advocacy", "0001_initial"),
        ("referrals", "0013_payout_processing_at"),
    ]

    operations = [
        migrations.CreateModel(
            name="Store",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=100)),
                ("slug", models.SlugField(max_length=60, unique=True)),
                (
                    "kind",
                    models.CharField(
                        choices=[("api", "API"), ("sandbox", "Sandbox store"), ("stripe", "Stripe")],
                        default="api",
                        max_length=10,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "programmes",
                    models.ManyToManyField(
                        blank=True, related_name="stores", to="advocacy.programme"
                    ),
                ),
            ],
            options={
                "verbose_name": "store",
                "verbose_name_plural": "stores",
                "ordering": ["name"],
            },
        ),
        migrations.AddField(
            model_name="apikey",
            name="store",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="api_keys",
                to="referrals.store",
            ),
        ),
        migrations.AddField(
            model_name="order",
            name="store",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="orders",
                to="referrals.store",
            ),
        ),
        migrations.RunPython(fill_stores, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="apikey",
            name="store",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="api_keys",
                to="referrals.store",
            ),
        ),
        migrations.AlterField(
            model_name="order",
            name="store",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="orders",
                to="referrals.store",
            ),
        ),
        migrations.RemoveConstraint(model_name="order", name="order_source_unique"),
        migrations.AddConstraint(
            model_name="order",
            constraint=models.UniqueConstraint(
                fields=("store", "external_id"), name="order_store_unique"
            ),
        ),
    ]
