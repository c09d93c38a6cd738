"""Billing > Refunds: which purchases can be refunded, and requests for them."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import billing_required, member_required
from credits.exceptions import CreditsError
from credits.forms.refunds import RefundRequestForm
from credits.selectors.refunds import RULE, purchases_refundability, refund_requests_of
from credits.services.refunds import refund_request


@require_GET
@member_required
def refunds(request):
    context = {
        "rule": RULE,
        "rows": purchases_refundability(organization=request.organization),
        "requests": refund_requests_of(organization=request.organization),
    }
    return render(request, "credits/refunds.html", context)


@require_POST
@billing_required
def request_refund(request):
    form = RefundRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Tell us why you want a refund (at most 2,000 characters).")
        return redirect("credits:refunds")
    try:
        refund_request(
            organization=request.organization,
            purchase_id=form.cleaned_data["purchase"],
            reason=form.cleaned_data["reason"],
            user=request.user,
            now=timezone.now(),
        )
    except CreditsError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Refund requested. We review requests within two business days.")
    return redirect("credits:refunds")
