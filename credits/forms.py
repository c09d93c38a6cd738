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
