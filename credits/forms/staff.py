"""Forms of the staff admin pages: credit adjustments, refund rejection, program review."""

from datetime import date
from decimal import Decimal

from django import forms
from django.utils.html import format_html

from accounts.models import Organization
from credits.forms.fields import AsciiDecimalField
from credits.selectors.programs import one_year_after


class AdjustmentForm(forms.Form):
    amount = AsciiDecimalField(
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


class RejectRefundForm(forms.Form):
    note = forms.CharField(label="Reason shown to the customer", max_length=500)


class ProgramApproveForm(forms.Form):
    ends_on = forms.DateField(
        label="Free use until",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The grant ends at 00:00 UTC on this day; at most one year after today.",
    )
    # An id rather than a list of every organization; blank creates one for the applicant.
    organization = forms.ModelChoiceField(
        label="Organization receiving the grant (id)",
        queryset=Organization.objects.all(),
        required=False,
        widget=forms.NumberInput(attrs={"min": 1}),
        help_text=(
            "Filled in with the organization the applicant was signed in to when applying. "
            "Leave it blank to create a new organization and invite the contact as its owner."
        ),
        error_messages={"invalid_choice": "No organization has this id."},
    )

    def __init__(self, *args, today: date, applicant_organization: Organization | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # The longest grant the program gives is the usual one: propose it.
        self.fields["ends_on"].initial = one_year_after(today)
        self.fields["ends_on"].widget.attrs["min"] = today.isoformat()
        self.fields["ends_on"].widget.attrs["max"] = one_year_after(today).isoformat()
        if applicant_organization is not None:
            self.fields["organization"].initial = applicant_organization.pk
            # Django prints help text unescaped, and the name is the customer's: escaped here
            # (it could otherwise add a button posting the staff's form elsewhere).
            self.fields["organization"].help_text = format_html(
                "The applicant applied while signed in to {} (id {}). {}",
                applicant_organization.name,
                applicant_organization.pk,
                self.fields["organization"].help_text,
            )


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
