"""The programme and period filter shared by the admin home's overview and every report."""

from datetime import timedelta

from django import forms
from django.utils import timezone

from advocacy.models import Programme
from referrals.reports.selectors import Period

PERIODS = [
    ("7", "Last 7 days"),
    ("30", "Last 30 days"),
    ("90", "Last 90 days"),
    ("custom", "Dates"),
]
DEFAULT_DAYS = "30"
# A custom range is charted by week past two months; past two years it says little and costs much.
MAX_DAYS = 731


class ReportFilterForm(forms.Form):
    """Bound to the query string. Empty means the defaults: the first programme, last 30 days."""

    programme = forms.ModelChoiceField(
        queryset=Programme.objects.order_by("name", "pk"), empty_label=None, required=False
    )
    period = forms.ChoiceField(choices=PERIODS, required=False)
    start = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, query=None, *, with_programme: bool = True, **kwargs):
        # Always bound, so the figures come straight from cleaned_data: what the query string
        # leaves out takes its default, shown as chosen in the form.
        data = {"period": DEFAULT_DAYS}
        if query:
            data.update((key, query.get(key)) for key in ("programme", "period", "start", "end"))
        super().__init__({k: v for k, v in data.items() if v is not None}, **kwargs)
        if with_programme:
            first = self.fields["programme"].queryset.values_list("pk", flat=True).first()
            self.data.setdefault("programme", first)
        else:
            del self.fields["programme"]

    def clean(self):
        cleaned = super().clean()
        choice = cleaned.get("period") or DEFAULT_DAYS
        today = timezone.now().date()
        if choice != "custom":
            cleaned["period"] = choice
            cleaned["range"] = Period.last_days(int(choice), today=today)
            return cleaned
        start, end = cleaned.get("start"), cleaned.get("end")
        if "start" in self.errors or "end" in self.errors:
            return cleaned
        if start is None:
            self.add_error("start", "Give the first day of the period.")
        if end is None:
            self.add_error("end", "Give the last day of the period.")
        if start is None or end is None:
            return cleaned
        if end < start:
            self.add_error("end", "The last day can't be before the first.")
        elif end > today:
            self.add_error("end", "The period can't end after today.")
        elif end - start >= timedelta(days=MAX_DAYS):
            self.add_error("start", "Choose a period of two years or less.")
        else:
            cleaned["range"] = Period(start=start, end=end)
        return cleaned
