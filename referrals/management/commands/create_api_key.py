from django.core.management.base import BaseCommand, CommandError

from advocacy.models import Programme
from kernel.errors import ServiceError
from referrals.api.keys import api_key_create
from referrals.models import Store


class Command(BaseCommand):
    help = "Create a merchant API key and print it once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="What the key is for, e.g. 'Shopify store'.")
        parser.add_argument(
            "--programme",
            action="append",
            default=[],
            metavar="SLUG",
            help="Limit the key to this programme (repeat for several; default: all).",
        )
        parser.add_argument(
            "--store",
            metavar="SLUG",
            help="The store whose orders the key records and sees (default: a new store named "
            "after the key).",
        )

    def handle(self, *args, name, programme, store=None, **options):
        if store is not None:
            slug, store = store, Store.objects.filter(slug=store).first()
            if store is None:
                raise CommandError(f"No store with slug {slug!r}.")
        programmes = []
        for slug in programme:
            found = Programme.objects.filter(slug=slug).first()
            if found is None:
                raise CommandError(f"No programme with slug {slug!r}.")
            programmes.append(found)
        try:
            key, plaintext = api_key_create(name=name, programmes=programmes, store=store)
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        scope = ", ".join(p.slug for p in programmes) or "all programmes"
        self.stdout.write(
            self.style.SUCCESS(f"Created API key '{key.name}' of store '{key.store}' for {scope}.")
        )
        self.stdout.write("Copy it now; it is not shown again:")
        self.stdout.write(plaintext)
