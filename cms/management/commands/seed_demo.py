"""Load the demo: one programme, its campaign page, a manager, two advocates, clicks and orders.

Idempotent: every object is found by a natural key before it is created, orders go through the
ingestion service (unique by source and external id), so a second run changes nothing.
"""

from datetime import timedelta
from decimal import Decimal

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import F
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone
from wagtail.models import Page, Site

from advocacy.models import Advocate, Programme, RepCode
from advocacy.services import programme_join, repcode_create_vanity
from cms.models import CampaignPage, HomePage
from referrals.links.clicks import click_record, clicks_drain
from referrals.models import Click, Commission, Order
from referrals.services.commissions import commissions_release_held
from referrals.services.discounts import shopper_discount
from referrals.services.orders import order_ingest

DEMO_PASSWORD = "streetteam-demo"
PROGRAMME_SLUG = "trailhead-friends"
VANITY_CODE = "ANNA20"

# (external id, days ago, advocate email, gross in cents, how the shopper came)
DEMO_ORDERS = [
    ("demo-1001", 70, "anna@example.com", 12900, "code"),
    ("demo-1002", 58, "anna@example.com", 5900, "code"),
    ("demo-1003", 45, "ben@example.com", 8400, "code"),
    ("demo-1004", 33, "anna@example.com", 18800, "code"),
    ("demo-1005", 21, "anna@example.com", 3600, "code"),
    ("demo-1006", 12, "ben@example.com", 12900, "code"),
    ("demo-1007", 6, "anna@example.com", 14300, "code"),
    ("demo-1008", 2, "anna@example.com", 8400, "code"),
    # Big baskets whose hold has ended: their commissions are above the programme's auto-approve
    # limit (€25.00), so they wait in the managers' queue, ready for review (bulk approve).
    ("demo-1009", 40, "anna@example.com", 34900, "code"),
    ("demo-1010", 37, "ben@example.com", 42900, "code"),
    ("demo-1011", 34, "anna@example.com", 31900, "code"),
]


class Command(BaseCommand):
    help = "Load the demo programme, pages, users, clicks and orders (safe to run twice)."

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help="Print nothing but errors.")

    def handle(self, *args, **options):
        # Demo people don't need "you earned a commission" emails for made-up orders.
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
            self._seed(options)

    @transaction.atomic
    def _seed(self, options):
        home = self._home_page()
        programme = self._programme()
        self._campaign_page(home, programme)
        manager = self._user("manager@example.com", "Morgan", staff=True)
        anna = self._user("anna@example.com", "Anna")
        ben = self._user("ben@example.com", "Ben")
        self._user("shopper@example.com", "Sam")
        anna_advocate = programme_join(user=anna, programme=programme, accept_terms=True)
        ben_advocate = programme_join(user=ben, programme=programme, accept_terms=True)
        if not RepCode.objects.filter(code=VANITY_CODE).exists():
            repcode_create_vanity(advocate=anna_advocate, code=VANITY_CODE, channel="Instagram")
        self._clicks(anna_advocate, 46)
        self._clicks(ben_advocate, 17)
        self._orders(programme)
        # Old demo orders are past their hold: approve them as the hourly task would (the big
        # ones stay pending, ready for a manager's review).
        released = commissions_release_held()
        if not options["quiet"]:
            self._report(manager, anna_advocate, ben_advocate, released["awaiting_review"])

    def _home_page(self) -> HomePage:
        home = HomePage.objects.first()
        if home is None:
            root = Page.get_first_root_node()
            # Wagtail's migrations leave a placeholder "Welcome" page; ours replaces it.
            for page in root.get_children().exclude(content_type__model="homepage"):
                page.delete()
            home = root.add_child(
                instance=HomePage(
                    title="Share what you love. Your friends save. You earn.",
                    slug="home",
                    intro=(
                        "Streetteam runs referral programmes for shops whose best marketing "
                        "is their customers. Join a programme, share your code, and earn on "
                        "every sale you bring."
                    ),
                )
            )
        site = Site.objects.filter(is_default_site=True).first()
        if site is None:
            Site.objects.create(
                hostname="127.0.0.1",
                port=8000,
                root_page=home,
                is_default_site=True,
                site_name="Streetteam",
            )
        elif site.root_page_id != home.pk:
            site.root_page = home
            site.site_name = "Streetteam"
            site.save()
        return home

    def _programme(self) -> Programme:
        programme, _ = Programme.objects.get_or_create(
            slug=PROGRAMME_SLUG,
            defaults={
                "name": "Trailhead Friends",
                "currency": "EUR",
                "status": Programme.Status.ACTIVE,
                "description": (
                    "Trailhead Outfitters' customer referral programme: your friends get 20% off "
                    "their first gear order and you earn 10% of what they spend."
                ),
                "shopper_reward_percent": Decimal("20"),
                "advocate_reward_percent": Decimal("10"),
                "hold_days": 30,
                "attribution_window_days": 30,
                "payout_threshold": 2000,
                "auto_approve_limit": 2500,
                "shopper_one_use": True,
                "terms": (
                    "1. Share your code with people you know; no paid ads on our brand name and "
                    "no coupon sites.\n2. You earn 10% of the order value after discount, "
                    "excluding tax and shipping.\n3. Commissions are held for 30 days (our "
                    "return window) and then reviewed.\n4. Orders you place yourself with your "
                    "own code earn nothing.\n5. We pay balances of €20.00 or more each month."
                ),
            },
        )
        return programme

    def _campaign_page(self, home: HomePage, programme: Programme) -> CampaignPage:
        page = CampaignPage.objects.filter(programme=programme).first()
        if page is not None:
            return page
        body = [
            {
                "type": "hero",
                "value": {
                    "headline": "A friend thinks you'll love Trailhead",
                    "subheading": (
                        "Boots, packs and layers for muddy Sundays, tested by people who "
                        "actually go outside."
                    ),
                    "image": None,
                },
            },
            {
                "type": "offer",
                "value": {
                    "title": "20% off your first order",
                    "text": "<p>The code is already applied when you shop from this page. "
                    "It works once per customer, on any order.</p>",
                },
            },
            {
                "type": "how_it_works",
                "value": {
                    "title": "How it works",
                    "steps": [
                        {"title": "Follow the link", "text": "Your friend's code comes with you."},
                        {"title": "Shop as usual", "text": "The discount shows before you pay."},
                        {
                            "title": "Pass it on",
                            "text": "Loved it? Join the programme and get a code of your own.",
                        },
                    ],
                },
            },
            {
                "type": "faq",
                "value": {
                    "title": "Questions",
                    "items": [
                        {
                            "question": "Does my friend see what I buy?",
                            "answer": "<p>No. They see that an order came through their code, "
                            "never what is in it or who placed it.</p>",
                        },
                        {
                            "question": "Can I use the code more than once?",
                            "answer": "<p>The friend offer is for one order per customer.</p>",
                        },
                    ],
                },
            },
            {
                "type": "call_to_action",
                "value": {
                    "text": "Ready when you are.",
                    "button_label": "Shop with 20% off",
                    "target": "shop",
                },
            },
        ]
        page = home.add_child(
            instance=CampaignPage(
                title="Trailhead Friends",
                slug="friends",
                programme=programme,
                body=body,
            )
        )
        return page

    def _user(self, email: str, first_name: str, *, staff: bool = False):
        User = get_user_model()
        user, created = User.objects.get_or_create(
            email=email,
            defaults={"first_name": first_name, "is_staff": staff, "is_superuser": staff},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        EmailAddress.objects.get_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        return user

    def _clicks(self, advocate: Advocate, count: int) -> None:
        if Click.objects.filter(advocate=advocate).exists():
            return
        code = advocate.codes.order_by("created_at").first()
        now = timezone.now()
        for i in range(count):
            click_record(
                rep_code_id=code.pk,
                advocate_id=advocate.pk,
                visitor_id=f"demo{advocate.pk}x{i}",
                ip=f"192.0.2.{i % 200}",
                user_agent="Mozilla/5.0 (demo)",
                referrer="https://www.instagram.com/" if i % 3 else "",
                landing="/friends/",
                at=now - timedelta(days=(i * 83) % 77, hours=i % 24),
            )
        clicks_drain()

    def _orders(self, programme: Programme) -> None:
        now = timezone.now()
        for n, (external_id, days_ago, email, gross, _how) in enumerate(DEMO_ORDERS):
            advocate = Advocate.objects.get(programme=programme, user__email=email)
            code = advocate.codes.order_by("created_at").first().code
            result = order_ingest(
                source="sandbox",
                external_id=external_id,
                currency=programme.currency,
                gross_amount=gross,
                discount_amount=shopper_discount(programme, gross),
                shipping_amount=0,
                code=code,
                shopper_email=f"friend{n + 1}@example.net",
                placed_at=now - timedelta(days=days_ago),
            )
            # Demo history: these orders reached us `days_ago`, so their holds began then
            # (a live order's hold counts from the moment it is recorded).
            if result.created:
                Order.objects.filter(pk=result.order.pk).update(created_at=result.order.placed_at)
                Commission.objects.filter(order=result.order).update(
                    hold_until=F("hold_until") - timedelta(days=days_ago)
                )

    def _report(self, manager, anna, ben, awaiting_review: int) -> None:
        site = settings.SITE_URL
        out = self.stdout
        out.write(self.style.SUCCESS("Demo data is ready."))
        out.write("")
        out.write(f"  Password for every demo login: {DEMO_PASSWORD}")
        out.write(f"  Programme manager: {manager.email}  ->  {site}/admin/")
        for advocate in (anna, ben):
            codes = ", ".join(c.code for c in advocate.codes.filter(is_active=True))
            out.write(f"  Advocate:          {advocate.user.email}  codes {codes}")
        out.write("  Shopper:           shopper@example.com")
        out.write("")
        out.write(f"  Try a referral link:  {site}/r/{VANITY_CODE}")
        out.write(f"  Advocate dashboard:   {site}/dashboard/")
        out.write(
            f"  Ready for review:     {site}{reverse('commissions:index')}?ready=true "
            f"({awaiting_review} commissions past their hold)"
        )
        out.write(f"  Sandbox store:        {site}/shop/")
