"""Forms of the buy page: the purchase and its live preview."""

from typing import cast

from django import forms

from credits.forms.fields import CardChoiceField, UsdField
from credits.models import (
    PaymentMethod,
)
from credits.models.purchases import MAX_PURCHASE_CENTS, MIN_PURCHASE_CENTS
from credits.money import cents_to_decimal, dollars_to_cents


def _whole_dollars(cents: int) -> str:
    return f"${cents_to_decimal(cents):,.0f}"


class BuyForm(forms.Form):
    """Buy credits: an amount in dollars and cents, a saved card, the refund policy accepted."""

    amount = UsdField(
        label="Amount (USD)",
        widget=forms.NumberInput(
            attrs={
                "step": "0.01",
                "min": str(cents_to_decimal(MIN_PURCHASE_CENTS)),
                "max": str(cents_to_decimal(MAX_PURCHASE_CENTS)),
            }
        ),
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
        self.fields["amount"].error_messages["required"] = (
            f"Enter an amount between {_whole_dollars(MIN_PURCHASE_CENTS)} "
            f"and {_whole_dollars(MAX_PURCHASE_CENTS)}."
        )
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
