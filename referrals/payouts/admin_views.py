"""Manager screens for payout batches: build, review, approve, cancel, execute, export, and settle
the payouts inside."""

import csv
from dataclasses import dataclass

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.views import View
from django.views.generic import FormView
from wagtail.admin import messages
from wagtail.admin.views.generic import InspectView, WagtailAdminTemplateMixin
from wagtail.admin.widgets import HeaderButton

from advocacy.models import Programme
from advocacy.payout_details import payout_details_summary
from kernel.admin import ListingIndexView, errors_to_messages, plural, require_permission
from kernel.errors import ServiceError
from kernel.money import format_money
from referrals.audit_log import audit_log_url
from referrals.models import Payout, PayoutBatch
from referrals.payouts import selectors
from referrals.payouts.bank_csv import BANK_FILE_FORMATS, bank_file_summaries
from referrals.payouts.destination import destination_fixed, destination_now
from referrals.payouts.forms import (
    PayoutBatchApproveForm,
    PayoutBatchBuildForm,
    PayoutBatchCancelForm,
    PayoutMarkFailedForm,
    PayoutMarkPaidForm,
)
from referrals.payouts.services import (
    APPROVE_PERMISSION,
    payout_batch_approve,
    payout_batch_build,
    payout_batch_cancel,
    payout_batch_csv_export,
    payout_batch_execute,
    payout_batch_needs_second_approval,
    payout_destination_confirm,
    payout_dual_approval_limit,
    payout_mark_failed,
    payout_mark_paid,
    payout_retry,
)

BACKEND_LABELS = {
    PayoutBatch.Backend.MANUAL: "Manual (CSV)",
    PayoutBatch.Backend.STRIPE_CONNECT: "Stripe Connect",
}


def batch_state(batch: PayoutBatch) -> str:
    """The status as a manager needs it: a draft with one approval awaits the second."""
    if batch.status == PayoutBatch.Status.DRAFT and batch.approved_by_id is not None:
        return "Awaiting second approval"
    return batch.get_status_display()


def batch_builder(batch: PayoutBatch) -> str:
    """Who built the batch: a manager's email, or the programme's payout schedule."""
    if batch.created_by_id is not None:
        return batch.created_by.email
    return "The payout schedule" if batch.scheduled_for else ""


class PayoutBatchIndexView(ListingIndexView):
    template_name = "referrals/admin/payout_batch_index.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        schedules = selectors.payout_schedules_next(today=timezone.localdate())
        context["next_scheduled"] = [
            item.sentence(several=len(schedules) > 1) for item in schedules
        ]
        return context

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
        require_permission(request, APPROVE_PERMISSION)
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
        form = kwargs.get("form")
        programme = None
        # The preview: who the build would leave out, for the programme chosen (?programme=).
        if (form is None or not form.is_bound) and self.get_initial():
            programme = Programme.objects.filter(pk=self.get_initial()["programme"]).first()
        left_out = selectors.payout_build_left_out(programme=programme) if programme else None
        return super().get_context_data(
            action_url=self.request.path,
            submit_button_label="Build batch",
            submit_button_active_label="Building…",
            left_out=left_out.sentence() if left_out else "",
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
        left_out = selectors.payout_build_left_out(programme=programme).sentence()
        if batch is None:
            threshold = format_money(programme.payout_threshold, programme.currency)
            form.add_error(
                "programme",
                f"No active advocate of {programme} has an approved balance of at least "
                f"{threshold} that is not already in a batch: there is nothing to pay yet."
                + (f" {left_out}" if left_out else ""),
            )
            return self.form_invalid(form)
        messages.success(
            self.request,
            f"Batch {batch.pk} built: {plural(batch.payout_count, 'payout')}, "
            f"{format_money(batch.total_amount, batch.currency)} in all. Review it, then approve."
            + (f" {left_out}" if left_out else ""),
        )
        return redirect("payouts:inspect", batch.pk)


# Audit data of a batch and its payouts that are amounts in minor units of the batch's currency.
AUDIT_MONEY_KEYS = ("total", "amount")


@dataclass(frozen=True)
class PayoutRow:
    payout: Payout
    method: str
    destination: str  # masked: full details only go into the CSV
    flags: list[str]
    # When the advocate changed their details after approval: the sentence asking a manager
    # to confirm the new ones (the payout is not paid until then).
    changed: str = ""


def payout_row(payout: Payout, batch: PayoutBatch) -> PayoutRow:
    flags = selectors.payout_line_flags(payout, batch)
    changed = ""
    if payout.destination_fixed_at is not None:
        # Approved: the row shows where the money goes, fixed at approval.
        fixed = destination_fixed(payout)
        method, destination = fixed.label.partition(", ")[::2]
        if selectors.DESTINATION_CHANGED in flags:
            now = destination_now(payout.advocate, batch.backend)
            changed = (
                f"Approved to pay {fixed.label}; the advocate has changed it to {now.label}. "
                f"Nothing is paid until you confirm the new details."
            )
    else:
        details = payout_details_summary(payout.advocate)
        method, destination = details.method_label, details.destination
    return PayoutRow(
        payout=payout, method=method, destination=destination, flags=flags, changed=changed
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
            dual_limit=payout_dual_approval_limit(batch.programme),
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
            # Read as sentences, as in the audit log (referrals/audit_sentences.py).
            events=list(selectors.audit_events_for_batch(batch.pk)[:20]),
            # The manual backend's files, each with what it carries and what it leaves out.
            bank_files=(
                bank_file_summaries(batch)
                if is_manual and batch.status == status.EXECUTING and progress.pending
                else []
            ),
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
        require_permission(request, APPROVE_PERMISSION)
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


class PayoutBatchCsvView(View):
    """The manual backend's export: the payouts still to pay, as our generic bank CSV or as
    PayPal Payouts' or Wise's batch file (`?file=paypal|wise`). Holds full IBANs and emails:
    the service checks the batch and the file and audits; this writes the rows."""

    http_method_names = ["get"]

    def get(self, request, pk):
        require_permission(request, APPROVE_PERMISSION)
        batch = get_object_or_404(PayoutBatch, pk=pk)
        file_format = request.GET.get("file", "generic")
        try:
            rows = payout_batch_csv_export(
                batch_id=batch.pk, actor=request.user, file_format=file_format
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
            return redirect("payouts:inspect", batch.pk)
        suffix = BANK_FILE_FORMATS[file_format].suffix
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="payout-batch-{batch.pk}-{batch.currency}{suffix}.csv"'
        )
        csv.writer(response).writerows(rows)
        return response


class PayoutOperationView(View):
    """Base for the per-payout buttons on the review page (manual backend, failures)."""

    http_method_names = ["post"]
    form_class = None

    def post(self, request, pk):
        require_permission(request, APPROVE_PERMISSION)
        payout = get_object_or_404(Payout, pk=pk)
        form = self.form_class(request.POST) if self.form_class else None
        if form is not None and not form.is_valid():
            errors_to_messages(request, form)
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


class PayoutConfirmDestinationView(PayoutOperationView):
    def perform(self, payout, data):
        payout = payout_destination_confirm(payout_id=payout.pk, actor=self.request.user)
        return (
            f"Payout {payout.pk} of {format_money(payout.amount, payout.currency)} will be paid "
            f"to {destination_fixed(payout).label}."
        )


class PayoutRedirectView(View):
    """Payouts have no page of their own: links (the audit log) lead to their batch's line."""

    http_method_names = ["get"]

    def get(self, request, pk):
        payout = get_object_or_404(Payout, pk=pk)
        url = reverse("payouts:inspect", args=[payout.batch_id])
        return redirect(f"{url}#payout-{payout.pk}")
