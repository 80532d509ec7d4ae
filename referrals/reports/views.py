"""The manager's overview on the admin home and the "Programme reports" pages, with CSV exports.

Thin: the filter form parses the query string, the selectors compute, these functions only
shape rows for the page (money formatted in the programme's currency) and for the CSV (amounts
in currency units, the currency in its own column, every cell formula-safe).
"""

import csv
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import Http404, HttpResponse
from django.urls import reverse
from django.views.generic import TemplateView
from wagtail.admin.ui.components import Component
from wagtail.admin.views.generic import WagtailAdminTemplateMixin
from wagtail.permissions import policy_registry

from advocacy.models import Advocate
from kernel.admin import require_permission
from kernel.charts import Series, bar_chart, line_chart
from kernel.money import format_money, minor_to_decimal
from kernel.spreadsheet import spreadsheet_safe
from referrals.reports import selectors
from referrals.reports.forms import PERIODS, ReportFilterForm
from referrals.reports.selectors import Period, Totals

# Managers who may read orders and commissions may read the figures made of them.
REPORT_PERMISSIONS = ("referrals.view_order", "referrals.view_commission")


def can_see_reports(user) -> bool:
    return user.has_perms(REPORT_PERMISSIONS)


def can_open_advocates(user) -> bool:
    """Whether an advocate's name may link to their page (the advocates' "view" permission)."""
    return policy_registry.get_by_type(Advocate).user_has_permission(user, "view")


def advocate_url(advocate_id: int) -> str:
    return reverse("advocates:inspect", args=[advocate_id])


# ------------------------------------------------------------------------------
# Cells and columns


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable  # row -> value (int minor units for money, Decimal for rates, str, int)
    kind: str = "text"  # text, count, money, percent, ratio
    in_csv: bool = True  # the CSV has its own Currency column

    @property
    def numeric(self) -> bool:
        return self.kind != "text"


def show(value, kind: str, currency: str) -> str:
    """A cell for people: "€12.50", "3.4%", "4.2×", "1,204"; "-" when there is no figure."""
    if value is None:
        return "-"
    if kind == "money":
        return format_money(value, currency)
    if kind == "percent":
        return f"{value}%"
    if kind == "ratio":
        return f"{value}×"
    if kind == "count":
        return f"{value:,}"
    return str(value)


def export_value(value, kind: str, currency: str):
    """A cell for a spreadsheet: money in currency units (Decimal), rates as plain numbers."""
    if value is None:
        return ""
    if kind == "money":
        return minor_to_decimal(value, currency)
    return spreadsheet_safe(value)


def totals_columns(get: Callable[[object], Totals]) -> list[Column]:
    return [
        Column("Link clicks", lambda r: get(r).clicks, "count"),
        Column("Referred orders", lambda r: get(r).orders, "count"),
        Column("Conversion", lambda r: get(r).conversion_percent, "percent"),
        Column("Referred revenue", lambda r: get(r).revenue, "money"),
        Column("Discounts given", lambda r: get(r).discounts, "money"),
        Column("Commissions", lambda r: get(r).commissions, "money"),
        Column("Cost per referred order", lambda r: get(r).cost_per_order, "money"),
        Column("Return on commissions and discounts", lambda r: get(r).return_on_cost, "ratio"),
    ]


# ------------------------------------------------------------------------------
# The reports


@dataclass
class Table:
    columns: list[Column]
    rows: list
    currency: Callable[[object], str]  # the row's currency
    chart: str = ""
    summary: list[tuple[str, str]] | None = None
    link: Callable[[object], str] | None = None  # the row's page, linked from its first cell


@dataclass(frozen=True)
class Report:
    slug: str
    title: str
    lead: str
    per_programme: bool = True


REPORTS = {
    report.slug: report
    for report in (
        Report(
            "funnel",
            "Funnel",
            "From link clicks to referred orders, to commissions approved and paid: how many at "
            "each step and the money it carries.",
        ),
        Report(
            "revenue",
            "Revenue and cost over time",
            "Referred revenue beside what it cost: the discounts shoppers got and the "
            "commissions advocates earned (net of reversals), per day, or per week over longer "
            "periods.",
        ),
        Report(
            "advocates",
            "By advocate",
            "Every advocate with a click or a referred order in the period, most referred "
            "revenue first.",
        ),
        Report(
            "codes",
            "By code and channel",
            "Each code by how its orders came: the referral link, the code typed at checkout, or "
            "the Stripe promotion code. Clicks are link visits, so they sit on the link's row.",
        ),
        Report(
            "audiences",
            "By audience",
            "Every programme's figures grouped by who its advocates are (customers, employees, "
            "partners, influencers), one row per currency: amounts in different currencies are "
            "never added together.",
            per_programme=False,
        ),
    )
}


def _funnel(programme, period: Period) -> Table:
    steps = selectors.funnel(programme, period)
    totals = selectors.programme_totals(programme, period)
    currency = programme.currency
    previous = [None, *steps[:-1]]
    rows = [
        {
            "step": step.label,
            "count": step.count,
            "amount": step.amount,
            "share": selectors.ratio(100 * step.count, before.count) if before else None,
        }
        for step, before in zip(steps, previous, strict=True)
    ]
    chart = bar_chart(
        title=f"Funnel of {programme.name}",
        description="Count at each step, as a share of the link clicks.",
        bars=[
            (
                step.label,
                step.count,
                f"{step.count:,}"
                + (f" ({format_money(step.amount, currency)})" if step.amount is not None else ""),
            )
            for step in steps
        ],
    )
    return Table(
        columns=[
            Column("Step", lambda r: r["step"]),
            Column("Count", lambda r: r["count"], "count"),
            Column("Money", lambda r: r["amount"], "money"),
            Column("Share of the step before", lambda r: r["share"], "percent"),
        ],
        rows=rows,
        currency=lambda r: currency,
        chart=chart,
        summary=[
            ("Discounts given", show(totals.discounts, "money", currency)),
            ("Commissions (net of reversals)", show(totals.commissions, "money", currency)),
            ("Cost per referred order", show(totals.cost_per_order, "money", currency)),
            ("Return on commissions and discounts", show(totals.return_on_cost, "ratio", "")),
        ],
    )


def _bucket_label(day) -> str:
    """The bucket's first day; its column says whether that is a day or a week's Monday."""
    return f"{day:%-d %b %Y}"


def revenue_chart(programme, period: Period, points) -> str:
    currency = programme.currency
    unit = "week" if period.by_week else "day"
    return line_chart(
        title=f"Referred revenue and its cost per {unit}, {programme.name}",
        description=(
            f"From {period.start:%-d %B %Y} to {period.end:%-d %B %Y}, in {currency}. "
            "The same figures are in the table below."
        ),
        labels=[f"{p.day:%-d %b}" for p in points],
        series=[
            Series("Referred revenue", [p.revenue for p in points]),
            Series("Commissions", [p.commissions for p in points]),
            Series("Discounts given", [p.discounts for p in points]),
        ],
        format_value=lambda v: format_money(v, currency),
    )


def _revenue(programme, period: Period) -> Table:
    points = selectors.series(programme, period)
    currency = programme.currency
    by_week = period.by_week
    return Table(
        columns=[
            Column("Week of" if by_week else "Day", lambda p: _bucket_label(p.day)),
            Column("Link clicks", lambda p: p.clicks, "count"),
            Column("Referred orders", lambda p: p.orders, "count"),
            Column("Referred revenue", lambda p: p.revenue, "money"),
            Column("Discounts given", lambda p: p.discounts, "money"),
            Column("Commissions", lambda p: p.commissions, "money"),
        ],
        rows=points,
        currency=lambda p: currency,
        chart=revenue_chart(programme, period, points),
    )


def _advocates(programme, period: Period) -> Table:
    currency = programme.currency
    return Table(
        columns=[Column("Advocate", lambda r: r.email), *totals_columns(lambda r: r.totals)],
        rows=selectors.advocate_rows(programme, period),
        currency=lambda r: currency,
        link=lambda r: advocate_url(r.advocate_id),
    )


def _codes(programme, period: Period) -> Table:
    currency = programme.currency
    return Table(
        columns=[
            Column("Code", lambda r: r.code),
            Column("Code's label", lambda r: r.label or "-"),
            Column("Channel", lambda r: r.channel),
            *totals_columns(lambda r: r.totals),
        ],
        rows=selectors.code_rows(programme, period),
        currency=lambda r: currency,
    )


def _audiences(programme, period: Period) -> Table:
    return Table(
        columns=[
            Column("Audience", lambda r: r.audience),
            Column("Currency", lambda r: r.currency, in_csv=False),
            Column("Programmes", lambda r: r.programmes, "count"),
            *totals_columns(lambda r: r.totals),
        ],
        rows=selectors.audience_rows(period),
        currency=lambda r: r.currency,
    )


BUILDERS = {
    "funnel": _funnel,
    "revenue": _revenue,
    "advocates": _advocates,
    "codes": _codes,
    "audiences": _audiences,
}


def display_rows(table: Table, *, links: bool = False) -> list[list[dict]]:
    """The table's cells for people; with `links`, each row's first cell links to its page."""
    rows = []
    for row in table.rows:
        cells = [
            {
                "text": show(column.value(row), column.kind, table.currency(row)),
                "numeric": column.numeric,
            }
            for column in table.columns
        ]
        if links and table.link is not None:
            cells[0]["url"] = table.link(row)
        rows.append(cells)
    return rows


def csv_response(table: Table, filename: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    columns = [column for column in table.columns if column.in_csv]
    writer.writerow([*(column.header for column in columns), "Currency"])
    for row in table.rows:
        currency = table.currency(row)
        cells = [export_value(column.value(row), column.kind, currency) for column in columns]
        writer.writerow([*cells, currency])
    return response


def period_name(form: ReportFilterForm) -> str:
    period = form.cleaned_data["range"]
    choice = form.cleaned_data["period"]
    if choice != "custom":
        return dict(PERIODS)[choice].lower()
    return f"{period.start:%-d %b %Y} to {period.end:%-d %b %Y}"


class ReportView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "referrals/admin/reports/report.html"
    header_icon = "table"

    def dispatch(self, request, *args, **kwargs):
        for permission in REPORT_PERMISSIONS:
            require_permission(request, permission)
        self.report = REPORTS.get(kwargs["slug"])
        if self.report is None:
            raise Http404("No such report.")
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return self.report.title

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": "", "label": f"Programme reports: {self.report.title}"},
        ]

    def get(self, request, *args, **kwargs):
        form = ReportFilterForm(request.GET, with_programme=self.report.per_programme)
        table = None
        programme = None
        if form.is_valid():
            programme = form.cleaned_data.get("programme")
            if programme is not None or not self.report.per_programme:
                table = BUILDERS[self.report.slug](programme, form.cleaned_data["range"])
        if table is not None and request.GET.get("export") == "csv":
            period = form.cleaned_data["range"]
            scope = programme.slug if programme else "all-programmes"
            name = f"streetteam-{self.report.slug}-{scope}-{period.start}-{period.end}.csv"
            return csv_response(table, name)
        context = self.get_context_data(
            form=form,
            table=table,
            programme=programme,
            rows=display_rows(table, links=can_open_advocates(request.user)) if table else [],
            reports=[
                (r, reverse("programme_reports:report", args=[r.slug])) for r in REPORTS.values()
            ],
            export_url=f"?{urlencode({**request.GET.dict(), 'export': 'csv'})}",
            period_name=period_name(form) if table else "",
            has_programmes=form.fields["programme"].queryset.exists()
            if "programme" in form.fields
            else True,
        )
        return self.render_to_response(context)


# ------------------------------------------------------------------------------
# The admin home


def _query(**params) -> str:
    return "?" + urlencode({k: v for k, v in params.items() if v not in (None, "")})


class OverviewPanel(Component):
    """The programme's money at a glance, in place of Wagtail's page counters."""

    name = "streetteam_overview"
    template_name = "referrals/admin/reports/home_overview.html"
    order = 10

    class Media:
        css = {"all": ["css/streetteam-reports.css"]}

    def __init__(self, request):
        self.request = request

    def get_context_data(self, parent_context):
        form = ReportFilterForm(self.request.GET)
        context = {"form": form, "overview": None}
        if not form.is_valid() or form.cleaned_data.get("programme") is None:
            return context
        programme, period = form.cleaned_data["programme"], form.cleaned_data["range"]
        overview = selectors.overview(programme, period)
        currency, totals, pk = programme.currency, overview.totals, programme.pk
        filters = _query(
            programme=pk,
            period=form.cleaned_data["period"],
            start=form.data.get("start"),
            end=form.data.get("end"),
        )

        def report(slug):
            return reverse("programme_reports:report", args=[slug]) + filters

        def money(amount):
            return format_money(amount, currency)

        orders = reverse("orders:index") + _query(
            programme=pk, placed_at_after=period.start, placed_at_before=period.end
        )
        conversion = totals.conversion_percent
        cards = [
            (
                "Link clicks",
                f"{totals.clicks:,}",
                "visits to the programme's links",
                report("codes"),
            ),
            (
                "Referred orders",
                f"{totals.orders:,}",
                f"{conversion}% of link clicks" if conversion is not None else "no link clicks",
                orders,
            ),
            ("Referred revenue", money(totals.revenue), "after discounts, before refunds", orders),
            ("Discounts given", money(totals.discounts), "to referred shoppers", report("revenue")),
            ("Commissions", money(totals.commissions), "net of reversals", report("revenue")),
            (
                "Return on commissions and discounts",
                show(totals.return_on_cost, "ratio", currency),
                "cost per referred order: " + show(totals.cost_per_order, "money", currency),
                report("funnel"),
            ),
        ]
        commissions = reverse("commissions:index")
        # The advocate's page when the manager may open it, else their commissions.
        may_open = can_open_advocates(self.request.user)
        standing = overview.commissions
        queue = [
            (
                "On hold",
                standing["held"],
                commissions + _query(programme=pk, status="pending", ready="false"),
            ),
            (
                "Ready for review",
                standing["ready"],
                commissions + _query(programme=pk, ready="true"),
            ),
            (
                "Approved",
                standing["approved"],
                commissions + _query(programme=pk, status="approved"),
            ),
            ("Paid", standing["paid"], commissions + _query(programme=pk, status="paid")),
        ]
        context.update(
            ready_now=(overview.ready_now.count, money(overview.ready_now.amount)),
            ready_now_url=commissions + _query(programme=pk, ready="true"),
            overview=overview,
            programme=programme,
            period_name=period_name(form),
            cards=cards,
            queue=[(label, f.count, money(f.amount), url) for label, f, url in queue],
            due_advocates=overview.due_advocates,
            due_amount=money(overview.due_amount),
            threshold=money(programme.payout_threshold),
            payouts_url=reverse("payouts:index"),
            top=[
                (
                    row.email,
                    row.totals.orders,
                    money(row.totals.revenue),
                    advocate_url(row.advocate_id)
                    if may_open
                    else commissions + _query(programme=pk, advocate=row.email),
                )
                for row in overview.top_advocates
            ],
            advocates_url=report("advocates"),
            reports_url=report("funnel"),
            chart=revenue_chart(programme, period, overview.series),
            series=[
                (
                    _bucket_label(p.day),
                    money(p.revenue),
                    money(p.commissions),
                    money(p.discounts),
                )
                for p in overview.series
            ],
        )
        return context


def overview_panel_for(request) -> OverviewPanel | None:
    return OverviewPanel(request) if can_see_reports(request.user) else None
