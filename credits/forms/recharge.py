"""The auto-recharge page form."""

from datetime import date
from decimal import Decimal
from typing import cast

from django import forms

from credits.forms.fields import UsdField
from credits.models.ledger import PeriodKind
from credits.models.purchases import MAX_TOPUPS_PER_PERIOD_CENTS
from credits.money import cents_to_decimal

EARLIEST_BILLING_DATE = date(2020, 1, 1)
LATEST_BILLING_DATE = date(2099, 12, 31)


def _within_calendar(value: date) -> None:
    # Bounded so the schedule's date arithmetic (a year on, the month's last day) stays
    # inside the calendar: 9999-12-31 is a form error, not a crash. Earlier dates are kept
    # for plans that began long ago; the service refuses a new one in the past. A field
    # validator, so the live preview (which cleans the fields alone) checks it too.
    if value < EARLIEST_BILLING_DATE:
        raise forms.ValidationError(f"Choose a date from {EARLIEST_BILLING_DATE:%b %-d, %Y} on.")
    if value > LATEST_BILLING_DATE:
        raise forms.ValidationError(f"Choose a date up to {LATEST_BILLING_DATE:%b %-d, %Y}.")


def _card_label(card) -> str:
    return f"{card.brand.title()} ending {card.last4} (expires {card.exp_month:02d}/{card.exp_year})"


TOPUP_FIELDS = ("threshold", "max_threshold_recharges", "max_threshold_amount")


class RechargeForm(forms.Form):
    def __init__(self, *args, cards=(), saving: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.has_cards = bool(cards)
        self.saving = saving
        if self.has_cards:
            # "" charges whichever card is the default at the time of the charge.
            cast(forms.ChoiceField, self.fields["card"]).choices = [("", "My default card")] + [
                (card.stripe_id, _card_label(card)) for card in cards
            ]
        else:
            # With no saved card there is nothing to choose: the page asks for a card instead.
            del self.fields["card"]
        for name in TOPUP_FIELDS:
            # templates/form_fields.html adds it to the field's row; CSS hides those rows
            # while the top-up box is unticked.
            self.fields[name].row_class = "topup-field"  # type: ignore[attr-defined]

    amount = UsdField(label="Recharge amount (USD)", help_text="Bonus credits are added on top.")
    frequency = forms.ChoiceField(
        label="Frequency",
        choices=PeriodKind.choices,
        widget=forms.RadioSelect,
        initial=PeriodKind.MONTHLY,
    )
    billing_date = forms.DateField(
        label="Billing date",
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[_within_calendar],
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
        label="At most this much in top-ups per period (USD)",
        required=False,
        max_value=cents_to_decimal(MAX_TOPUPS_PER_PERIOD_CENTS),
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
        if self.saving and not self.has_cards:
            raise forms.ValidationError(
                "Add a card under Payment methods first: auto-recharge charges a saved card.",
                code="no_card",
            )
        if cleaned.get("threshold_enabled"):
            for name in TOPUP_FIELDS:
                if cleaned.get(name) in (None, ""):
                    self.add_error(name, "Required when low-balance top-ups are on.")
        return cleaned

    def preview_values(self) -> dict | None:
        """Amount, frequency and billing date as the page shows them (typed, else the saved
        plan's), cleaned; None while one of them is missing or invalid."""
        values = {}
        for name in ("amount", "frequency", "billing_date"):
            try:
                values[name] = self.fields[name].clean(self[name].value())
            except forms.ValidationError:
                return None
        return values
