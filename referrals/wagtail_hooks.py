"""The "Referrals" menu of the Wagtail admin: orders, commissions, fraud signals and the ledger.

All four are read-only here. Orders arrive through ingestion (Stripe, the API, the sandbox),
commissions change state only through their services (approval comes with its own views), and
the ledger is append-only for everyone. Each model's permission policy denies add, change and
delete, and the viewsets route no view for them: listing, search, filters and inspect only.
"""

from django.utils import timezone
from django.utils.formats import date_format
from django_filters import DateFromToRangeFilter, ModelChoiceFilter
from wagtail import hooks
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.views.generic import InspectView
from wagtail.admin.viewsets.model import ModelViewSetGroup
from wagtail.coreutils import multigetattr
from wagtail.permissions import register_permission_policy

from advocacy.models import Programme
from advocacy.money import format_money
from advocacy.wagtail_hooks import ReadOnlyModelViewSet, read_only_policy

from .models import Commission, FraudSignal, LedgerEntry, Order

# Registered before any viewset asks the registry (Wagtail 8 refuses a late registration).
# Commission approval will need its own action ("approve"), not "change": keep this read-only.
for _model in (Order, Commission, FraudSignal, LedgerEntry):
    register_permission_policy(_model, read_only_policy(_model))


class MoneyColumn(Column):
    """An integer amount in minor units shown in its row's currency ("€123.45")."""

    def __init__(self, name, currency_accessor="currency", **kwargs):
        kwargs.setdefault("sort_key", name)
        super().__init__(name, **kwargs)
        self.currency_accessor = currency_accessor

    def get_value(self, instance):
        amount = super().get_value(instance)
        if amount is None:
            return None
        return format_money(amount, multigetattr(instance, self.currency_accessor))


def advocate_column(accessor="advocate", sort_key="advocate__user__email"):
    return Column(
        "advocate", label="Advocate", accessor=f"{accessor}.user.email", sort_key=sort_key
    )


class MoneyInspectView(InspectView):
    """Shows the model's `money_fields` formatted in the row's currency."""

    money_fields = ()

    def get_field_display_value(self, field_name, field):
        if field_name in self.money_fields:
            return format_money(getattr(self.object, field_name), self.object.currency)
        return super().get_field_display_value(field_name, field)


# ------------------------------------------------------------------------------
# Orders


class OrderFilterSet(WagtailFilterSet):
    placed_at = DateFromToRangeFilter(label="Placed", widget=DateRangePickerWidget)

    class Meta:
        model = Order
        fields = ["programme", "source", "attribution", "status"]


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
        signals = self.object.fraud_signals.all()
        return ", ".join(s.get_kind_display() for s in signals) or "-"

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
        "source",
        "programme",
        advocate_column(),
        "attribution",
        MoneyColumn("net_amount", label="Net amount"),
        "status",
        DateColumn("placed_at", label="Placed", sort_key="placed_at"),
    ]
    filterset_class = OrderFilterSet
    search_fields = ["external_id", "rep_code__code"]
    list_select_related = ("programme", "advocate__user")
    list_export = [
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

    class Meta:
        model = Commission
        fields = ["status"]


class CommissionInspectView(MoneyInspectView):
    money_fields = ("base_amount", "amount")


class CommissionViewSet(ReadOnlyModelViewSet):
    model = Commission
    name = "commissions"
    icon = "decimal"
    menu_label = "Commissions"
    list_display = [
        "order",
        advocate_column(),
        MoneyColumn("amount"),
        "status",
        # A date in the future: "in 12 days" reads worse than the date itself.
        Column(
            "hold_until",
            label="Held until",
            sort_key="hold_until",
            accessor=lambda c: date_format(timezone.localtime(c.hold_until)),
        ),
    ]
    filterset_class = CommissionFilterSet
    search_fields = ["advocate__user__email", "order__external_id"]
    list_select_related = ("order", "advocate__user")
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


# ------------------------------------------------------------------------------
# Fraud signals and the ledger


class FraudSignalViewSet(ReadOnlyModelViewSet):
    model = FraudSignal
    name = "fraud_signals"
    url_prefix = "fraud-signals"
    icon = "warning"
    menu_label = "Fraud signals"
    list_display = [
        "kind",
        "order",
        advocate_column(),
        "detail",
        DateColumn("created_at", label="Raised", sort_key="created_at"),
    ]
    list_filter = ["kind"]
    search_fields = ["order__external_id", "advocate__user__email", "detail"]
    list_select_related = ("order", "advocate__user")


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


class ReferralsGroup(ModelViewSetGroup):
    menu_label = "Referrals"
    menu_icon = "link"
    menu_order = 210
    items = (OrderViewSet, CommissionViewSet, FraudSignalViewSet, LedgerEntryViewSet)


@hooks.register("register_admin_viewset")
def register_referral_viewsets():
    return ReferralsGroup()
