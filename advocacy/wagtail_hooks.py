"""The "Programmes" menu of the Wagtail admin: programmes, advocates and their rep codes.

What a manager may do to each model is decided once, by the permission policy registered for it
below (Wagtail 8 looks policies up in `wagtail.permissions.policy_registry`); the viewsets then
route only the views that policy allows, so there is no button, and no URL, for the rest.

The shared building blocks (`RestrictedPermissionPolicy`, `RestrictedModelViewSet`, …) are in
`kernel.admin`.
"""

from django import forms
from django.db.models import Count, Q
from django.utils.functional import cached_property
from django_filters import BooleanFilter, ModelChoiceFilter
from wagtail import hooks
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.forms.choosers import BaseFilterForm
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel, ObjectList
from wagtail.admin.ui.tables import BooleanColumn, Column, DateColumn
from wagtail.admin.views.generic import CreateView
from wagtail.admin.viewsets.chooser import ChooserViewSet
from wagtail.admin.viewsets.model import ModelViewSetGroup
from wagtail.admin.widgets import BooleanRadioSelect
from wagtail.log_actions import log
from wagtail.permissions import register_permission_policy

from advocacy.admin_forms import ProgrammeForm
from advocacy.codes import normalise_code
from advocacy.models import Advocate, Programme, RepCode
from advocacy.services import repcode_create_vanity
from kernel.admin import (
    RestrictedModelViewSet,
    RestrictedPermissionPolicy,
)
from kernel.errors import ServiceError

# ------------------------------------------------------------------------------
# Permission policies: what managers may do, decided once for every Wagtail view.
# Registered before any viewset asks the registry (Wagtail 8 refuses a late registration).

# Programmes end (status "ended"); advocates, codes, orders and commissions point at them.
register_permission_policy(
    Programme, RestrictedPermissionPolicy(Programme, denied_actions={"delete"})
)
# Advocates are created by joining (or an invitation); a manager changes their status only.
register_permission_policy(
    Advocate, RestrictedPermissionPolicy(Advocate, denied_actions={"add", "delete"})
)
# Codes are deactivated, never deleted: printed links and QR codes must keep resolving.
register_permission_policy(RepCode, RestrictedPermissionPolicy(RepCode, denied_actions={"delete"}))


# ------------------------------------------------------------------------------
# Programmes


class ProgrammeViewSet(RestrictedModelViewSet):
    model = Programme
    name = "programmes"
    icon = "sliders"
    menu_label = "Programmes"
    list_display = [
        "name",
        "slug",
        "status",
        "audience",
        "currency",
        Column("advocate_count", label="Advocates", sort_key="advocate_count"),
        DateColumn("created_at", label="Created", sort_key="created_at"),
    ]
    list_filter = ["status", "audience", "currency", "join_policy"]
    search_fields = ["name", "slug"]
    inspect_view_enabled = True
    # The form takes money in the programme's currency units (advocacy.admin_forms).
    edit_handler = ObjectList(
        [
            MultiFieldPanel(
                [
                    FieldPanel("name"),
                    FieldPanel("slug"),
                    FieldRowPanel([FieldPanel("status"), FieldPanel("currency")]),
                    FieldPanel("description"),
                ],
                heading="Basics",
            ),
            MultiFieldPanel(
                [
                    FieldPanel("shopper_reward_kind"),
                    FieldPanel("shopper_reward_percent"),
                    FieldPanel("shopper_reward_amount"),
                    FieldPanel("shopper_min_order"),
                    FieldPanel("shopper_first_order_only"),
                    FieldPanel("shopper_one_use"),
                ],
                heading="Offer to shoppers",
            ),
            MultiFieldPanel(
                [
                    FieldPanel("advocate_reward_kind"),
                    FieldPanel("advocate_reward_percent"),
                    FieldPanel("advocate_reward_amount"),
                    FieldPanel("advocate_recurring_months"),
                ],
                heading="Reward for advocates",
            ),
            MultiFieldPanel(
                [FieldPanel("landing_url"), FieldPanel("attribution_window_days")],
                heading="Referral links",
            ),
            MultiFieldPanel(
                [FieldPanel("hold_days"), FieldPanel("auto_approve_limit")],
                heading="Holds and approval",
            ),
            MultiFieldPanel(
                [
                    FieldPanel("payout_threshold"),
                    FieldPanel("dual_approval_above"),
                    FieldPanel("payout_schedule"),
                    # programme-form.js shows only the day of the chosen schedule's kind.
                    FieldPanel("payout_schedule_weekday"),
                    FieldPanel("payout_schedule_day"),
                    FieldPanel("payout_schedule_backend"),
                ],
                heading="Payouts",
            ),
            MultiFieldPanel(
                [
                    FieldRowPanel([FieldPanel("audience"), FieldPanel("join_policy")]),
                    FieldPanel("terms"),
                ],
                heading="Who may join",
            ),
        ],
        base_form_class=ProgrammeForm,
    )

    def get_index_view_kwargs(self, **kwargs):
        return super().get_index_view_kwargs(
            queryset=Programme.objects.annotate(advocate_count=Count("advocates")), **kwargs
        )


# ------------------------------------------------------------------------------
# Advocates (their listing and page: referrals.admin_advocates)


def advocate_search_q(query: str) -> Q:
    """Advocates whose email, name or any code contains `query` (any letter case)."""
    return (
        Q(user__email__icontains=query)
        | Q(user__first_name__icontains=query)
        | Q(user__last_name__icontains=query)
        | Q(codes__code__icontains=query)
    )


class AdvocateChooserFilterForm(BaseFilterForm):
    q = forms.CharField(
        label="Search term",
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "Email, name or code"}),
    )

    def filter(self, objects):
        objects = super().filter(objects)
        if query := self.cleaned_data.get("q"):
            self.is_searching = True
            self.search_query = query
            matches = Advocate.objects.filter(advocate_search_q(query)).values("pk")
            objects = objects.filter(pk__in=matches)
        return objects


class AdvocateChooserViewSet(ChooserViewSet):
    """The modal that picks an advocate in admin forms (a select of every advocate won't do)."""

    model = Advocate
    name = "advocate_chooser"
    icon = "user"
    choose_one_text = "Choose an advocate"
    choose_another_text = "Choose another advocate"

    def get_common_view_kwargs(self, **kwargs):
        return super().get_common_view_kwargs(filter_form_class=AdvocateChooserFilterForm, **kwargs)

    def get_object_list(self):
        return Advocate.objects.select_related("user", "programme")


# ------------------------------------------------------------------------------
# Rep codes


class VanityCodeForm(WagtailAdminModelForm):
    def clean_code(self):
        # Stored upper-case (a check constraint insists); the unique check then sees ANNA10 and
        # anna10 as the same code.
        return normalise_code(self.cleaned_data.get("code"))


class VanityCodeCreateView(CreateView):
    """Creates the code through `repcode_create_vanity`, the one place codes are chosen."""

    success_message = "Vanity code '%(object)s' created."

    def get_initial(self):
        initial = super().get_initial()
        advocate_id = self.request.GET.get("advocate", "")
        if advocate_id.isdigit():
            initial["advocate"] = advocate_id
        return initial

    def form_valid(self, form):
        self.form = form
        try:
            self.object = repcode_create_vanity(
                advocate=form.cleaned_data["advocate"],
                code=form.cleaned_data["code"],
                channel=form.cleaned_data.get("channel", ""),
            )
        except ServiceError as exc:
            # Lost a race for the code, or a rule the form didn't know about.
            field = exc.field or "code"
            form.add_error(field if field in form.fields else None, exc.message)
            self.produced_error_message = self.get_error_message()
            return self.form_invalid(form)
        log(instance=self.object, action="wagtail.create", user=self.request.user)
        response = self.save_action()
        hook_response = self.run_after_hook()
        return hook_response if hook_response is not None else response


class RepCodeFilterSet(WagtailFilterSet):
    is_active = BooleanFilter(label="Active", widget=BooleanRadioSelect)
    is_vanity = BooleanFilter(label="Vanity", widget=BooleanRadioSelect)
    programme = ModelChoiceFilter(
        field_name="advocate__programme", queryset=Programme.objects.all(), label="Programme"
    )

    class Meta:
        model = RepCode
        fields = []


class RepCodeViewSet(RestrictedModelViewSet):
    model = RepCode
    name = "rep_codes"
    url_prefix = "rep-codes"
    icon = "tag"
    menu_label = "Rep codes"
    add_view_class = VanityCodeCreateView
    list_display = [
        "code",
        Column(
            "advocate",
            label="Advocate",
            accessor="advocate.user.email",
            sort_key="advocate__user__email",
        ),
        Column("programme", label="Programme", accessor="advocate.programme"),
        "channel",
        BooleanColumn("is_active", label="Active", sort_key="is_active"),
        BooleanColumn("is_vanity", label="Vanity", sort_key="is_vanity"),
        DateColumn("created_at", label="Created", sort_key="created_at"),
    ]
    filterset_class = RepCodeFilterSet
    search_fields = ["code", "advocate__user__email"]
    list_select_related = ("advocate__user", "advocate__programme")
    inspect_view_enabled = True
    # Editing: the code itself is printed on receipts and QR codes, so it never changes; a manager
    # may relabel the channel and deactivate (or reactivate) the code.
    panels = [
        FieldPanel("code", read_only=True),
        FieldPanel("advocate", read_only=True),
        FieldPanel("channel"),
        FieldPanel("is_active", help_text="Untick to deactivate: the code stops giving discounts."),
    ]
    add_panels = [
        FieldPanel("advocate"),
        FieldPanel("code", help_text="3 to 32 letters, digits or hyphens; stored upper-case."),
        FieldPanel("channel"),
    ]

    @cached_property
    def _add_handler(self):
        return ObjectList(self.add_panels, base_form_class=VanityCodeForm).bind_to_model(RepCode)

    def get_add_view_kwargs(self, **kwargs):
        return super().get_add_view_kwargs(
            panel=self._add_handler, form_class=self._add_handler.get_form_class(), **kwargs
        )


# ------------------------------------------------------------------------------
# Registration

PROGRAMMES_MENU_HOOK = "register_programmes_menu_item"

rep_code_viewset = RepCodeViewSet()


class ProgrammesGroup(ModelViewSetGroup):
    menu_label = "Programmes"
    menu_icon = "group"
    menu_order = 200
    # The advocates' pages show referral money, so they live in referrals (decision 0002) and
    # join this menu through the hook (referrals.admin_advocates).
    submenu_hook = PROGRAMMES_MENU_HOOK
    items = (ProgrammeViewSet(), rep_code_viewset)


@hooks.register("register_admin_viewset")
def register_programme_viewsets():
    return [ProgrammesGroup(), AdvocateChooserViewSet()]
