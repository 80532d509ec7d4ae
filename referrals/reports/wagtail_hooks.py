"""The "Programme reports" menu, its pages, and the overview on the admin home.

Loaded by `referrals.wagtail_hooks` (Wagtail imports only each app's top-level hooks module).
Managers who may read orders and commissions (`views.REPORT_PERMISSIONS`) see the overview
in place of Wagtail's page counters, and the reports; other users see neither.
"""

from django.urls import include, path, reverse_lazy
from wagtail import hooks
from wagtail.admin.menu import Menu, MenuItem, SubmenuMenuItem

from referrals.reports import views


class ReportMenuItem(MenuItem):
    def is_shown(self, request):
        return views.can_see_reports(request.user)


_urls = [path("<slug:slug>/", views.ReportView.as_view(), name="report")]


@hooks.register("register_admin_urls")
def register_report_urls():
    return [path("programme-reports/", include((_urls, "programme_reports")))]


@hooks.register("register_admin_menu_item")
def register_reports_menu():
    items = [
        ReportMenuItem(
            report.title,
            reverse_lazy("programme_reports:report", args=[report.slug]),
            name=f"programme-report-{report.slug}",
            order=n,
        )
        for n, report in enumerate(views.REPORTS.values())
    ]
    return SubmenuMenuItem(
        "Programme reports",
        Menu(items=items),
        name="programme-reports",
        icon_name="table",
        order=205,
    )


@hooks.register("construct_homepage_panels")
def add_overview(request, panels):
    if views.can_see_reports(request.user):
        panels.append(views.OverviewPanel(request))


@hooks.register("construct_homepage_summary_items")
def hide_page_counters(request, summary_items):
    # Managers come to the home page for the programme's money, not for page and image counts
    # (the Pages menu still has them).
    if views.can_see_reports(request.user):
        summary_items.clear()
