"""Forms of the credits app."""

from decimal import Decimal

from django import forms


class AdjustmentForm(forms.Form):
    amount = forms.DecimalField(
        label="Amount (USD)",
        max_digits=14,
        decimal_places=6,
        min_value=Decimal("-1000000"),
        max_value=Decimal("1000000"),
        help_text="Positive adds a grant lot; negative takes credits away like usage. Up to 6 decimals.",
    )
    reason = forms.CharField(max_length=255, help_text="Shown in the ledger and the audit trail.")
    expires_at = forms.DateTimeField(
        required=False,
        label="Expires at (optional, for positive grants)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError("An adjustment cannot be zero.")
        return amount

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why.")
        return reason


class UsdField(forms.DecimalField):
    """Dollars and whole cents, as typed by a customer."""

    def __init__(self, *, min_value: Decimal = Decimal("10"), max_value: Decimal = Decimal("100000"), **kwargs):
        super().__init__(
            max_digits=9,
            decimal_places=2,
            min_value=min_value,
            max_value=max_value,
            error_messages={
                "max_decimal_places": "Use whole cents (at most 2 decimals).",
                "min_value": f"The minimum is ${min_value:,.2f}.",
                "max_value": f"The maximum is ${max_value:,.2f}.",
                "invalid": "Enter an amount in dollars, like 100 or 250.50.",
            },
            **kwargs,
        )


class RechargeForm(forms.Form):
    amount = UsdField(label="Recharge amount (USD)", help_text="Bonus credits are added on top.")
    frequency = forms.ChoiceField(
        label="Frequency",
        choices=[("monthly", "Monthly"), ("yearly", "Yearly")],
        widget=forms.RadioSelect,
        initial="monthly",
    )
    billing_date = forms.DateField(
        label="Billing date",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The first charge; later charges fall on the same day (the month's last day in shorter months).",
    )
    threshold_enabled = forms.BooleanField(
        label="Also top up when my balance falls below a floor", required=False
    )
    threshold = UsdField(
        label="Top up when the balance is below (USD)",
        min_value=Decimal("1"),
        required=False,
    )
    max_threshold_recharges = forms.IntegerField(
        label="At most this many top-ups per period", min_value=1, max_value=10, initial=3, required=False
    )
    max_threshold_amount = UsdField(
        label="At most this much in top-ups per period (USD)", required=False, max_value=Decimal("300000")
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("threshold_enabled"):
            for name in ("threshold", "max_threshold_recharges", "max_threshold_amount"):
                if cleaned.get(name) in (None, ""):
                    self.add_error(name, "Required when low-balance top-ups are on.")
        return cleaned


class RefundRequestForm(forms.Form):
    purchase = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    reason = forms.CharField(
        label="Why do you want a refund?", max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class RejectRefundForm(forms.Form):
    note = forms.CharField(label="Reason shown to the customer", max_length=500)
