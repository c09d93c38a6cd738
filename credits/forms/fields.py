"""Fields several pages share: dollar amounts, proof documents, saved cards."""

from decimal import Decimal

from django import forms

from credits.models.purchases import MAX_PURCHASE_CENTS, MIN_PURCHASE_CENTS
from credits.money import cents_to_decimal

_MIN_PURCHASE = cents_to_decimal(MIN_PURCHASE_CENTS)
_MAX_PURCHASE = cents_to_decimal(MAX_PURCHASE_CENTS)


class AsciiDecimalField(forms.DecimalField):
    """A decimal typed with ASCII digits only. Python's Decimal also reads other scripts'
    digits (Arabic-Indic one, zero, zero is 100): an amount nobody can read back on a
    receipt, and a way to slip past checks made on the text, is refused."""

    def to_python(self, value):
        if isinstance(value, str) and not value.strip().isascii():
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class UsdField(AsciiDecimalField):
    """Dollars and whole cents, as typed by a customer."""

    def __init__(
        self,
        *,
        min_value: Decimal = _MIN_PURCHASE,
        max_value: Decimal = _MAX_PURCHASE,
        **kwargs,
    ):
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

    def run_validators(self, value):
        # A billion dollars also breaks the digit limit; the maximum alone says what to do.
        if value is not None and self.max_value is not None and value > self.max_value:
            raise forms.ValidationError(self.error_messages["max_value"], code="max_value")
        super().run_validators(value)


_DOCUMENT_ACCEPT = "application/pdf,image/png,image/jpeg,.pdf,.png,.jpg,.jpeg"


class DocumentField(forms.FileField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 255)
        kwargs.setdefault("help_text", "PDF, PNG or JPEG, at most 10 MB.")
        kwargs.setdefault("widget", forms.ClearableFileInput(attrs={"accept": _DOCUMENT_ACCEPT}))
        super().__init__(**kwargs)


class CardChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        default = " (default)" if obj.is_default else ""
        return f"{obj.brand.title()} ending {obj.last4}, expires {obj.exp_month:02d}/{obj.exp_year}{default}"
