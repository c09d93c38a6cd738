"""Forms of Billing > Settings: billing details and alerts. They parse; services decide."""

from decimal import Decimal

from django import forms

from credits.models import LowBalanceMode
from credits.models.billing_settings import MAX_DAYS, AlertsInput, BillingDetailsInput
from credits.money import cents_to_micros, dollars_to_cents


class BillingDetailsForm(forms.Form):
    legal_name = forms.CharField(
        label="Legal name", max_length=200, help_text="The company or person the receipts are for."
    )
    address = forms.CharField(
        label="Address", max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )
    country = forms.CharField(label="Country", max_length=100)
    tax_id = forms.CharField(
        label="Tax ID (optional)", max_length=64, required=False, help_text="VAT, GST or similar number."
    )
    billing_email = forms.EmailField(
        label="Billing e-mail (optional)",
        max_length=254,
        required=False,
        help_text="Receipts also go here, besides the owners and billing members.",
    )

    def details(self) -> BillingDetailsInput:
        return BillingDetailsInput(**self.cleaned_data)


class AlertSettingsForm(forms.Form):
    low_balance_mode = forms.ChoiceField(
        label="Low-balance alert", choices=LowBalanceMode.choices, widget=forms.RadioSelect
    )
    low_balance_threshold = forms.DecimalField(
        label="Alert when the balance falls below (USD)",
        required=False,
        min_value=Decimal("0.01"),
        max_value=Decimal("1000000"),
        max_digits=9,
        decimal_places=2,
    )
    low_balance_days = forms.IntegerField(
        label="Alert when fewer than this many days are left",
        required=False,
        min_value=1,
        max_value=MAX_DAYS,
        initial=7,
    )
    budget = forms.DecimalField(
        label="Monthly usage budget (USD, optional)",
        required=False,
        min_value=Decimal("1"),
        max_value=Decimal("10000000"),
        max_digits=10,
        decimal_places=2,
        help_text="We e-mail at 50%, 80% and 100% of it each calendar month (UTC). Usage never stops at it.",
    )

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        mode = cleaned.get("low_balance_mode")
        if mode == LowBalanceMode.AMOUNT and cleaned.get("low_balance_threshold") is None:
            self.add_error("low_balance_threshold", "Enter the balance that triggers the alert.")
        if mode == LowBalanceMode.DAYS and cleaned.get("low_balance_days") is None:
            self.add_error("low_balance_days", "Enter a number of days.")
        return cleaned

    def alerts(self) -> AlertsInput:
        data = self.cleaned_data
        threshold = data.get("low_balance_threshold")
        budget = data.get("budget")
        return AlertsInput(
            low_balance_mode=data["low_balance_mode"],
            low_balance_threshold_micros=cents_to_micros(dollars_to_cents(threshold)) if threshold else 0,
            low_balance_days=data.get("low_balance_days") or 7,
            budget_micros=cents_to_micros(dollars_to_cents(budget)) if budget else None,
        )
