"""Forms of the pricing page: the cost estimator and the Enterprise inquiry."""

from decimal import Decimal

from django import forms

from credits.models import (
    ApiModel,
    ExpectedVolume,
)
from credits.models.catalog import QUANTITY_FIELDS
from credits.selectors.estimator import MAX_PAGES, MAX_PEAK_RPS, EstimateLine

# Token volumes are typed in millions (people think "20M tokens"), to three decimals so
# that the conversion to whole tokens is exact.
TOKENS_PER_MILLION = 1_000_000


MAX_MILLION_TOKENS = Decimal(1_000_000)


_UNIT_OF_QUANTITY = {"input_tokens": "input", "output_tokens": "output", "pages": "pages"}


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
        # The quantities the model kind is priced by (the catalog's one rule), as field suffixes.
        return [_UNIT_OF_QUANTITY[field] for field in QUANTITY_FIELDS[model.kind]]

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
    expected_volume = forms.ChoiceField(label="Expected monthly volume", choices=ExpectedVolume.choices)
    message = forms.CharField(
        label="What do you need?",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Models, workloads, limits or terms you have in mind (up to 4,000 characters).",
    )
