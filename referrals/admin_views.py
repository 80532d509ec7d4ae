"""Managers' admin views: the commission queue's decisions, the hold-release button, payout
batches from build to paid, and the audit trail on commission and batch pages.

Thin on purpose: each view parses a form, checks a permission, calls one service and turns a
`ServiceError` into an admin message or a form error. The rules live in `referrals.services`.

Permissions: approving and rejecting commissions needs Django's "referrals.change_commission"
(granted to a group in Settings > Groups as "Change" on commissions; the admin's own edit view
for commissions stays off). Everything that moves payout money (build, approve, cancel, execute,
the CSV, mark paid or failed, retry) needs the payout permission, `APPROVE_PERMISSION`.
Replaying a Stripe event needs "referrals.change_webhookevent" (the same "Change" box, on
Stripe webhook events).
"""

from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.views import View
from wagtail.admin import messages
from wagtail.admin.ui.tables import BaseColumn, Column

from kernel.admin import ListingIndexView, errors_to_messages, next_url, plural, require_permission
from kernel.errors import ServiceError
from kernel.money import format_money
from referrals import selectors
from referrals.forms import (
    CommissionDecisionForm,
)
from referrals.models import Commission
from referrals.services.commissions import (
    commission_approve,
    commission_reject,
    commissions_release_held,
)

DECIDE_PERMISSION = "referrals.change_commission"
DECISIONS_FORM_ID = "commission-decisions"


# ------------------------------------------------------------------------------
# The commission queue


def commission_label(commission: Commission) -> str:
    return (
        f"{format_money(commission.amount, commission.currency)} on order "
        f"{commission.order.external_id}"
    )


# How the queue shows each flag of `selectors.commission_risk_flags`: (label, css class).
COMMISSION_FLAG_TAGS = {
    "fraud": ("Fraud signal", "w-status--label streetteam-flag--danger"),
    "frozen": ("Frozen (dispute)", "w-status--label streetteam-flag--warning"),
    "ready": ("Ready for review", "w-status--primary"),
}


def commission_flags(commission: Commission, now=None) -> list[tuple[str, str]]:
    """(label, css class) tags for a queue row: what needs a manager's eye."""
    return [
        COMMISSION_FLAG_TAGS[flag] for flag in selectors.commission_risk_flags(commission, now=now)
    ]


class SelectColumn(BaseColumn):
    """A checkbox per row that belongs to a form outside the table (HTML `form` attribute), so
    the listing's own filter form and AJAX refreshes are left alone. Rows that can't be chosen
    get a disabled box."""

    header_template_name = "referrals/admin/tables/select_header.html"
    cell_template_name = "referrals/admin/tables/select_cell.html"

    def __init__(self, name, *, form_id, input_name, is_selectable, describe, **kwargs):
        super().__init__(name, **kwargs)
        self.form_id = form_id
        self.input_name = input_name
        self.is_selectable = is_selectable
        self.describe = describe

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        context.update(
            form_id=self.form_id,
            input_name=self.input_name,
            selectable=self.is_selectable(instance),
            description=self.describe(instance),
        )
        return context


class FlagsColumn(Column):
    """Status tags from a callable returning (label, css class) pairs."""

    cell_template_name = "referrals/admin/tables/flags_cell.html"


class CommissionIndexView(ListingIndexView):
    """The commissions listing, doubling as the managers' queue: filters for what needs review,
    checkboxes and an approve / reject form for those allowed to decide."""

    template_name = "referrals/admin/commission_index.html"

    def get_base_queryset(self):
        return selectors.commission_queue()

    @cached_property
    def can_decide(self) -> bool:
        return self.request.user.has_perm(DECIDE_PERMISSION)

    @cached_property
    def columns(self):
        columns = super().columns
        if not self.can_decide:
            return columns
        select = SelectColumn(
            "select",
            label="Select",
            form_id=DECISIONS_FORM_ID,
            input_name="commissions",
            is_selectable=lambda c: c.status == Commission.Status.PENDING,
            describe=commission_label,
        )
        return [select, *columns]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.results_only:
            return context
        queue = selectors.commissions_ready_for_review(Commission.objects.all())
        context.update(
            can_decide=self.can_decide,
            decisions_form_id=DECISIONS_FORM_ID,
            decision_form=CommissionDecisionForm(),
            decide_url=reverse("commissions:decide"),
            release_url=reverse("commissions:release_held"),
            ready_count=queue.count(),
            ready_url=reverse("commissions:index") + "?ready=true",
        )
        return context


@method_decorator(transaction.non_atomic_requests, name="dispatch")
class CommissionDecideView(View):
    """Approve or reject the ticked commissions, one service call (and transaction) each: a
    commission that can't move (still on hold, frozen, already decided) is reported and the
    others go ahead."""

    http_method_names = ["post"]

    def post(self, request):
        require_permission(request, DECIDE_PERMISSION)
        back = next_url(request, reverse("commissions:index"))
        form = CommissionDecisionForm(request.POST)
        if not form.is_valid():
            errors_to_messages(request, form)
            return redirect(back)
        approving = form.cleaned_data["action"] == CommissionDecisionForm.APPROVE
        decide = commission_approve if approving else commission_reject
        reason = form.cleaned_data["reason"].strip()
        done = 0
        for commission in form.cleaned_data["commissions"]:
            try:
                decide(commission_id=commission.pk, actor=request.user, reason=reason)
            except ServiceError as exc:
                messages.error(request, f"{commission_label(commission)}: {exc.message}")
            else:
                done += 1
        if done:
            verb = "Approved" if approving else "Rejected"
            messages.success(request, f"{verb} {plural(done, 'commission')}.")
        return redirect(back)


@method_decorator(transaction.non_atomic_requests, name="dispatch")
class HoldReleaseView(View):
    """The hourly hold-release step, on demand (a demo without celery beat)."""

    http_method_names = ["post"]

    def post(self, request):
        require_permission(request, DECIDE_PERMISSION)
        result = commissions_release_held()
        messages.success(
            request,
            f"Hold release done: {plural(result['auto_approved'], 'commission')} approved "
            f"automatically; {result['awaiting_review']} past their hold await review.",
        )
        return redirect(next_url(request, reverse("commissions:index")))


# ------------------------------------------------------------------------------
# The audit log


# ------------------------------------------------------------------------------
# Payout batches


# ------------------------------------------------------------------------------
# Merchant API keys: created here and shown once, listed by prefix, revoked (never deleted).
# "referrals.add_apikey" creates, "referrals.change_apikey" revokes, "view" lists.


# ------------------------------------------------------------------------------
# Stripe events: the webhook's log, each event's payload and error, and a replay button.
