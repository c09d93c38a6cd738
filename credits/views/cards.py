"""Payment methods: saved cards (add with a SetupIntent, make default, remove) and other ways to pay."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import billing_required, member_required
from credits import stripe_client
from credits.exceptions import CreditsError
from credits.forms.cards import PaymentContactForm
from credits.selectors.payments import payment_methods_of
from credits.services.cards import (
    card_make_default,
    card_remove,
    card_setup_finish,
    card_setup_start,
    payment_contact_request_create,
)


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return ""


def _page(request, contact_form=None, status=200):
    cards = payment_methods_of(organization=request.organization)
    form = contact_form or PaymentContactForm()
    context = {"cards": cards, "contact_form": form}
    return render(request, "credits/payment_methods.html", context, status=status)


@require_GET
@member_required
def payment_methods(request):
    return _page(request)


@require_GET
@billing_required
def card_add(request):
    # A SetupIntent per visit: an unused one simply expires at Stripe.
    try:
        client_secret = card_setup_start(organization=request.organization, now=timezone.now())
    except CreditsError as error:
        messages.error(request, error.message)
        return redirect("credits:payment_methods")
    context = {"client_secret": client_secret, "next": _next_url(request), **stripe_client.browser_context()}
    return render(request, "credits/card_add.html", context)


@require_POST
@billing_required
def card_add_finish(request):
    try:
        card = card_setup_finish(
            organization=request.organization,
            setup_intent_id=request.POST.get("setup_intent", ""),
            now=timezone.now(),
        )
    except CreditsError as error:
        messages.error(request, error.message)
        return redirect("credits:payment_methods")
    messages.success(request, f"Card {card.brand} ending {card.last4} saved.")
    return redirect(_next_url(request) or "credits:payment_methods")


@require_POST
@billing_required
def card_default(request, pk: int):
    card = get_object_or_404(payment_methods_of(organization=request.organization), pk=pk)
    try:
        card_make_default(organization=request.organization, payment_method_id=card.pk)
    except CreditsError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Card ending {card.last4} is now your default card.")
    return redirect("credits:payment_methods")


@require_http_methods(["GET", "POST"])
@billing_required
def card_delete(request, pk: int):
    """GET asks "Remove this card?" (a page, so it works without JavaScript); POST removes it."""
    card = get_object_or_404(payment_methods_of(organization=request.organization), pk=pk)
    if request.method == "GET":
        return render(request, "credits/card_remove.html", {"card": card})
    try:
        card_remove(organization=request.organization, payment_method_id=card.pk)
    except CreditsError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Card ending {card.last4} removed.")
    return redirect("credits:payment_methods")


@require_POST
@billing_required
def payment_contact(request):
    form = PaymentContactForm(request.POST)
    if not form.is_valid():
        return _page(request, contact_form=form, status=400)
    payment_contact_request_create(
        organization=request.organization, requested_by=request.user, now=timezone.now(), **form.cleaned_data
    )
    messages.success(request, "Thanks: our billing team will write to you within two business days.")
    return redirect("credits:payment_methods")
