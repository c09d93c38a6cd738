"""The usage page filter: date range and ledger entry kind."""

from dataclasses import dataclass
from datetime import date, timedelta

from django import forms

from credits.models import (
    EntryKind,
)

DEFAULT_USAGE_DAYS = 30


MAX_USAGE_DAYS = 366


@dataclass(frozen=True)
class UsageFilter:
    start: date
    end: date
    kind: str


class UsageFilterForm(forms.Form):
    """The usage page's date range (chart, table, ledger) and the ledger's entry kind."""

    start = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(
        label="Ledger entries", required=False, choices=[("", "All kinds"), *EntryKind.choices]
    )

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        # An unbound form shows the default range it stands for.
        self.initial.setdefault("end", today)
        self.initial.setdefault("start", today - timedelta(days=DEFAULT_USAGE_DAYS - 1))

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        end = cleaned.get("end") or self.today
        start = cleaned.get("start") or end - timedelta(days=DEFAULT_USAGE_DAYS - 1)
        if start > end:
            raise forms.ValidationError("The start date must not be after the end date.")
        if (end - start).days >= MAX_USAGE_DAYS:
            raise forms.ValidationError(f"Choose a range of at most {MAX_USAGE_DAYS} days.")
        cleaned["start"], cleaned["end"] = start, end
        return cleaned

    def usage_filter(self) -> UsageFilter:
        """The chosen filter, or the last 30 days of everything when the input is invalid."""
        if self.is_valid():
            data = self.cleaned_data
            return UsageFilter(data["start"], data["end"], data["kind"])
        end = self.today
        return UsageFilter(end - timedelta(days=DEFAULT_USAGE_DAYS - 1), end, "")
