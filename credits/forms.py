"""Forms of the credits app."""

from decimal import Decimal

from django import forms

from credits.models import PaymentContactMethod, PaymentMethod
from credits.money import dollars_to_cents


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


class CardChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        default = " (default)" if obj.is_default else ""
        return f"{obj.brand.title()} ending {obj.last4}, expires {obj.exp_month:02d}/{obj.exp_year}{default}"


class BuyForm(forms.Form):
    """Buy credits: an amount in dollars and cents, a saved card, the refund policy accepted."""

    amount = UsdField(
        label="Amount (USD)",
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "10", "max": "100000"}),
    )
    payment_method = CardChoiceField(
        label="Pay with",
        queryset=None,
        empty_label=None,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose a card, or add one first."},
    )
    accept_refund_policy = forms.BooleanField(
        label="I agree to the refund policy",
        error_messages={"required": "Please accept the refund policy to buy credits."},
    )
    # One per rendered form: the purchase key, so a double submit is one purchase.
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"].error_messages["required"] = "Enter an amount between $10 and $100,000."
        self.fields["payment_method"].queryset = PaymentMethod.objects.filter(
            customer__organization=organization
        )

    @property
    def amount_cents(self) -> int:
        return dollars_to_cents(self.cleaned_data["amount"])


class AmountForm(forms.Form):
    """Just the amount, for the live preview."""

    amount = BuyForm.base_fields["amount"]

    @property
    def amount_cents(self) -> int:
        return dollars_to_cents(self.cleaned_data["amount"])


class PaymentContactForm(forms.Form):
    method = forms.ChoiceField(label="How would you like to pay?", choices=PaymentContactMethod.choices)
    message = forms.CharField(
        label="Tell us more",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Amount, billing entity, anything your finance team needs.",
    )
