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

import uuid

from django import forms
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.views import View
from django.views.generic import FormView
from wagtail.admin import messages
from wagtail.admin.ui.tables import BaseColumn, Column
from wagtail.admin.views.generic import WagtailAdminTemplateMixin

from advocacy.models import Advocate
from kernel.admin import ListingIndexView, errors_to_messages, next_url, plural, require_permission
from kernel.errors import ServiceError
from kernel.money import format_money
from referrals import selectors
from referrals.forms import AdjustmentForm, CommissionDecisionForm, FraudSignalResolveForm
from referrals.ledger_selectors import payable_balance
from referrals.models import Adjustment, Commission, FraudSignal
from referrals.services.commissions import (
    commission_approve,
    commission_reject,
    commissions_release_held,
)
from referrals.services.fraud import credit_outcome, fraud_signal_credit, fraud_signal_dismiss
from referrals.services.ledger import ledger_adjust

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
    get no box: `reason` (a callable) says why in words, else a disabled box stands there."""

    header_template_name = "referrals/admin/tables/select_header.html"
    cell_template_name = "referrals/admin/tables/select_cell.html"

    def __init__(
        self, name, *, form_id, input_name, is_selectable, describe, reason=None, **kwargs
    ):
        super().__init__(name, **kwargs)
        self.form_id = form_id
        self.input_name = input_name
        self.is_selectable = is_selectable
        self.describe = describe
        self.reason = reason

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        context.update(
            form_id=self.form_id,
            input_name=self.input_name,
            selectable=self.is_selectable(instance),
            description=self.describe(instance),
            reason=self.reason(instance) if self.reason else "",
        )
        return context


class FlagsColumn(Column):
    """Status tags from a callable returning (label, css class) pairs."""

    cell_template_name = "referrals/admin/tables/flags_cell.html"


def commission_not_decidable_reason(commission: Commission, now=None) -> str:
    """Why a queue row has no checkbox, in words ("On hold until 12 Dec"); "" when it can be
    decided (pending, past its hold, not frozen: `selectors.commissions_ready_for_review`)."""
    now = now or timezone.now()
    if commission.status != Commission.Status.PENDING:
        return f"Already {commission.get_status_display().lower()}"
    if commission.frozen:
        return "Frozen by a dispute"
    if commission.hold_until > now:
        return f"On hold until {date_format(timezone.localtime(commission.hold_until), 'j M')}"
    return ""


# Query keys that choose no rows (pagination, sorting): with nothing else in the query, the
# queue opens on what can be decided today ("ready for review"). A filter form sent back, even
# with every choice empty, or a filter removed (Wagtail adds `_w_filter_fragment`) shows what
# it asks for.
QUEUE_NEUTRAL_KEYS = {"p", "ordering"}


class CommissionIndexView(ListingIndexView):
    """The commissions listing, doubling as the managers' queue: filters for what needs review
    (by default, with no filter given: ready for review), checkboxes on the rows that can be
    decided and an approve / reject form for those allowed to decide."""

    template_name = "referrals/admin/commission_index.html"

    def get_base_queryset(self):
        return selectors.commission_queue()

    @cached_property
    def defaulted_to_ready(self) -> bool:
        return not (set(self.request.GET) - QUEUE_NEUTRAL_KEYS)

    def get_filterset_kwargs(self):
        kwargs = super().get_filterset_kwargs()
        if self.defaulted_to_ready:
            data = self.request.GET.copy()
            data["ready"] = "true"
            kwargs["data"] = data
        return kwargs

    @cached_property
    def can_decide(self) -> bool:
        return self.request.user.has_perm(DECIDE_PERMISSION)

    @cached_property
    def columns(self):
        columns = super().columns
        if not self.can_decide:
            return columns
        now = timezone.now()
        select = SelectColumn(
            "select",
            label="Select",
            form_id=DECISIONS_FORM_ID,
            input_name="commissions",
            is_selectable=lambda c: not commission_not_decidable_reason(c, now),
            describe=commission_label,
            reason=lambda c: commission_not_decidable_reason(c, now),
        )
        return [select, *columns]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.results_only:
            return context
        queue = selectors.commissions_ready_for_review(Commission.objects.all())
        index_url = reverse("commissions:index")
        context.update(
            can_decide=self.can_decide,
            decisions_form_id=DECISIONS_FORM_ID,
            decision_form=CommissionDecisionForm(),
            decide_url=reverse("commissions:decide"),
            release_url=reverse("commissions:release_held"),
            ready_count=queue.count(),
            ready_url=index_url + "?ready=true",
            all_url=index_url + "?ready=",
            defaulted_to_ready=self.defaulted_to_ready,
        )
        return context


# Why a ticked commission was skipped, by the ServiceError code commission_approve / _reject
# raise: (one, several), to end "… were skipped because 1 …".
SKIP_REASONS = {
    "still_on_hold": ("is still on hold", "are still on hold"),
    "commission_frozen": ("is frozen by a dispute", "are frozen by a dispute"),
    "transition_invalid": ("was already decided", "were already decided"),
}


def decision_summary(*, approving: bool, done: list[Commission], skipped: dict[str, int]) -> str:
    """One sentence for a bulk decision: "Approved 12 commissions worth €340.00; 2 were skipped
    because 1 is still on hold and 1 was already decided." Amounts are summed per currency."""
    verb = "Approved" if approving else "Rejected"
    totals: dict[str, int] = {}
    for commission in done:
        totals[commission.currency] = totals.get(commission.currency, 0) + commission.amount
    worth = " and ".join(
        format_money(total, currency) for currency, total in sorted(totals.items())
    )
    if done:
        text = f"{verb} {plural(len(done), 'commission')} worth {worth}"
    else:
        text = f"No commission was {verb.lower()}"
    count = sum(skipped.values())
    if not count:
        return f"{text}."
    parts = []
    for code, n in skipped.items():
        one, several = SKIP_REASONS.get(code, ("could not be decided", "could not be decided"))
        parts.append(f"{n} {one if n == 1 else several}")
    because = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    skipped_text = "1 was skipped" if count == 1 else f"{count} were skipped"
    return f"{text}; {skipped_text} because {because}."


@method_decorator(transaction.non_atomic_requests, name="dispatch")
class CommissionDecideView(View):
    """Approve or reject the ticked commissions, one service call (and transaction) each: a
    commission that can't move (still on hold, frozen, already decided) is skipped and the
    others go ahead; one summary message says what was done and why some were skipped."""

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
        done, skipped = [], {}
        for commission in form.cleaned_data["commissions"]:
            try:
                done.append(decide(commission_id=commission.pk, actor=request.user, reason=reason))
            except ServiceError as exc:
                skipped[exc.code] = skipped.get(exc.code, 0) + 1
        summary = decision_summary(approving=approving, done=done, skipped=skipped)
        if done:
            messages.success(request, summary)
        else:
            messages.error(request, summary)
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


# ------------------------------------------------------------------------------
# Fraud signals: a manager dismisses one (with a reason) or grants the commission its order
# would have earned. "referrals.change_fraudsignal" ("Change" on fraud signals in a group).

RESOLVE_PERMISSION = "referrals.change_fraudsignal"


def fraud_signal_state(signal: FraudSignal) -> str:
    """ "Open", or the resolution in words: "Dismissed by ann@example.com on 3 Dec 2026"."""
    if signal.resolved_at is None:
        return "Open"
    who = signal.resolved_by.email if signal.resolved_by else "the system"
    when = date_format(timezone.localtime(signal.resolved_at))
    return f"{signal.get_resolution_display()} by {who} on {when}"


def fraud_signal_summary(signal: FraudSignal) -> str:
    """A signal on an order's page: kind, state and the reason given."""
    state = fraud_signal_state(signal)
    text = f"{signal.get_kind_display()}: {state.lower() if signal.resolved_at is None else state}"
    if signal.resolution_reason:
        text += f" ({signal.resolution_reason})"
    return text


class FraudSignalResolveView(WagtailAdminTemplateMixin, FormView):
    form_class = FraudSignalResolveForm
    template_name = "referrals/admin/fraud_signal_resolve.html"
    header_icon = "warning"
    page_title = "Resolve a fraud signal"

    def dispatch(self, request, *args, **kwargs):
        require_permission(request, RESOLVE_PERMISSION)
        self.signal = get_object_or_404(
            FraudSignal.objects.select_related("order", "advocate__user", "resolved_by"),
            pk=kwargs["pk"],
        )
        return super().dispatch(request, *args, **kwargs)

    def get_page_subtitle(self):
        order = self.signal.order
        where = f" on order {order.external_id}" if order else ""
        return f"{self.signal.get_kind_display()}{where}"

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("fraud_signals:index"), "label": "Fraud signals"},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_context_data(self, **kwargs):
        signal = self.signal
        return super().get_context_data(
            signal=signal,
            order_url=reverse("orders:inspect", args=[signal.order_id])
            if signal.order_id
            else None,
            # Keeps ?next= (the advocate's page sends managers here and expects them back).
            action_url=self.request.get_full_path(),
            submit_button_label="Resolve",
            submit_button_active_label="Resolving…",
            **kwargs,
        )

    def form_valid(self, form):
        reason = form.cleaned_data["reason"].strip()
        try:
            if form.cleaned_data["outcome"] == FraudSignalResolveForm.CREDIT:
                commission = fraud_signal_credit(
                    signal_id=self.signal.pk, actor=self.request.user, reason=reason
                )
                message = credit_outcome(commission)
            else:
                fraud_signal_dismiss(
                    signal_id=self.signal.pk, actor=self.request.user, reason=reason
                )
                message = "Signal dismissed; the order stays without commission."
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            return self.form_invalid(form)
        messages.success(self.request, message)
        return redirect(next_url(self.request, reverse("fraud_signals:index")))


# ------------------------------------------------------------------------------
# Manual adjustments: a bonus or correction for an advocate, "referrals.add_adjustment".
# Linkable from anywhere as /admin/referrals/adjustments/add/?advocate=<id>.

ADJUST_PERMISSION = "referrals.add_adjustment"


class AdjustmentCreateView(WagtailAdminTemplateMixin, FormView):
    form_class = AdjustmentForm
    template_name = "referrals/admin/adjustment_create.html"
    header_icon = "decimal"
    page_title = "Add a bonus or correction"

    def dispatch(self, request, *args, **kwargs):
        require_permission(request, ADJUST_PERMISSION)
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        initial = {"token": uuid.uuid4(), "kind": Adjustment.Kind.BONUS}
        advocate = self.request.GET.get("advocate", "")
        if advocate.isdigit():
            initial["advocate"] = advocate
        return initial

    @cached_property
    def advocate(self):
        """The advocate the form is for, shown by name: from the posted form or ?advocate=."""
        value = self.request.POST.get("advocate") or self.request.GET.get("advocate") or ""
        if not value.isdigit():
            return None
        return Advocate.objects.select_related("user", "programme").filter(pk=value).first()

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("adjustments:index"), "label": "Adjustments"},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_context_data(self, **kwargs):
        advocate = self.advocate
        balance = (
            format_money(
                payable_balance(advocate, advocate.programme.currency), advocate.programme.currency
            )
            if advocate
            else None
        )
        return super().get_context_data(
            advocate=advocate,
            payable=balance,
            action_url=self.request.get_full_path(),
            submit_button_label="Add to the balance",
            submit_button_active_label="Adding…",
            **kwargs,
        )

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        if self.advocate is not None:  # named above the form; no number to retype
            form.fields["advocate"].widget = forms.HiddenInput()
        return form

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            adjustment = ledger_adjust(
                advocate_id=data["advocate"].pk,
                kind=data["kind"],
                amount=data["amount_minor"],
                reason=data["reason"],
                actor=self.request.user,
                token=data["token"],
            )
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            return self.form_invalid(form)
        messages.success(
            self.request,
            f"Added a {adjustment.get_kind_display().lower()} of "
            f"{format_money(adjustment.amount, adjustment.currency)} for "
            f"{data['advocate'].user.email}.",
        )
        return redirect(reverse("adjustments:index"))
