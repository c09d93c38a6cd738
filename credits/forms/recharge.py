"""The auto-recharge page form."""

from decimal import Decimal
from typing import cast

from django import forms

from credits.forms.fields import UsdField


class RechargeForm(forms.Form):
    def __init__(self, *args, cards=(), **kwargs):
        super().__init__(*args, **kwargs)
        # "" charges whichever card is the default at the time of the charge.
        cast(forms.ChoiceField, self.fields["card"]).choices = [("", "My default card")] + [
            (
                card.stripe_id,
                f"{card.brand.title()} ending {card.last4} (expires {card.exp_month:02d}/{card.exp_year})",
            )
            for card in cards
        ]

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
        help_text=(
            "The first charge; later charges fall on the same day (the month's last day in shorter months)."
        ),
    )
    card = forms.ChoiceField(label="Card to charge", required=False)
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
    # Required by the service when starting a plan or when the policy version changed.
    accept_refund_policy = forms.BooleanField(
        label="I agree to the refund policy for the charges this plan makes",
        required=False,
        help_text='Read the <a href="/billing/refund-policy/">refund policy</a>.',
    )

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("threshold_enabled"):
            for name in ("threshold", "max_threshold_recharges", "max_threshold_amount"):
                if cleaned.get(name) in (None, ""):
                    self.add_error(name, "Required when low-balance top-ups are on.")
        return cleaned
