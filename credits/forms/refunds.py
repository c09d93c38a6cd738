"""The refund request form."""

from django import forms


class RefundRequestForm(forms.Form):
    purchase = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    reason = forms.CharField(
        label="Why do you want a refund?", max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
