"""Forms of the public program pages: the application and a later document."""

from django import forms

from credits.forms.fields import DocumentField
from credits.models import (
    InstitutionKind,
)


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
