"""The Wagtail admin toolkit every app's screens build on.

A permission policy that denies chosen actions outright (`RestrictedPermissionPolicy`, and
`read_only_policy` for models that change only through services), viewsets that route only the
views their policy allows (`RestrictedModelViewSet`, `ReadOnlyModelViewSet`), and a listing
view with our empty states and CSV exports (`ListingIndexView`). Importing this module
registers nothing.
"""

from django.contrib.admin.utils import quote
from django.contrib.auth import get_permission_codename, get_user_model
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.functional import cached_property
from wagtail.admin import messages
from wagtail.admin.admin_url_finder import ModelAdminURLFinder
from wagtail.admin.ui.tables import Column
from wagtail.admin.utils import get_valid_next_url_from_request
from wagtail.admin.views.generic import IndexView, InspectView
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.coreutils import multigetattr
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import policy_registry

from kernel.money import format_money
from kernel.spreadsheet import spreadsheet_safe


class RestrictedPermissionPolicy(ModelPermissionPolicy):
    """Django's model permissions, except that `denied_actions` are never granted to anyone.

    Superusers included: a ledger entry is append-only for everybody, not only for managers
    without the right box ticked.
    """

    def __init__(self, model, *, denied_actions):
        super().__init__(model)
        self.denied_actions = frozenset(denied_actions)

    def user_has_permission(self, user, action):
        return action not in self.denied_actions and super().user_has_permission(user, action)

    def users_with_any_permission(self, actions):
        allowed = [action for action in actions if action not in self.denied_actions]
        if not allowed:
            return get_user_model().objects.none()
        return super().users_with_any_permission(allowed)


def read_only_policy(model) -> RestrictedPermissionPolicy:
    """Managers with the model's "view" permission may list and inspect; nobody may write."""
    return RestrictedPermissionPolicy(model, denied_actions={"add", "change", "delete"})


class ListingIndexView(IndexView):
    """An index view that loads related rows up front and searches across relations.

    Searching across a to-many relation (an advocate's codes) would repeat rows, so the search
    matches primary keys in a subquery instead of filtering the listing's own query.
    """

    list_select_related = ()
    list_prefetch_related = ()
    # Header labels for columns named by a lookup ("user__email"), keyed by that lookup.
    column_labels = {}

    def preprocess_field_value(self, field, value, export_format):
        # Every CSV and XLSX export cell: text others wrote must not run as a formula.
        return spreadsheet_safe(super().preprocess_field_value(field, value, export_format))

    @cached_property
    def columns(self):
        columns = super().columns
        for column in columns:
            if column.sort_key in self.column_labels:
                column.label = self.column_labels[column.sort_key]
        return columns

    def get_base_queryset(self):
        queryset = super().get_base_queryset()
        if self.list_select_related:
            queryset = queryset.select_related(*self.list_select_related)
        if self.list_prefetch_related:
            queryset = queryset.prefetch_related(*self.list_prefetch_related)
        return queryset

    def search_queryset(self, queryset):
        if not self.is_searching:
            return queryset
        matches = super().search_queryset(self.model._default_manager.all())
        return queryset.filter(pk__in=matches.values("pk"))


class RestrictedModelViewSet(ModelViewSet):
    """A ModelViewSet that routes only the views the model's permission policy allows.

    An action the policy denies ("add", "change", "delete") loses its view, its URL and every
    button leading there. Copying is off: our rows are not templates for other rows.
    """

    index_view_class = ListingIndexView
    # The reference index re-scans a row on every save; orders and ledger entries are written
    # hundreds of times a second, and nothing here needs "where is this used?" pages.
    add_to_reference_index = False
    copy_view_enabled = False
    list_select_related = ()
    list_prefetch_related = ()
    column_labels = {}
    # Views that are never wanted here, whatever the policy says (no reference index: no usage).
    always_disabled_views = frozenset({"usage"})

    # The URL names each view owns, as ModelViewSet.get_urlpatterns() names them.
    _URL_NAMES = {
        "add": ("add",),
        "edit": ("edit",),
        "delete": ("delete",),
        "history": ("history", "history_results"),
        "usage": ("usage",),
    }

    @cached_property
    def denied_actions(self) -> frozenset[str]:
        policy = policy_registry.get_by_type(self.model)
        return getattr(policy, "denied_actions", frozenset())

    @cached_property
    def disabled_views(self) -> frozenset[str]:
        views = set(self.always_disabled_views)
        for action, view in (("add", "add"), ("change", "edit"), ("delete", "delete")):
            if action in self.denied_actions:
                views.add(view)
        if "edit" in views:
            views.add("history")  # nothing is edited through the admin, so there is no history
        return frozenset(views)

    def get_common_view_kwargs(self, **kwargs):
        view_kwargs = super().get_common_view_kwargs(**kwargs)
        for view in self.disabled_views:
            view_kwargs[f"{view}_url_name"] = None
        return view_kwargs

    def get_index_view_kwargs(self, **kwargs):
        return super().get_index_view_kwargs(
            list_select_related=self.list_select_related,
            list_prefetch_related=self.list_prefetch_related,
            column_labels=self.column_labels,
            **kwargs,
        )

    def get_urlpatterns(self):
        dropped = {name for view in self.disabled_views for name in self._URL_NAMES[view]}
        return [pattern for pattern in super().get_urlpatterns() if pattern.name not in dropped]

    def get_permissions_to_register(self):
        # Don't offer managers' groups a "delete ledger entry" box that would do nothing.
        codenames = [get_permission_codename(a, self.model_opts) for a in self.denied_actions]
        return super().get_permissions_to_register().exclude(codename__in=codenames)

    @property
    def url_finder_class(self):
        if "edit" not in self.disabled_views:
            return super().url_finder_class
        if not self.inspect_view_enabled:
            return type("_NoAdminURLFinder", (ModelAdminURLFinder,), {"get_edit_url": _no_url})
        # Links to a row (history reports, log entries) lead to its inspect page.
        inspect_url_name = self.get_url_name("inspect")

        def get_edit_url(finder, instance):
            policy = policy_registry.get(instance)
            if finder.user and not policy.user_has_any_permission(
                finder.user, ["view", "add", "change", "delete"]
            ):
                return None
            return reverse(inspect_url_name, args=(quote(instance.pk),))

        return type("_InspectURLFinder", (ModelAdminURLFinder,), {"get_edit_url": get_edit_url})


def _no_url(finder, instance):
    return None


class ReadOnlyModelViewSet(RestrictedModelViewSet):
    """List, search, filter and inspect; register `read_only_policy(model)` for the model."""

    inspect_view_enabled = True
    # Never rendered (there is no add or edit view), but ModelViewSet builds a form class anyway.
    form_fields = ()


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


def require_permission(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def next_url(request, default: str) -> str:
    return get_valid_next_url_from_request(request) or default


def errors_to_messages(request, form) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
