"""Forms of the payment methods page."""

from django import forms

from credits.models import (
    PaymentContactMethod,
)


class PaymentContactForm(forms.Form):
    method = forms.ChoiceField(label="How would you like to pay?", choices=PaymentContactMethod.choices)
    message = forms.CharField(
        label="Tell us more",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Amount, billing entity, anything your finance team needs.",
    )
