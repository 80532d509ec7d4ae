"""The "Referrals" menu of the Wagtail admin (orders, the commission queue, fraud signals, the
ledger, the audit log and merchant API keys) and the "Payouts" area (payout batches).

Every model here is read-only to Wagtail's generic views: each permission policy denies add,
change and delete, and the viewsets route no view for them (listing, search, filters and
inspect only). Money moves only through services, behind the views in `referrals.admin_views`:
approving or rejecting commissions (Django's "change" permission on commissions, checked there,
not through the policy, so the generic edit view stays off) and everything about payout batches
(the payout permission, `services.payouts.APPROVE_PERMISSION`). API keys are made and revoked
the same way (Django's "add" and "change" permissions on API keys, checked by their own views):
the generic add view would store whatever the form holds, and a key is revoked, never deleted.
Stripe events are listed and inspected read-only too; replaying one ("change" on Stripe webhook
events) is `admin_views.WebhookEventReplayView`.
"""

from django.contrib.auth.models import Permission
from django.db.models import F
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django_filters import (
    BooleanFilter,
    CharFilter,
    DateFromToRangeFilter,
    ModelChoiceFilter,
)
from wagtail import hooks
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.ui.menus import MenuItem
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.viewsets.model import ModelViewSetGroup
from wagtail.admin.widgets import BooleanRadioSelect, HeaderButton
from wagtail.permissions import register_permission_policy

from advocacy.models import Programme
from kernel.admin import (
    ListingIndexView,
    MoneyColumn,
    MoneyInspectView,
    ReadOnlyModelViewSet,
    RestrictedPermissionPolicy,
    advocate_column,
    read_only_policy,
)
from kernel.money import format_money
from referrals import admin_views, selectors
from referrals.admin_advocates import AdvocateViewSet
from referrals.api.wagtail_hooks import ApiKeyViewSet, StoreViewSet
from referrals.audit_log import AuditEventViewSet, audit_log_url
from referrals.models import (
    Adjustment,
    ApiKey,
    AuditEvent,
    Commission,
    FraudSignal,
    LedgerEntry,
    Order,
    PayoutBatch,
    Store,
    WebhookEvent,
)
from referrals.payouts.wagtail_hooks import PayoutBatchViewSet
from referrals.reports import wagtail_hooks as _reports_hooks  # noqa: F401 (registers its hooks)
from referrals.stripe.wagtail_hooks import WebhookEventViewSet

# Registered before any viewset asks the registry (Wagtail 8 refuses a late registration).
for _model in (
    Adjustment,
    Order,
    Commission,
    FraudSignal,
    LedgerEntry,
    AuditEvent,
    PayoutBatch,
    ApiKey,
    WebhookEvent,
):
    register_permission_policy(_model, read_only_policy(_model))
# Stores are listed and edited (name, programmes), never added here nor deleted.
register_permission_policy(
    Store, RestrictedPermissionPolicy(Store, denied_actions={"add", "delete"})
)


# ------------------------------------------------------------------------------
# Orders


class OrderFilterSet(WagtailFilterSet):
    placed_at = DateFromToRangeFilter(label="Placed", widget=DateRangePickerWidget)

    class Meta:
        model = Order
        fields = ["programme", "store", "source", "attribution", "status"]


class OrderInspectView(MoneyInspectView):
    money_fields = (
        "gross_amount",
        "discount_amount",
        "net_amount",
        "tax_amount",
        "shipping_amount",
    )

    def get_commissions_display_value(self):
        commissions = self.object.commissions.select_related("advocate__user")
        return (
            ", ".join(
                f"{format_money(c.amount, c.currency)} to {c.advocate.user.email} "
                f"({c.get_status_display().lower()})"
                for c in commissions
            )
            or "-"
        )

    def get_fraud_signals_display_value(self):
        signals = self.object.fraud_signals.select_related("resolved_by")
        return "; ".join(admin_views.fraud_signal_summary(s) for s in signals) or "-"

    def get_field_label(self, field_name, field):
        labels = {"commissions": "Commissions", "fraud_signals": "Fraud signals"}
        if field_name in labels:
            return labels[field_name]
        return super().get_field_label(field_name, field)


class OrderViewSet(ReadOnlyModelViewSet):
    model = Order
    name = "orders"
    icon = "clipboard-list"
    menu_label = "Orders"
    list_display = [
        "external_id",
        Column("store", label="Store", accessor="store", sort_key="store__name"),
        "programme",
        advocate_column(),
        "attribution",
        MoneyColumn("net_amount", label="Net amount"),
        "status",
        DateColumn("placed_at", label="Placed", sort_key="placed_at"),
    ]
    filterset_class = OrderFilterSet
    search_fields = ["external_id", "rep_code__code"]
    list_select_related = ("programme", "store", "advocate__user")
    list_export = [
        "store",
        "source",
        "external_id",
        "programme",
        "rep_code",
        "attribution",
        "currency",
        "gross_amount",
        "discount_amount",
        "net_amount",
        "status",
        "placed_at",
    ]
    inspect_view_class = OrderInspectView
    inspect_view_fields = [
        "store",
        "source",
        "external_id",
        "status",
        "placed_at",
        "programme",
        "rep_code",
        "advocate",
        "attribution",
        "currency",
        "gross_amount",
        "discount_amount",
        "net_amount",
        "tax_amount",
        "shipping_amount",
        "shopper_customer_id",
        "commissions",
        "fraud_signals",
        "created_at",
    ]


# ------------------------------------------------------------------------------
# Commissions


class CommissionFilterSet(WagtailFilterSet):
    programme = ModelChoiceFilter(
        field_name="order__programme", queryset=Programme.objects.all(), label="Programme"
    )
    advocate = CharFilter(
        field_name="advocate__user__email", lookup_expr="icontains", label="Advocate email"
    )
    ready = BooleanFilter(
        label="Ready for review",
        method="filter_ready",
        widget=BooleanRadioSelect,
        help_text="Pending, past its hold and not frozen.",
    )
    has_open_fraud = BooleanFilter(label="Open fraud signal", widget=BooleanRadioSelect)
    frozen = BooleanFilter(label="Frozen by a dispute", widget=BooleanRadioSelect)

    class Meta:
        model = Commission
        fields = ["status"]

    def filter_ready(self, queryset, name, value):
        ready = selectors.commissions_ready_for_review(queryset)
        return ready if value else queryset.exclude(pk__in=ready.values("pk"))


class CommissionInspectView(MoneyInspectView):
    """The commission's fields, then its audit trail and its ledger entries."""

    money_fields = ("base_amount", "amount")
    template_name = "referrals/admin/commission_inspect.html"

    def get_page_subtitle(self):
        return admin_views.commission_label(self.object)

    def get_payout_display_value(self):
        payout = self.object.payout
        return f"Payout {payout.pk} in batch {payout.batch_id}" if payout else "-"

    @cached_property
    def header_buttons(self):
        url = audit_log_url(object_type="commission", object_id=self.object.pk)
        return [HeaderButton("Audit log", url=url, icon_name="history")]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        commission = self.object
        can_decide = self.request.user.has_perm(admin_views.DECIDE_PERMISSION)
        context.update(
            events=selectors.audit_trail(commission),
            ledger=selectors.commission_ledger(commission),
            flags=admin_views.commission_flags(commission),
            can_decide=can_decide and commission.status == Commission.Status.PENDING,
            decide_url=reverse("commissions:decide"),
            payout_url=(
                reverse("payouts:payout", args=[commission.payout_id])
                if commission.payout_id
                else None
            ),
        )
        return context


class CommissionViewSet(ReadOnlyModelViewSet):
    """The commissions listing is the managers' queue: see `admin_views.CommissionIndexView`."""

    model = Commission
    name = "commissions"
    icon = "decimal"
    menu_label = "Commissions"
    index_view_class = admin_views.CommissionIndexView
    list_display = [
        "order",
        advocate_column(),
        Column("programme", label="Programme", accessor="order.programme"),
        MoneyColumn("amount"),
        "status",
        # A date in the future: "in 12 days" reads worse than the date itself.
        Column(
            "hold_until",
            label="Held until",
            sort_key="hold_until",
            accessor=lambda c: date_format(timezone.localtime(c.hold_until)),
        ),
        admin_views.FlagsColumn("flags", label="Flags", accessor=admin_views.commission_flags),
    ]
    filterset_class = CommissionFilterSet
    search_fields = ["advocate__user__email", "order__external_id"]
    list_export = [
        "order",
        "advocate",
        "rule",
        "currency",
        "base_amount",
        "amount",
        "status",
        "hold_until",
        "created_at",
    ]
    inspect_view_class = CommissionInspectView
    inspect_view_fields = [
        "order",
        "advocate",
        "rule",
        "status",
        "base_amount",
        "amount",
        "hold_until",
        "frozen",
        "payout",
        "created_at",
    ]

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("decide/", admin_views.CommissionDecideView.as_view(), name="decide"),
            path("release-held/", admin_views.HoldReleaseView.as_view(), name="release_held"),
        ]

    def get_permissions_to_register(self):
        # "Change" is what lets a group approve and reject commissions in the queue (checked by
        # the queue's own views); the generic edit view stays off whatever the box says.
        return Permission.objects.filter(
            content_type__app_label="referrals",
            codename__in=["view_commission", "change_commission"],
        )


# ------------------------------------------------------------------------------
# Fraud signals and the ledger


class FraudSignalIndexView(ListingIndexView):
    """Open signals first, newest first within each group; a Resolve action on the open ones for
    managers with "Change" on fraud signals."""

    def get_base_queryset(self):
        return (
            super()
            .get_base_queryset()
            .order_by(F("resolved_at").desc(nulls_first=True), "-created_at")
        )

    def get_list_more_buttons(self, instance):
        buttons = list(super().get_list_more_buttons(instance))
        if instance.resolved_at is None and self.request.user.has_perm(
            admin_views.RESOLVE_PERMISSION
        ):
            url = reverse("fraud_signals:resolve", args=[instance.pk])
            buttons.append(MenuItem("Resolve", url=url, icon_name="tick", priority=5))
        return buttons


class FraudSignalFilterSet(WagtailFilterSet):
    open = BooleanFilter(
        label="Open", field_name="resolved_at", lookup_expr="isnull", widget=BooleanRadioSelect
    )

    class Meta:
        model = FraudSignal
        fields = ["kind", "resolution"]


class FraudSignalViewSet(ReadOnlyModelViewSet):
    model = FraudSignal
    name = "fraud_signals"
    url_prefix = "fraud-signals"
    icon = "warning"
    menu_label = "Fraud signals"
    index_view_class = FraudSignalIndexView
    list_display = [
        "kind",
        "order",
        advocate_column(),
        "detail",
        Column("state", label="Status", accessor=admin_views.fraud_signal_state),
        DateColumn("created_at", label="Raised", sort_key="created_at"),
    ]
    filterset_class = FraudSignalFilterSet
    search_fields = ["order__external_id", "advocate__user__email", "detail"]
    list_select_related = ("order", "advocate__user", "resolved_by")
    inspect_view_fields = [
        "kind",
        "order",
        "advocate",
        "detail",
        "created_at",
        "resolution",
        "resolved_at",
        "resolved_by",
        "resolution_reason",
    ]

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("resolve/<int:pk>/", admin_views.FraudSignalResolveView.as_view(), name="resolve"),
        ]

    def get_permissions_to_register(self):
        # "Change" lets a group resolve signals (checked by the resolve view itself).
        return Permission.objects.filter(
            content_type__app_label="referrals",
            codename__in=["view_fraudsignal", "change_fraudsignal"],
        )


class AdjustmentIndexView(ListingIndexView):
    @cached_property
    def header_buttons(self):
        buttons = list(super().header_buttons)
        if self.request.user.has_perm(admin_views.ADJUST_PERMISSION):
            url = reverse("adjustments:create")
            buttons.append(HeaderButton("Add a bonus or correction", url=url, icon_name="plus"))
        return buttons


class AdjustmentViewSet(ReadOnlyModelViewSet):
    """Managers' bonuses and corrections; added through `admin_views.AdjustmentCreateView` at
    /admin/referrals/adjustments/add/?advocate=<id> (the advocate's page links there)."""

    model = Adjustment
    name = "adjustments"
    url_prefix = "referrals/adjustments"
    icon = "decimal"
    menu_label = "Adjustments"
    index_view_class = AdjustmentIndexView
    list_display = [
        advocate_column(),
        "kind",
        MoneyColumn("amount"),
        "reason",
        Column("created_by", label="By", accessor="created_by.email"),
        DateColumn("created_at", label="Added", sort_key="created_at"),
    ]
    list_filter = ["kind", "currency"]
    search_fields = ["advocate__user__email", "reason"]
    list_select_related = ("advocate__user", "created_by")
    list_export = ["created_at", "advocate", "kind", "currency", "amount", "reason", "created_by"]
    inspect_view_class = type(
        "AdjustmentInspectView", (MoneyInspectView,), {"money_fields": ("amount",)}
    )

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("add/", admin_views.AdjustmentCreateView.as_view(), name="create"),
        ]

    def get_permissions_to_register(self):
        # "Add" lets a group add bonuses and corrections (checked by the add view itself).
        return Permission.objects.filter(
            content_type__app_label="referrals",
            codename__in=["view_adjustment", "add_adjustment"],
        )


class LedgerEntryInspectView(MoneyInspectView):
    money_fields = ("amount",)


class LedgerEntryViewSet(ReadOnlyModelViewSet):
    model = LedgerEntry
    name = "ledger"
    icon = "list-ol"
    menu_label = "Ledger"
    list_display = [
        "reference",
        advocate_column(),
        "kind",
        MoneyColumn("amount"),
        "memo",
        DateColumn("created_at", label="Recorded", sort_key="created_at"),
    ]
    list_filter = ["kind", "currency"]
    search_fields = ["reference", "advocate__user__email", "memo"]
    list_select_related = ("advocate__user",)
    list_export = ["created_at", "advocate", "kind", "currency", "amount", "reference", "memo"]
    inspect_view_class = LedgerEntryInspectView


# ------------------------------------------------------------------------------
# The audit log


# ------------------------------------------------------------------------------
# Merchant API keys


# ------------------------------------------------------------------------------
# Stripe events


class ReferralsGroup(ModelViewSetGroup):
    menu_label = "Referrals"
    menu_icon = "link"
    menu_order = 210
    items = (
        OrderViewSet,
        CommissionViewSet,
        FraudSignalViewSet,
        LedgerEntryViewSet,
        AdjustmentViewSet,
        AuditEventViewSet,
        ApiKeyViewSet,
        StoreViewSet,
        WebhookEventViewSet,
    )


# ------------------------------------------------------------------------------
# Payouts


@hooks.register("register_admin_viewset")
def register_referral_viewsets():
    return [ReferralsGroup(), PayoutBatchViewSet(), AdvocateViewSet()]  # Programmes menu
