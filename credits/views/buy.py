"""Buying credits: the form with its live preview, 3-D Secure, and the refund policy."""

import secrets

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import billing_required
from credits import stripe_client
from credits.exceptions import CreditsError
from credits.forms.buy import AmountForm, BuyForm
from credits.models import BillingPolicy
from credits.money import cents_to_decimal
from credits.selectors.payments import payment_methods_of, purchases_of
from credits.services.checkout import (
    CheckoutResult,
    Outcome,
    purchase_confirm,
    purchase_pay,
)
from credits.services.purchases import preview_purchase


def _page(request, form: BuyForm, amount_data, status: int = 200):
    amount_form = AmountForm(amount_data) if amount_data and amount_data.get("amount") else None
    preview = None
    if amount_form is not None and amount_form.is_valid():
        preview = preview_purchase(
            organization=request.organization, amount_cents=amount_form.amount_cents, now=timezone.now()
        )
    context = {
        "form": form,
        "amount_form": amount_form,
        "preview": preview,
        # A fresh one-time token on every render: a retry after a decline is a new purchase.
        "token": secrets.token_urlsafe(24),
        "has_cards": payment_methods_of(organization=request.organization).exists(),
    }
    template = "credits/buy.html" + ("#preview" if request.htmx else "")
    return render(request, template, context, status=status)


def _after_payment(request, result: CheckoutResult):
    if result.outcome == Outcome.REQUIRES_ACTION:
        context = {
            "purchase": result.purchase,
            "client_secret": result.client_secret,
            "confirm_url": reverse("credits:buy_confirm", args=[result.purchase.pk]),
        }
        return render(
            request, "credits/payment_authenticate.html", {**context, **stripe_client.browser_context()}
        )
    if result.outcome == Outcome.SUCCEEDED:
        messages.success(request, "Payment received: your credits are in your balance.")
    else:
        messages.info(request, "Your payment is being confirmed; this page shows it once it is.")
    return redirect("credits:receipt", result.purchase.pk)


def _pay(request, form: BuyForm):
    data = form.cleaned_data
    try:
        result = purchase_pay(
            organization=request.organization,
            user=request.user,
            amount_cents=form.amount_cents,
            payment_method_id=data["payment_method"].pk,
            token=data["token"],
            refund_policy_accepted=data["accept_refund_policy"],
            now=timezone.now(),
        )
    except CreditsError as error:
        form.add_error(None, error.message)
        return _page(request, form, request.POST, status=400)
    return _after_payment(request, result)


@require_http_methods(["GET", "POST"])
@billing_required
def buy(request):
    if request.method == "POST":
        form = BuyForm(request.POST, organization=request.organization)
        if form.is_valid():
            return _pay(request, form)
        return _page(request, form, request.POST, status=400)
    default = payment_methods_of(organization=request.organization).filter(is_default=True).first()
    initial = {"amount": request.GET.get("amount"), "payment_method": default}
    return _page(request, BuyForm(initial=initial, organization=request.organization), request.GET)


@require_POST
@billing_required
def buy_confirm(request, pk: int):
    """The page posts here after Stripe.js finished 3-D Secure; Stripe is asked, not the page."""
    purchase = get_object_or_404(purchases_of(organization=request.organization), pk=pk)
    try:
        result = purchase_confirm(
            organization=request.organization, purchase_id=purchase.pk, now=timezone.now()
        )
    except CreditsError as error:
        messages.error(request, error.message)
        return redirect(f"{reverse('credits:buy')}?amount={cents_to_decimal(purchase.amount_cents)}")
    return _after_payment(request, result)


@require_GET
def refund_policy(request):
    policy = BillingPolicy.current()
    return render(request, "credits/refund_policy.html", {"version": policy.refund_policy_version})
