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

import csv
import json
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.views import View
from django.views.generic import FormView, TemplateView
from wagtail.admin import messages
from wagtail.admin.ui.menus import MenuItem
from wagtail.admin.ui.tables import BaseColumn, Column
from wagtail.admin.utils import get_valid_next_url_from_request
from wagtail.admin.views.generic import InspectView, WagtailAdminTemplateMixin
from wagtail.admin.widgets import HeaderButton

from advocacy.models import Advocate
from advocacy.payout_details import payout_details_summary
from kernel.admin import ListingIndexView
from kernel.errors import ServiceError
from kernel.money import format_money, minor_to_decimal
from referrals import selectors
from referrals.api.keys import api_key_create, api_key_revoke
from referrals.forms import (
    ApiKeyCreateForm,
    CommissionDecisionForm,
    PayoutBatchApproveForm,
    PayoutBatchBuildForm,
    PayoutBatchCancelForm,
    PayoutMarkFailedForm,
    PayoutMarkPaidForm,
)
from referrals.models import ApiKey, Commission, Payout, PayoutBatch, WebhookEvent
from referrals.services.audit import audit
from referrals.services.commissions import (
    commission_approve,
    commission_reject,
    commissions_release_held,
)
from referrals.services.payouts import (
    APPROVE_PERMISSION,
    payout_batch_approve,
    payout_batch_build,
    payout_batch_cancel,
    payout_batch_execute,
    payout_batch_needs_second_approval,
    payout_mark_failed,
    payout_mark_paid,
    payout_retry,
)
from referrals.services.stripe_events import HANDLERS, stripe_event_replay
from referrals.services.stripe_reconcile import stripe_reconcile_last

DECIDE_PERMISSION = "referrals.change_commission"
DECISIONS_FORM_ID = "commission-decisions"


def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _next_url(request, default: str) -> str:
    return get_valid_next_url_from_request(request) or default


def _errors_to_messages(request, form) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


# ------------------------------------------------------------------------------
# The commission queue


def commission_label(commission: Commission) -> str:
    return (
        f"{format_money(commission.amount, commission.currency)} on order "
        f"{commission.order.external_id}"
    )


def commission_flags(commission: Commission, now=None) -> list[tuple[str, str]]:
    """(label, css class) tags for a queue row: what needs a manager's eye."""
    now = now or timezone.now()
    flags = []
    if getattr(commission, "has_open_fraud", False):
        flags.append(("Fraud signal", "w-status--label streetteam-flag--danger"))
    if commission.frozen:
        flags.append(("Frozen (dispute)", "w-status--label streetteam-flag--warning"))
    if (
        commission.status == Commission.Status.PENDING
        and not commission.frozen
        and commission.hold_until <= now
    ):
        flags.append(("Ready for review", "w-status--primary"))
    return flags


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
        _require(request, DECIDE_PERMISSION)
        next_url = _next_url(request, reverse("commissions:index"))
        form = CommissionDecisionForm(request.POST)
        if not form.is_valid():
            _errors_to_messages(request, form)
            return redirect(next_url)
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
            messages.success(request, f"{verb} {_plural(done, 'commission')}.")
        return redirect(next_url)


@method_decorator(transaction.non_atomic_requests, name="dispatch")
class HoldReleaseView(View):
    """The hourly hold-release step, on demand (a demo without celery beat)."""

    http_method_names = ["post"]

    def post(self, request):
        _require(request, DECIDE_PERMISSION)
        result = commissions_release_held()
        messages.success(
            request,
            f"Hold release done: {_plural(result['auto_approved'], 'commission')} approved "
            f"automatically; {result['awaiting_review']} past their hold await review.",
        )
        return redirect(_next_url(request, reverse("commissions:index")))


# ------------------------------------------------------------------------------
# The audit log


AUDIT_OBJECT_TYPES = [
    ("commission", "Commission"),
    ("order", "Order"),
    ("payoutbatch", "Payout batch"),
    ("payout", "Payout"),
    ("apikey", "API key"),
    ("webhookevent", "Stripe event"),
    ("stripe", "Stripe reconciliation"),
]
_AUDIT_OBJECT_URLS = {
    "webhookevent": "stripe_events:inspect",
    "commission": "commissions:inspect",
    "order": "orders:inspect",
    "payoutbatch": "payouts:inspect",
    "payout": "payouts:payout",
}


def audit_object_label(event) -> str:
    label = dict(AUDIT_OBJECT_TYPES).get(event.object_type, event.object_type)
    return f"{label} {event.object_id}"


def audit_object_url(event) -> str | None:
    url_name = _AUDIT_OBJECT_URLS.get(event.object_type)
    return reverse(url_name, args=[event.object_id]) if url_name else None


def audit_log_url(**filters) -> str:
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return reverse("audit_log:index") + (f"?{query}" if query else "")


def audit_data_display(data: dict) -> str:
    return ", ".join(f"{key}: {value}" for key, value in sorted((data or {}).items()))


class AuditObjectColumn(Column):
    """The object an audit row is about, linked to its admin page."""

    cell_template_name = "referrals/admin/tables/link_cell.html"

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        context["url"] = audit_object_url(instance)
        return context


# ------------------------------------------------------------------------------
# Payout batches


BACKEND_LABELS = {
    PayoutBatch.Backend.MANUAL: "Manual (CSV)",
    PayoutBatch.Backend.STRIPE_CONNECT: "Stripe Connect",
}


def batch_state(batch: PayoutBatch) -> str:
    """The status as a manager needs it: a draft with one approval awaits the second."""
    if batch.status == PayoutBatch.Status.DRAFT and batch.approved_by_id is not None:
        return "Awaiting second approval"
    return batch.get_status_display()


class PayoutBatchIndexView(ListingIndexView):
    @cached_property
    def header_buttons(self):
        buttons = list(super().header_buttons)
        if self.request.user.has_perm(APPROVE_PERMISSION):
            url = reverse("payouts:build")
            buttons.append(HeaderButton("Build a batch", url=url, icon_name="plus"))
        return buttons


class PayoutBatchBuildView(WagtailAdminTemplateMixin, FormView):
    form_class = PayoutBatchBuildForm
    template_name = "referrals/admin/payout_batch_build.html"
    page_title = "Build a payout batch"
    index_url_name = None

    def dispatch(self, request, *args, **kwargs):
        _require(request, APPROVE_PERMISSION)
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse(self.index_url_name), "label": "Payout batches"},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_initial(self):
        programme = self.request.GET.get("programme", "")
        return {"programme": programme} if programme.isdigit() else {}

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            action_url=self.request.path,
            submit_button_label="Build batch",
            submit_button_active_label="Building…",
            **kwargs,
        )

    def form_valid(self, form):
        programme = form.cleaned_data["programme"]
        try:
            batch = payout_batch_build(
                programme_id=programme.pk,
                actor=self.request.user,
                backend=form.cleaned_data["backend"],
            )
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            return self.form_invalid(form)
        if batch is None:
            threshold = format_money(programme.payout_threshold, programme.currency)
            form.add_error(
                "programme",
                f"No advocate of {programme} has an approved balance of at least {threshold} "
                "that is not already in a batch: there is nothing to pay yet.",
            )
            return self.form_invalid(form)
        messages.success(
            self.request,
            f"Batch {batch.pk} built: {_plural(batch.payout_count, 'payout')}, "
            f"{format_money(batch.total_amount, batch.currency)} in all. Review it, then approve.",
        )
        return redirect("payouts:inspect", batch.pk)


@dataclass(frozen=True)
class PayoutRow:
    payout: Payout
    method: str
    destination: str  # masked: full details only go into the CSV
    flags: list[str]


def payout_row(payout: Payout, batch: PayoutBatch) -> PayoutRow:
    advocate = payout.advocate
    details = payout_details_summary(advocate)
    flags = []
    if payout.open_fraud_signals:
        flags.append(_plural(payout.open_fraud_signals, "open fraud signal"))
    if payout.frozen_commissions:
        flags.append(_plural(payout.frozen_commissions, "frozen commission"))
    if advocate.status != Advocate.Status.ACTIVE:
        flags.append(f"Advocate {advocate.get_status_display().lower()}")
    if batch.backend == PayoutBatch.Backend.MANUAL and (
        not details.is_set or details.method == Advocate.PayoutMethod.STRIPE_CONNECT
    ):
        flags.append("No bank or PayPal details")
    if batch.backend == PayoutBatch.Backend.STRIPE_CONNECT and not advocate.stripe_account_id:
        flags.append("No Stripe account")
    elif (
        batch.backend == PayoutBatch.Backend.STRIPE_CONNECT and not advocate.stripe_payouts_enabled
    ):
        flags.append("Stripe payouts not enabled yet")
    return PayoutRow(
        payout=payout, method=details.method_label, destination=details.destination, flags=flags
    )


class PayoutBatchReviewView(InspectView):
    """One batch, whatever its state: the lines to review, then approve (twice above the
    programme's limit), execute, follow progress, export and settle payouts by hand."""

    template_name = "referrals/admin/payout_batch_review.html"
    lines_per_page = 100

    def get_object(self, queryset=None):
        return get_object_or_404(
            PayoutBatch.objects.select_related(
                "programme", "created_by", "approved_by", "second_approved_by"
            ),
            pk=self.pk,
        )

    def get_page_title(self):
        return "Review"

    def get_page_subtitle(self):
        return f"Batch {self.object.pk}"

    @cached_property
    def review_url(self) -> str:
        return reverse("payouts:inspect", args=[self.object.pk])

    @cached_property
    def header_buttons(self):
        return [
            HeaderButton("Audit log", url=audit_log_url(batch=self.object.pk), icon_name="history")
        ]

    def get_context_data(self, approve_form=None, cancel_form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        batch = self.object
        user = self.request.user
        status = PayoutBatch.Status
        page = Paginator(selectors.payout_batch_lines(batch), self.lines_per_page).get_page(
            self.request.GET.get("p")
        )
        rows = [payout_row(payout, batch) for payout in page]
        is_manual = batch.backend == PayoutBatch.Backend.MANUAL
        progress = selectors.payout_batch_progress(batch)
        context.update(
            batch=batch,
            state=batch_state(batch),
            is_draft=batch.status == status.DRAFT,
            awaiting_second=batch.status == status.DRAFT and batch.approved_by_id is not None,
            needs_two=payout_batch_needs_second_approval(batch),
            dual_limit=batch.programme.dual_approval_above,
            is_manual=is_manual,
            can_pay=user.has_perm(APPROVE_PERMISSION),
            can_settle_by_hand=is_manual and batch.status == status.EXECUTING,
            show_progress=batch.status in (status.EXECUTING, status.DONE),
            progress=progress,
            page=page,
            elided_page_range=page.paginator.get_elided_page_range(page.number),
            rows=rows,
            flagged=sum(1 for row in rows if row.flags),
            approve_form=approve_form or PayoutBatchApproveForm(),
            cancel_form=cancel_form or PayoutBatchCancelForm(),
            paid_form=PayoutMarkPaidForm(),
            failed_form=PayoutMarkFailedForm(),
            events=selectors.audit_events_for_batch(batch.pk)[:20],
            audit_url=audit_log_url(batch=batch.pk),
            # A stripe_connect batch pays in the background: refresh while payouts are open.
            auto_refresh=batch.status == status.EXECUTING and not is_manual and progress.pending,
        )
        return context


class PayoutBatchApproveView(PayoutBatchReviewView):
    """The approver re-enters their password; the service checks it, the permission and who
    may give the second approval."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        form = PayoutBatchApproveForm(request.POST)
        if form.is_valid():
            try:
                batch = payout_batch_approve(
                    batch_id=self.object.pk,
                    actor=request.user,
                    password=form.cleaned_data["password"],
                )
            except ServiceError as exc:
                if exc.field not in form.fields:
                    messages.error(request, exc.message)
                    return redirect(self.review_url)
                form.add_error(exc.field, exc.message)
            else:
                if batch.status == PayoutBatch.Status.APPROVED:
                    messages.success(request, f"Batch {batch.pk} approved: it can be paid now.")
                else:
                    messages.success(
                        request,
                        f"Your approval is recorded. Batch {batch.pk} is above the programme's "
                        "limit: a second manager must approve it too.",
                    )
                return redirect(self.review_url)
        return self.render_to_response(self.get_context_data(approve_form=form))


class PayoutBatchCancelView(PayoutBatchReviewView):
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        _require(request, APPROVE_PERMISSION)
        form = PayoutBatchCancelForm(request.POST)
        if form.is_valid():
            try:
                payout_batch_cancel(
                    batch_id=self.object.pk, actor=request.user, reason=form.cleaned_data["reason"]
                )
            except ServiceError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(
                    request, f"Batch {self.object.pk} cancelled; every balance was given back."
                )
            return redirect(self.review_url)
        return self.render_to_response(self.get_context_data(cancel_form=form))


class PayoutBatchExecuteView(PayoutBatchReviewView):
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        try:
            batch = payout_batch_execute(batch_id=self.object.pk, actor=request.user)
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            if batch.backend == PayoutBatch.Backend.MANUAL:
                messages.success(
                    request,
                    "Batch released for payment. Download the CSV for your bank or PayPal, pay, "
                    "then mark each payout paid.",
                )
            else:
                messages.success(request, "Payouts are being sent through Stripe Connect.")
        return redirect(self.review_url)


CSV_HEADER = [
    "payout_id",
    "advocate_name",
    "email",
    "amount",
    "currency",
    "payout_method",
    "account",
    "reference",
]


def _csv_cell(value: str) -> str:
    """Neutralise text a spreadsheet would run as a formula (names are typed by advocates)."""
    value = str(value)
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def payout_account(advocate: Advocate) -> str:
    """Where the manual backend pays: the full IBAN or the PayPal email."""
    details = advocate.payout_details or {}
    if advocate.payout_method == Advocate.PayoutMethod.BANK:
        return details.get("iban", "")
    if advocate.payout_method == Advocate.PayoutMethod.PAYPAL:
        return details.get("email", "")
    return ""


def payout_reference(payout: Payout) -> str:
    """What the transfer carries, so a payout can be matched to the bank statement."""
    return f"Streetteam payout {payout.pk}"


class PayoutBatchCsvView(View):
    """The manual backend's export: the payouts still to pay, for a bank's or PayPal's bulk
    upload. Holds full IBANs, so it needs the payout permission and leaves an audit row."""

    http_method_names = ["get"]

    def get(self, request, pk):
        _require(request, APPROVE_PERMISSION)
        batch = get_object_or_404(PayoutBatch, pk=pk)
        if (
            batch.backend != PayoutBatch.Backend.MANUAL
            or batch.status != PayoutBatch.Status.EXECUTING
        ):
            messages.error(
                request, "The CSV is for manual batches that were approved and released."
            )
            return redirect("payouts:inspect", batch.pk)
        payouts = list(selectors.payout_batch_export(batch))
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="payout-batch-{batch.pk}-{batch.currency}.csv"'
        )
        writer = csv.writer(response)
        writer.writerow(CSV_HEADER)
        for payout in payouts:
            advocate = payout.advocate
            holder = (advocate.payout_details or {}).get("account_holder", "")
            name = holder or advocate.user.get_full_name() or advocate.user.email
            writer.writerow(
                [
                    payout.pk,
                    _csv_cell(name),
                    _csv_cell(advocate.user.email),
                    str(minor_to_decimal(payout.amount, payout.currency)),
                    payout.currency,
                    advocate.payout_method,
                    _csv_cell(payout_account(advocate)),
                    payout_reference(payout),
                ]
            )
        audit(actor=request.user, action="batch_exported", obj=batch, payouts=len(payouts))
        return response


class PayoutOperationView(View):
    """Base for the per-payout buttons on the review page (manual backend, failures)."""

    http_method_names = ["post"]
    form_class = None

    def post(self, request, pk):
        _require(request, APPROVE_PERMISSION)
        payout = get_object_or_404(Payout, pk=pk)
        form = self.form_class(request.POST) if self.form_class else None
        if form is not None and not form.is_valid():
            _errors_to_messages(request, form)
        else:
            data = form.cleaned_data if form is not None else {}
            try:
                message = self.perform(payout, data)
            except ServiceError as exc:
                messages.error(request, f"Payout {payout.pk}: {exc.message}")
            else:
                messages.success(request, message)
        url = reverse("payouts:inspect", args=[payout.batch_id])
        return redirect(f"{url}#payout-{payout.pk}")

    def perform(self, payout: Payout, data: dict) -> str:
        raise NotImplementedError


class PayoutMarkPaidView(PayoutOperationView):
    form_class = PayoutMarkPaidForm

    def perform(self, payout, data):
        payout_mark_paid(payout_id=payout.pk, actor=self.request.user, reference=data["reference"])
        return f"Payout {payout.pk} marked paid."


class PayoutMarkFailedView(PayoutOperationView):
    form_class = PayoutMarkFailedForm

    def perform(self, payout, data):
        payout_mark_failed(payout_id=payout.pk, actor=self.request.user, reason=data["reason"])
        return f"Payout {payout.pk} marked failed; the amount is back in the advocate's balance."


class PayoutRetryView(PayoutOperationView):
    def perform(self, payout, data):
        retry = payout_retry(payout_id=payout.pk, actor=self.request.user)
        return (
            f"Payout {retry.pk} created for {format_money(retry.amount, retry.currency)} "
            f"(retrying payout {payout.pk})."
        )


class PayoutRedirectView(View):
    """Payouts have no page of their own: links (the audit log) lead to their batch's line."""

    http_method_names = ["get"]

    def get(self, request, pk):
        payout = get_object_or_404(Payout, pk=pk)
        url = reverse("payouts:inspect", args=[payout.batch_id])
        return redirect(f"{url}#payout-{payout.pk}")


# ------------------------------------------------------------------------------
# Merchant API keys: created here and shown once, listed by prefix, revoked (never deleted).
# "referrals.add_apikey" creates, "referrals.change_apikey" revokes, "view" lists.

API_KEY_ADD_PERMISSION = "referrals.add_apikey"
API_KEY_REVOKE_PERMISSION = "referrals.change_apikey"


def api_key_display(api_key: ApiKey) -> str:
    """What identifies a key without giving it away: "st_<prefix>_…"."""
    return f"st_{api_key.prefix}_…"


def api_key_scope(api_key: ApiKey) -> str:
    names = [programme.name for programme in api_key.programmes.all()]
    return ", ".join(names) or "All programmes"


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
        _require(request, self.permission)
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
                actor=self.request.user,
            )
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            return self.form_invalid(form)
        audit(
            actor=self.request.user,
            action="api_key_created",
            obj=api_key,
            prefix=api_key.prefix,
            programmes=api_key_scope(api_key),
        )
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
            api_key_revoke(api_key=api_key)
            audit(actor=request.user, action="api_key_revoked", obj=api_key, prefix=api_key.prefix)
            messages.success(
                request,
                f"API key '{api_key.name}' ({api_key_display(api_key)}) revoked: "
                "requests made with it are refused from now on.",
            )
        else:
            messages.warning(request, f"API key '{api_key.name}' is already revoked.")
        return redirect(self.index_url_name)


# ------------------------------------------------------------------------------
# Stripe events: the webhook's log, each event's payload and error, and a replay button.

REPLAY_PERMISSION = "referrals.change_webhookevent"
REPLAYABLE = (
    WebhookEvent.Status.RECEIVED,
    WebhookEvent.Status.FAILED,
    WebhookEvent.Status.IGNORED,
)


def stripe_integration_notices() -> list[str]:
    """What is switched off, said to managers on the admin home and the Stripe events page."""
    if not getattr(settings, "STRIPE_SECRET_KEY", ""):
        return [
            "Stripe integration is off: set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRETS in the "
            "environment to record Stripe payments, pay advocates through Stripe Connect and "
            "reconcile with Stripe."
        ]
    if not [secret for secret in getattr(settings, "STRIPE_WEBHOOK_SECRETS", None) or [] if secret]:
        return [
            "Stripe webhooks are off: set STRIPE_WEBHOOK_SECRETS to the signing secret of the "
            "/stripe/webhook/ endpoint. Until then Stripe's events are refused (it retries for "
            "three days) and only reconciliation can fetch them."
        ]
    return []


def webhook_event_object(event: WebhookEvent) -> str:
    """What the event is about: the id of its data.object."""
    obj = ((event.payload or {}).get("data") or {}).get("object") or {}
    return obj.get("id", "") if isinstance(obj, dict) else ""


def webhook_event_types() -> list[tuple[str, str]]:
    """Types to filter by: those we handle and any other we have stored."""
    stored = WebhookEvent.objects.order_by().values_list("type", flat=True).distinct()
    return [(name, name) for name in sorted({*HANDLERS, *stored})]


@dataclass(frozen=True)
class ReconciliationSummary:
    when: object
    reason: str
    data: dict

    @property
    def clean(self) -> bool:
        return not self.data.get("problems")


def reconciliation_summary() -> ReconciliationSummary | None:
    last = stripe_reconcile_last()
    if last is None:
        return None
    return ReconciliationSummary(when=last.created_at, reason=last.reason, data=last.data)


class WebhookEventIndexView(ListingIndexView):
    template_name = "referrals/admin/stripe_event_index.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if not self.results_only:
            context.update(
                notices=stripe_integration_notices(),
                reconciliation=reconciliation_summary(),
                failed_url=reverse("stripe_events:index") + "?status=failed",
                failed_count=WebhookEvent.objects.filter(status=WebhookEvent.Status.FAILED).count(),
            )
        return context


class WebhookEventInspectView(InspectView):
    template_name = "referrals/admin/stripe_event_inspect.html"

    def get_page_subtitle(self):
        return self.object.stripe_id

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        event = self.object
        context.update(
            payload=json.dumps(event.payload, indent=2, sort_keys=True),
            can_replay=event.status in REPLAYABLE and self.request.user.has_perm(REPLAY_PERMISSION),
            replay_url=reverse("stripe_events:replay", args=[event.pk]),
            events=selectors.audit_trail(event),
            notices=stripe_integration_notices(),
        )
        return context


@method_decorator(transaction.non_atomic_requests, name="dispatch")
class WebhookEventReplayView(View):
    """Apply a stored event again, now (failed, ignored or never applied). Safe: handlers are
    idempotent and a processed event is never re-run. Leaves an audit row with who and why."""

    http_method_names = ["post"]

    def post(self, request, pk):
        _require(request, REPLAY_PERMISSION)
        event = get_object_or_404(WebhookEvent, pk=pk)
        before = event.status
        if before not in REPLAYABLE:
            messages.warning(
                request, f"Event {event.stripe_id} was already processed; nothing to replay."
            )
            return redirect("stripe_events:inspect", event.pk)
        event = stripe_event_replay(event.pk)
        audit(
            actor=request.user,
            action="stripe_event_replayed",
            obj=event,
            before=before,
            after=event.status,
            stripe_id=event.stripe_id,
            type=event.type,
        )
        if event.status == WebhookEvent.Status.PROCESSED:
            messages.success(request, f"Event {event.stripe_id} ({event.type}) replayed: applied.")
        elif event.status == WebhookEvent.Status.IGNORED:
            messages.warning(
                request, f"Event {event.stripe_id} replayed: nothing to apply. {event.error}"
            )
        else:
            messages.error(request, f"Event {event.stripe_id} failed again: {event.error}")
        return redirect("stripe_events:inspect", event.pk)
