"""Forms of the credits pages: they parse and bound input; services decide."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django import forms

from credits.models import (
    ApiModel,
    EntryKind,
    ExpectedVolume,
    InstitutionKind,
    ModelKind,
    PaymentContactMethod,
    PaymentMethod,
)
from credits.money import dollars_to_cents
from credits.services.estimator import MAX_PAGES, MAX_PEAK_RPS, EstimateLine
from credits.services.programs import one_year_after

# Token volumes are typed in millions (people think "20M tokens"), to three decimals so
# that the conversion to whole tokens is exact.
TOKENS_PER_MILLION = 1_000_000
MAX_MILLION_TOKENS = Decimal(1_000_000)


class EstimatorForm(forms.Form):
    """One row per active model; blank volumes count as zero."""

    peak_rps = forms.IntegerField(
        label="Peak requests per second (busiest model)",
        min_value=0,
        max_value=MAX_PEAK_RPS,
        required=False,
        initial=0,
    )

    def __init__(self, *args, api_models: list[ApiModel], **kwargs):
        super().__init__(*args, **kwargs)
        self.api_models = api_models
        for model in api_models:
            for unit in self._units(model):
                self.fields[self._name(model, unit)] = self._field(model, unit)

    @staticmethod
    def _units(model: ApiModel) -> list[str]:
        if model.kind == ModelKind.DOCUMENT:
            return ["pages"]
        if model.kind == ModelKind.EMBEDDING:
            return ["input"]
        return ["input", "output"]

    @staticmethod
    def _name(model: ApiModel, unit: str) -> str:
        return f"{model.slug}-{unit}"

    @staticmethod
    def _field(model: ApiModel, unit: str) -> forms.Field:
        if unit == "pages":
            return forms.IntegerField(
                label=f"{model.name}: pages per month",
                min_value=0,
                max_value=MAX_PAGES,
                required=False,
            )
        return forms.DecimalField(
            label=f"{model.name}: {unit} tokens per month, in millions",
            min_value=Decimal(0),
            max_value=MAX_MILLION_TOKENS,
            max_digits=10,
            decimal_places=3,
            required=False,
        )

    def rows(self) -> list[tuple[ApiModel, dict[str, forms.BoundField]]]:
        """Bound fields per model, keyed by unit, for the template's table."""
        return [
            (model, {unit: self[self._name(model, unit)] for unit in self._units(model)})
            for model in self.api_models
        ]

    def _value(self, model: ApiModel, unit: str) -> Decimal | int:
        return self.cleaned_data.get(self._name(model, unit)) or 0

    def lines(self) -> list[EstimateLine]:
        lines = []
        for model in self.api_models:
            units = self._units(model)
            lines.append(
                EstimateLine(
                    api_model=model,
                    input_tokens=int(self._value(model, "input") * TOKENS_PER_MILLION)
                    if "input" in units
                    else 0,
                    output_tokens=int(self._value(model, "output") * TOKENS_PER_MILLION)
                    if "output" in units
                    else 0,
                    pages=int(self._value(model, "pages")) if "pages" in units else 0,
                )
            )
        return lines


class EnterpriseInquiryForm(forms.Form):
    company = forms.CharField(max_length=200)
    contact_name = forms.CharField(label="Your name", max_length=200)
    email = forms.EmailField(label="Work email", max_length=254)
    expected_volume = forms.ChoiceField(
        label="Expected monthly volume", choices=ExpectedVolume.choices
    )
    message = forms.CharField(
        label="What do you need?",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Models, workloads, limits or terms you have in mind (up to 4,000 characters).",
    )


_DOCUMENT_ACCEPT = "application/pdf,image/png,image/jpeg,.pdf,.png,.jpg,.jpeg"


class DocumentField(forms.FileField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 255)
        kwargs.setdefault("help_text", "PDF, PNG or JPEG, at most 10 MB.")
        kwargs.setdefault("widget", forms.ClearableFileInput(attrs={"accept": _DOCUMENT_ACCEPT}))
        super().__init__(**kwargs)


class ProgramApplicationForm(forms.Form):
    organization_name = forms.CharField(label="Organization name", max_length=200)
    kind = forms.ChoiceField(label="Type of organization", choices=InstitutionKind.choices)
    country = forms.CharField(max_length=100)
    website = forms.URLField(max_length=200, assume_scheme="https")
    contact_name = forms.CharField(label="Contact name", max_length=200)
    contact_email = forms.EmailField(label="Contact email", max_length=254)
    intended_use = forms.CharField(
        label="How will you use the models?",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Who will use them and for what (up to 4,000 characters).",
    )
    document = DocumentField(
        label="Proof of eligibility",
        help_text=(
            "A document showing your status, e.g. accreditation, registration or charity "
            "certificate. PDF, PNG or JPEG, at most 10 MB."
        ),
    )


class ProgramDocumentForm(forms.Form):
    document = DocumentField(label="Additional document")


class ProgramApproveForm(forms.Form):
    ends_on = forms.DateField(
        label="Free use until",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The grant ends at 00:00 UTC on this day; at most one year after today.",
    )

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        # The longest grant the program gives is the usual one: propose it.
        self.fields["ends_on"].initial = one_year_after(today)
        self.fields["ends_on"].widget.attrs["min"] = today.isoformat()
        self.fields["ends_on"].widget.attrs["max"] = one_year_after(today).isoformat()


class ProgramRejectForm(forms.Form):
    reason = forms.CharField(
        label="Reason (sent to the applicant)",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class ProgramInfoRequestForm(forms.Form):
    message = forms.CharField(
        label="What do you need from the applicant?",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


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

    def run_validators(self, value):
        # A billion dollars also breaks the digit limit; the maximum alone says what to do.
        if value is not None and self.max_value is not None and value > self.max_value:
            raise forms.ValidationError(self.error_messages["max_value"], code="max_value")
        super().run_validators(value)


TOPUP_FIELDS = ("threshold", "max_threshold_recharges", "max_threshold_amount")


class RechargeForm(forms.Form):
    def __init__(self, *args, cards=(), saving: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.has_cards = bool(cards)
        self.saving = saving
        if self.has_cards:
            # "" charges whichever card is the default at the time of the charge.
            self.fields["card"].choices = [("", "My default card")] + [
                (card.stripe_id, f"{card.brand.title()} ending {card.last4} (expires {card.exp_month:02d}/{card.exp_year})")
                for card in cards
            ]
        else:
            # With no saved card there is nothing to choose: the page asks for a card instead.
            del self.fields["card"]
        for name in TOPUP_FIELDS:
            # templates/form_fields.html adds it to the field's row; CSS hides those rows
            # while the top-up box is unticked.
            self.fields[name].row_class = "topup-field"

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

    def clean(self):
        cleaned = super().clean()
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


DEFAULT_USAGE_DAYS = 30
MAX_USAGE_DAYS = 366


@dataclass(frozen=True)
class UsageFilter:
    start: date
    end: date
    kind: str


class UsageFilterForm(forms.Form):
    """The usage page's date range (chart, table, ledger) and the ledger's entry kind."""

    start = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(
        label="Ledger entries", required=False, choices=[("", "All kinds"), *EntryKind.choices]
    )

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        # An unbound form shows the default range it stands for.
        self.initial.setdefault("end", today)
        self.initial.setdefault("start", today - timedelta(days=DEFAULT_USAGE_DAYS - 1))

    def clean(self):
        cleaned = super().clean()
        end = cleaned.get("end") or self.today
        start = cleaned.get("start") or end - timedelta(days=DEFAULT_USAGE_DAYS - 1)
        if start > end:
            raise forms.ValidationError("The start date must not be after the end date.")
        if (end - start).days >= MAX_USAGE_DAYS:
            raise forms.ValidationError(f"Choose a range of at most {MAX_USAGE_DAYS} days.")
        cleaned["start"], cleaned["end"] = start, end
        return cleaned

    def usage_filter(self) -> UsageFilter:
        """The chosen filter, or the last 30 days of everything when the input is invalid."""
        if self.is_valid():
            data = self.cleaned_data
            return UsageFilter(data["start"], data["end"], data["kind"])
        end = self.today
        return UsageFilter(end - timedelta(days=DEFAULT_USAGE_DAYS - 1), end, "")
