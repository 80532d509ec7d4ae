"""Advocates in the Wagtail admin: the listing with each advocate's figures, and the advocate's
page for managers (profile, codes, money per currency, commissions, payouts, masked payout
details, fraud signals, audit trail, and the pause / ban / reactivate form).

It lives in `referrals`, beside the figures it shows (`advocacy` imports nothing of
`referrals`, decision 0002), and joins the "Programmes" menu through that group's submenu hook.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.http import urlencode
from django.views.defaults import permission_denied
from wagtail.admin.ui.tables import Column, DateColumn, RelatedObjectsColumn
from wagtail.admin.views.generic import InspectView
from wagtail.admin.widgets import HeaderButton
from wagtail.permissions import policy_registry

from advocacy.models import Advocate, RepCode
from advocacy.payout_details import payout_details_masked
from advocacy.services import advocate_status_actions, advocate_status_change
from advocacy.wagtail_hooks import PROGRAMMES_MENU_HOOK
from kernel.admin import ListingIndexView, MoneyColumn, RestrictedModelViewSet
from kernel.errors import ServiceError
from kernel.money import minor_to_decimal
from referrals import advocate_admin_selectors
from referrals.admin_views import ADJUST_PERMISSION, RESOLVE_PERMISSION
from referrals.audit_log import audit_log_url

STATUS_ACTION_LABELS = {
    "pause": "Pause: new sales earn nothing and payouts wait",
    "ban": "Ban: for good, unless reactivated",
    "reactivate": "Reactivate",
}
STATUS_BADGES = {
    Advocate.Status.ACTIVE: "w-status--primary",
    Advocate.Status.INVITED: "w-status--label",
    Advocate.Status.PAUSED: "w-status--label streetteam-flag--warning",
    Advocate.Status.BANNED: "w-status--label streetteam-flag--danger",
}


def advocate_display_name(advocate: Advocate) -> str:
    user = advocate.user
    name = user.get_full_name()
    return f"{name} <{user.email}>" if name else user.email


class AdvocateStatusForm(forms.Form):
    """What to do to the advocate's status, and why (the service insists on a reason to pause or
    ban; its errors land on these fields)."""

    action = forms.ChoiceField(label="Change the status", widget=forms.RadioSelect)
    reason = forms.CharField(
        label="Reason",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required to pause or ban. Kept in the audit log and shown on this page.",
    )

    def __init__(self, *args, actions: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [(a, STATUS_ACTION_LABELS[a]) for a in actions]


class AdvocateInspectView(InspectView):
    """The advocate's page. POST changes the status (the advocate "change" permission)."""

    template_name = "referrals/admin/advocate_inspect.html"

    def get_fields(self):
        # The template lays the page out itself; the generic field list would also carry the
        # raw payout details (a full IBAN) into the context.
        return []

    def get_object(self, queryset=None):
        advocate = super().get_object(queryset)
        # One query for the advocate, their user and programme.
        return Advocate.objects.select_related("user", "programme").get(pk=advocate.pk)

    def get_page_subtitle(self):
        return advocate_display_name(self.object)

    @cached_property
    def can_change_status(self) -> bool:
        policy = policy_registry.get_by_type(Advocate)
        return policy.user_has_permission(self.request.user, "change")

    @cached_property
    def add_code_url(self) -> str | None:
        """The vanity-code form, preset to this advocate (for managers who may add codes)."""
        if policy_registry.get_by_type(RepCode).user_has_permission(self.request.user, "add"):
            return reverse("rep_codes:add") + f"?advocate={self.object.pk}"
        return None

    @cached_property
    def add_adjustment_url(self) -> str | None:
        """The bonus-or-correction form, preset to this advocate (for managers who may add
        adjustments)."""
        if self.request.user.has_perm(ADJUST_PERMISSION):
            return reverse("adjustments:create") + f"?advocate={self.object.pk}"
        return None

    @cached_property
    def header_buttons(self):
        buttons = []
        if self.add_adjustment_url:
            buttons.append(
                HeaderButton(
                    "Add a bonus or correction", url=self.add_adjustment_url, icon_name="decimal"
                )
            )
        if self.add_code_url:
            buttons.append(
                HeaderButton("Add a vanity code", url=self.add_code_url, icon_name="tag")
            )
        url = audit_log_url(object_type="advocate", object_id=self.object.pk)
        buttons.append(HeaderButton("Audit log", url=url, icon_name="history"))
        return buttons

    def status_form(self, data=None) -> AdvocateStatusForm | None:
        actions = advocate_status_actions(self.object)
        if not (self.can_change_status and actions):
            return None
        return AdvocateStatusForm(data, actions=actions)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        advocate = self.object
        context.update(
            advocate=advocate,
            add_code_url=self.add_code_url,
            add_adjustment_url=self.add_adjustment_url,
            can_resolve_signals=self.request.user.has_perm(RESOLVE_PERMISSION),
            programme=advocate.programme,
            status_badge=STATUS_BADGES.get(advocate.status, "w-status--label"),
            codes=advocate_admin_selectors.advocate_codes_with_figures(advocate),
            clicks=advocate_admin_selectors.advocate_clicks(advocate),
            figures=advocate_admin_selectors.advocate_figures_by_currency(advocate),
            commissions=advocate_admin_selectors.advocate_recent_commissions(advocate),
            payouts=advocate_admin_selectors.advocate_recent_payouts(advocate),
            payout_details=payout_details_masked(advocate),
            fraud_signals=advocate_admin_selectors.advocate_fraud_signals(advocate),
            events=advocate_admin_selectors.advocate_audit_trail(advocate),
            commissions_url=reverse("commissions:index")
            + "?"
            + urlencode({"advocate": advocate.user.email}),
        )
        context.setdefault("status_form", self.status_form())
        return context

    def post(self, request, *args, **kwargs):
        form = self.status_form(request.POST)
        if form is None:
            # No permission, or nothing may change from this status (an invitation). A plain
            # 403: Wagtail would turn PermissionDenied into a redirect that reads like success
            # to a script or a double-submitted form.
            return permission_denied(request, PermissionDenied())
        if form.is_valid():
            try:
                advocate = advocate_status_change(
                    advocate_id=self.object.pk,
                    action=form.cleaned_data["action"],
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                )
            except ServiceError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                status = advocate.get_status_display().lower()
                messages.success(request, f"{advocate.user.email} is now {status}.")
                return redirect("advocates:inspect", advocate.pk)
        messages.error(request, "The status was not changed: see the form below.")
        return self.render_to_response(self.get_context_data(status_form=form))


class AdvocateIndexView(ListingIndexView):
    # Money in the export as in every other spreadsheet: currency units ("12.50"), the currency
    # in its own column, never the raw minor units the figures are computed in.
    money_exports = ("earned", "balance")

    def to_row_dict(self, item):
        row = super().to_row_dict(item)
        for name in self.money_exports:
            if name in row and row[name] is not None:
                row[name] = minor_to_decimal(row[name], item.programme.currency)
        return row


class AdvocateViewSet(RestrictedModelViewSet):
    model = Advocate
    name = "advocates"
    icon = "user"
    menu_label = "Advocates"
    menu_hook = PROGRAMMES_MENU_HOOK
    menu_order = 2
    add_to_admin_menu = True
    # The status changes on the advocate's page, with a reason and an audit row; there is
    # nothing else a manager edits, so there is no generic edit form to bypass them.
    always_disabled_views = frozenset({"usage", "edit"})
    list_display = [
        "user__email",
        Column("first_name", label="First name", accessor="user.first_name"),
        "programme",
        "status",
        Column("click_count", label="Clicks", sort_key="click_count"),
        Column("referred_orders", label="Sales", sort_key="referred_orders"),
        MoneyColumn("earned", label="Earned", currency_accessor="programme.currency"),
        MoneyColumn("balance", label="Balance", currency_accessor="programme.currency"),
        DateColumn("joined_at", label="Joined", sort_key="joined_at"),
        RelatedObjectsColumn("codes", label="Codes"),
    ]
    column_labels = {"user__email": "Email"}
    list_filter = ["programme", "status"]
    search_fields = ["user__email", "user__first_name", "user__last_name", "codes__code"]
    list_select_related = ("user", "programme")
    list_prefetch_related = ("codes",)
    index_view_class = AdvocateIndexView
    list_export = [
        "user.email",  # (a dotted path: the export follows attributes, not lookups)
        "programme",
        "status",
        "click_count",
        "referred_orders",
        "earned",
        "balance",
        "programme.currency",
        "joined_at",
    ]
    export_headings = {
        "user.email": "Email",
        "click_count": "Clicks",
        "referred_orders": "Sales",
        "earned": "Earned",
        "balance": "Balance",
        "programme.currency": "Currency",
    }
    inspect_view_enabled = True
    inspect_view_class = AdvocateInspectView
    form_fields = ()  # never rendered: there is no add or edit view

    def get_index_view_kwargs(self, **kwargs):
        queryset = advocate_admin_selectors.advocates_with_figures(Advocate.objects.all())
        return super().get_index_view_kwargs(queryset=queryset, **kwargs)
