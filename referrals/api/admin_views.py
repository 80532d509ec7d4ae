"""Manager screens for merchant API keys (the list, creating a key, shown once, and revoking one)
and for the stores the keys belong to (the list, renaming one and choosing its programmes)."""

from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.functional import cached_property
from django.views.generic import FormView, TemplateView
from wagtail.admin import messages
from wagtail.admin.ui.menus import MenuItem
from wagtail.admin.views.generic import EditView, WagtailAdminTemplateMixin
from wagtail.admin.widgets import HeaderButton

from kernel.admin import ListingIndexView, require_permission
from kernel.errors import ServiceError
from referrals.api.forms import ApiKeyCreateForm
from referrals.api.keys import api_key_create, api_key_revoke, api_key_scope_names
from referrals.models import ApiKey, Order, Store
from referrals.services.stores import store_update

API_KEY_ADD_PERMISSION = "referrals.add_apikey"


API_KEY_REVOKE_PERMISSION = "referrals.change_apikey"


def api_key_display(api_key: ApiKey) -> str:
    """What identifies a key without giving it away: "st_<prefix>_…"."""
    return f"st_{api_key.prefix}_…"


def api_key_scope(api_key: ApiKey) -> str:
    return api_key_scope_names(api_key)


class ApiKeyIndexView(ListingIndexView):
    @cached_property
    def header_buttons(self):
        buttons = list(super().header_buttons)
        if self.request.user.has_perm(API_KEY_ADD_PERMISSION):
            url = reverse("api_keys:new")
            buttons.append(HeaderButton("New API key", url=url, icon_name="plus"))
        return buttons

    def get_list_more_buttons(self, instance):
        buttons = list(super().get_list_more_buttons(instance))
        if instance.is_active and self.request.user.has_perm(API_KEY_REVOKE_PERMISSION):
            url = reverse("api_keys:revoke", args=[instance.pk])
            buttons.append(MenuItem("Revoke", url=url, icon_name="cross", priority=30))
        return buttons


class ApiKeyViewMixin(WagtailAdminTemplateMixin):
    header_icon = "key"
    index_url_name = None
    permission = ""

    def dispatch(self, request, *args, **kwargs):
        require_permission(request, self.permission)
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse(self.index_url_name), "label": "API keys"},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_context_data(self, **kwargs):
        return super().get_context_data(index_url=reverse(self.index_url_name), **kwargs)


class ApiKeyCreateView(ApiKeyViewMixin, FormView):
    """Makes the key through `api_key_create` and shows its plaintext in this POST's response
    only: it is never stored, redirected with, put in the session or in a message."""

    form_class = ApiKeyCreateForm
    template_name = "referrals/admin/api_key_create.html"
    created_template_name = "referrals/admin/api_key_created.html"
    page_title = "New API key"
    permission = API_KEY_ADD_PERMISSION

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            action_url=self.request.path,
            submit_button_label="Create key",
            submit_button_active_label="Creating…",
            **kwargs,
        )

    def form_valid(self, form):
        try:
            api_key, plaintext = api_key_create(
                name=form.cleaned_data["name"],
                programmes=list(form.cleaned_data["programmes"]),
                store=form.cleaned_data["store"],
                actor=self.request.user,
            )
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            return self.form_invalid(form)
        self.page_title = "API key created"
        response = self.response_class(
            request=self.request,
            template=[self.created_template_name],
            context=self.get_context_data(
                form=form,
                api_key=api_key,
                plaintext=plaintext,
                scope=api_key_scope(api_key),
            ),
            using=self.template_engine,
        )
        add_never_cache_headers(response)
        return response


class ApiKeyRevokeView(ApiKeyViewMixin, TemplateView):
    """Asks first; a revoked key is refused by the API at once and cannot be brought back."""

    template_name = "referrals/admin/api_key_revoke.html"
    page_title = "Revoke API key"
    permission = API_KEY_REVOKE_PERMISSION

    @cached_property
    def api_key(self) -> ApiKey:
        return get_object_or_404(ApiKey.objects.select_related("created_by"), pk=self.kwargs["pk"])

    def get_page_subtitle(self):
        return self.api_key.name

    def get(self, request, *args, **kwargs):
        if not self.api_key.is_active:
            messages.warning(request, f"API key '{self.api_key.name}' is already revoked.")
            return redirect(self.index_url_name)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            api_key=self.api_key,
            key_display=api_key_display(self.api_key),
            scope=api_key_scope(self.api_key),
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        api_key = self.api_key
        if api_key.is_active:
            api_key_revoke(api_key=api_key, actor=request.user)
            messages.success(
                request,
                f"API key '{api_key.name}' ({api_key_display(api_key)}) revoked: "
                "requests made with it are refused from now on.",
            )
        else:
            messages.warning(request, f"API key '{api_key.name}' is already revoked.")
        return redirect(self.index_url_name)


# ------------------------------------------------------------------------------
# Stores


def _count_of(model, field: str):
    """How many `model` rows point at the listed store, as one subquery per row (a join of
    orders and keys would multiply them)."""
    rows = model.objects.filter(**{field: OuterRef("pk")}).order_by().values(field)
    return Coalesce(
        Subquery(rows.annotate(n=Count("pk")).values("n")[:1], output_field=IntegerField()), 0
    )


class StoreIndexView(ListingIndexView):
    def get_base_queryset(self):
        return (
            super()
            .get_base_queryset()
            .annotate(key_count=_count_of(ApiKey, "store"), order_count=_count_of(Order, "store"))
        )


class StoreEditView(EditView):
    """Saves through `store_update` (one audit row; the store's cached keys forgotten), not the
    form: Wagtail's own save would set the programmes without either."""

    def save_instance(self):
        return store_update(
            store=Store.objects.get(pk=self.object.pk),
            name=self.form.cleaned_data["name"],
            programmes=list(self.form.cleaned_data["programmes"]),
            actor=self.request.user,
        )
