"""The API keys listing in the admin's Referrals menu (read-only; made and revoked by their own
views), and the stores listing beside it (a store is renamed and given programmes there; stores
are made with their first key and never deleted: orders and keys belong to them)."""

from django.contrib.auth.models import Permission
from django.urls import path
from django_filters import (
    BooleanFilter,
    ModelChoiceFilter,
)
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.ui.tables import Column, DateColumn, StatusTagColumn
from wagtail.admin.widgets import BooleanRadioSelect

from advocacy.models import Programme
from kernel.admin import ReadOnlyModelViewSet, RestrictedModelViewSet
from referrals.api import admin_views
from referrals.api.forms import StoreForm
from referrals.models import (
    ApiKey,
    Store,
)


class ApiKeyFilterSet(WagtailFilterSet):
    active = BooleanFilter(
        field_name="revoked_at", lookup_expr="isnull", label="Active", widget=BooleanRadioSelect
    )
    programme = ModelChoiceFilter(
        field_name="programmes", queryset=Programme.objects.all(), label="Programme"
    )

    class Meta:
        model = ApiKey
        fields = []


class NeverDateColumn(DateColumn):
    """A date, or "Never" when there is none (a key not used yet)."""

    cell_template_name = "referrals/admin/tables/date_or_never_cell.html"


class ApiKeyViewSet(ReadOnlyModelViewSet):
    """The listing shows a key's prefix only; the secret is shown once, by the create view, and
    only its hash is stored. Keys are revoked, not deleted (orders they recorded point at them
    through the idempotency log), and never edited."""

    model = ApiKey
    name = "api_keys"
    url_prefix = "api-keys"
    icon = "key"
    menu_label = "API keys"
    index_view_class = admin_views.ApiKeyIndexView
    inspect_view_enabled = False
    list_display = [
        "name",
        Column("key", label="Key", accessor=admin_views.api_key_display, sort_key="prefix"),
        Column("store", label="Store", accessor="store", sort_key="store__name"),
        Column("programmes", label="Programmes", accessor=admin_views.api_key_scope),
        Column(
            "created_by", label="Created by", accessor=lambda k: getattr(k.created_by, "email", "-")
        ),
        DateColumn("created_at", label="Created", sort_key="created_at"),
        NeverDateColumn("last_used_at", label="Last used", sort_key="last_used_at"),
        StatusTagColumn(
            "status",
            label="Status",
            accessor=lambda k: "Active" if k.is_active else "Revoked",
            primary=lambda k: k.is_active,
        ),
    ]
    filterset_class = ApiKeyFilterSet
    search_fields = ["name", "prefix", "store__name"]
    list_select_related = ("created_by", "store")
    list_prefetch_related = ("programmes",)

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("new/", self.construct_view(admin_views.ApiKeyCreateView), name="new"),
            path(
                "<int:pk>/revoke/",
                self.construct_view(admin_views.ApiKeyRevokeView),
                name="revoke",
            ),
        ]

    def get_permissions_to_register(self):
        # "Add" creates keys and "change" revokes them, through the views above; there is no
        # delete permission to offer (a key is revoked, never deleted).
        return Permission.objects.filter(
            content_type__app_label="referrals",
            codename__in=["view_apikey", "add_apikey", "change_apikey"],
        )


def _programme_names(store: Store) -> str:
    return ", ".join(p.name for p in store.programmes.all()) or "All programmes"


class StoreViewSet(RestrictedModelViewSet):
    """Managers with "change store" rename a store and choose its programmes (StoreEditView:
    audited, the store's keys re-scoped on their next request). The permission policy
    (`store_policy`) denies adding (a store is made with its first key) and deleting (orders and
    keys belong to a store; the built-in sandbox and Stripe stores are needed by their flows)."""

    model = Store
    name = "stores"
    url_prefix = "stores"
    icon = "site"
    menu_label = "Stores"
    index_view_class = admin_views.StoreIndexView
    edit_view_class = admin_views.StoreEditView
    inspect_view_enabled = False
    # store_update writes the audit row; Wagtail's history would stay empty.
    always_disabled_views = frozenset({"usage", "history"})
    list_display = [
        "name",
        Column("kind", label="Kind", accessor="get_kind_display", sort_key="kind"),
        Column("programmes", label="Programmes", accessor=_programme_names),
        Column("key_count", label="API keys", sort_key="key_count"),
        Column("order_count", label="Orders", sort_key="order_count"),
    ]
    search_fields = ["name", "slug"]
    list_prefetch_related = ("programmes",)

    def get_form_class(self, for_update=False):
        return StoreForm
