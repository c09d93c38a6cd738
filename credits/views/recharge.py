"""Billing > Credit > Auto-recharge: start, edit (with a live preview) and terminate."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.permissions import billing_required, member_required
from credits import stripe_client
from credits.exceptions import CreditsError
from credits.forms.recharge import RechargeForm
from credits.models import AutoRecharge, RechargeStatus
from credits.money import (
    cents_to_decimal,
    cents_to_micros,
    dollars_to_cents,
    format_usd,
    micros_to_cents_floor,
)
from credits.selectors.ledger import credit_account_of
from credits.selectors.payments import payment_methods_of
from credits.selectors.periods import describe_termination
from credits.selectors.recharge import (
    charges_needing_attention,
    recharge_plan_of,
    refund_policy_accepted,
)
from credits.services import recharge_jobs
from credits.services.recharge import (
    RechargeSettings,
    preview_recharge,
    recharge_save,
    recharge_terminate,
)


def _settings(data: dict) -> RechargeSettings:
    on = data["threshold_enabled"]
    return RechargeSettings(
        amount_cents=dollars_to_cents(data["amount"]),
        frequency=data["frequency"],
        billing_date=data["billing_date"],
        payment_method_id=data.get("card") or "",
        threshold_enabled=on,
        threshold_micros=cents_to_micros(dollars_to_cents(data["threshold"])) if on else 0,
        max_threshold_recharges=data["max_threshold_recharges"] or 3,
        max_threshold_cents=dollars_to_cents(data["max_threshold_amount"]) if on else 0,
    )


def _initial(plan: AutoRecharge | None) -> dict:
    if plan is None or plan.status == RechargeStatus.TERMINATED:
        return {"frequency": "monthly", "billing_date": timezone.now().date()}
    return {
        "amount": cents_to_decimal(plan.amount_cents),
        "frequency": plan.frequency,
        "billing_date": plan.billing_date,
        "card": plan.payment_method_id,
        "threshold_enabled": plan.threshold_enabled,
        "threshold": cents_to_decimal(micros_to_cents_floor(plan.threshold_micros)) or None,
        "max_threshold_recharges": plan.max_threshold_recharges,
        "max_threshold_amount": cents_to_decimal(plan.max_threshold_cents) or None,
    }


def _page(request, form, plan, status=200):
    # The preview reads what the form shows: typed values, else the saved plan's.
    values = form.preview_values()
    preview = None
    if values is not None:
        preview = preview_recharge(
            organization=request.organization,
            amount_cents=dollars_to_cents(values["amount"]),
            frequency=values["frequency"],
            billing_date=values["billing_date"],
            now=timezone.now(),
        )
    template = "credits/auto_recharge.html" + ("#preview" if request.htmx else "")
    context = {
        "form": form,
        "plan": plan,
        "preview": preview,
        "has_cards": form.has_cards,
        "attention": charges_needing_attention(organization=request.organization),
        "policy_accepted": refund_policy_accepted(plan=plan),
    }
    return render(request, template, context, status=status)


def _saved_message(plan: AutoRecharge, *, starting: bool) -> str:
    amount = format_usd(cents_to_micros(plan.amount_cents))
    if starting:
        return (
            f"Auto-recharge started: {amount} {plan.get_frequency_display().lower()}, "
            f"first charge on {plan.next_charge_on:%b %-d, %Y}."
        )
    return (
        f"Auto-recharge updated: {amount} {plan.get_frequency_display().lower()}. "
        f"The changes apply from the next charge, on {plan.next_charge_on:%b %-d, %Y}."
    )


@billing_required
def _save(request):
    plan = recharge_plan_of(organization=request.organization)
    cards = payment_methods_of(organization=request.organization)
    form = RechargeForm(request.POST, cards=cards, saving=True)
    starting = plan is None or plan.status == RechargeStatus.TERMINATED
    if form.is_valid():
        try:
            saved = recharge_save(
                organization=request.organization,
                settings=_settings(form.cleaned_data),
                user=request.user,
                now=timezone.now(),
                refund_policy_accepted=form.cleaned_data["accept_refund_policy"],
            )
        except CreditsError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _saved_message(saved, starting=starting))
            return redirect("credits:credit")
    return _page(request, form, plan, status=400)


@require_http_methods(["GET", "POST"])
@member_required
def auto_recharge(request):
    if request.method == "POST":
        return _save(request)
    plan = recharge_plan_of(organization=request.organization)
    # A GET with fields is the live preview (htmx) or the no-JavaScript "Preview" button.
    data = request.GET if "amount" in request.GET else None
    cards = payment_methods_of(organization=request.organization)
    return _page(request, RechargeForm(data, initial=_initial(plan), cards=cards), plan)


@require_http_methods(["GET", "POST"])
@billing_required
def terminate(request):
    if request.method == "GET":
        plan = recharge_plan_of(organization=request.organization)
        periods_sentence = describe_termination(
            account=credit_account_of(organization=request.organization), today=timezone.now().date()
        )
        context = {"plan": plan, "periods_sentence": periods_sentence}
        return render(request, "credits/auto_recharge_terminate.html", context)
    try:
        recharge_terminate(organization=request.organization, now=timezone.now())
    except CreditsError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Auto-recharge terminated. Your credits stay in your balance.")
    return redirect("credits:credit")


@require_http_methods(["GET", "POST"])
@billing_required
def authenticate(request, charge_id: int):
    """3-D Secure for an auto-recharge payment the bank held back."""
    try:
        if request.method == "POST":
            recharge_jobs.charge_confirm_after_authentication(
                organization=request.organization, charge_id=charge_id, now=timezone.now()
            )
            messages.success(request, "Payment confirmed: your credits are in your balance.")
            return redirect("credits:credit")
        charge, client_secret = recharge_jobs.charge_client_secret(
            organization=request.organization, charge_id=charge_id
        )
    except CreditsError as error:
        messages.error(request, error.message)
        return redirect("credits:credit")
    context = {
        "purchase": charge.purchase,
        "client_secret": client_secret,
        "confirm_url": reverse("credits:auto_recharge_authenticate", args=[charge.pk]),
        **stripe_client.browser_context(),
    }
    return render(request, "credits/payment_authenticate.html", context)
