"""Forms of the buy page: the purchase and its live preview."""

from typing import cast

from django import forms

from credits.forms.fields import CardChoiceField, UsdField
from credits.models import (
    PaymentMethod,
)
from credits.money import dollars_to_cents


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
        cast(CardChoiceField, self.fields["payment_method"]).queryset = PaymentMethod.objects.filter(
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
