"""Billing > Credit > Auto-recharge: start, edit (with a live preview) and terminate."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.permissions import billing_required, member_required
from credits.exceptions import CreditsError
from credits.forms import RechargeForm
from credits.models import AutoRecharge, RechargeStatus
from credits.money import cents_to_decimal, cents_to_micros, dollars_to_cents, micros_to_cents_floor
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
        "threshold_enabled": plan.threshold_enabled,
        "threshold": cents_to_decimal(micros_to_cents_floor(plan.threshold_micros)) or None,
        "max_threshold_recharges": plan.max_threshold_recharges,
        "max_threshold_amount": cents_to_decimal(plan.max_threshold_cents) or None,
    }


def _page(request, form, plan, status=200):
    preview = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        preview = preview_recharge(
            organization=request.organization,
            amount_cents=dollars_to_cents(data["amount"]),
            frequency=data["frequency"],
            billing_date=data["billing_date"],
            now=timezone.now(),
        )
    template = "credits/auto_recharge.html" + ("#preview" if request.htmx else "")
    return render(request, template, {"form": form, "plan": plan, "preview": preview}, status=status)


@billing_required
def _save(request):
    plan = AutoRecharge.objects.filter(organization=request.organization).first()
    form = RechargeForm(request.POST)
    if form.is_valid():
        try:
            recharge_save(
                organization=request.organization,
                settings=_settings(form.cleaned_data),
                user=request.user,
                now=timezone.now(),
            )
        except CreditsError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "Auto-recharge saved. Changes apply from the next charge.")
            return redirect("credits:credit")
    return _page(request, form, plan, status=400)


@require_http_methods(["GET", "POST"])
@member_required
def auto_recharge(request):
    if request.method == "POST":
        return _save(request)
    plan = AutoRecharge.objects.filter(organization=request.organization).first()
    # A GET with fields is the live preview (htmx) or the no-JavaScript "Preview" button.
    data = request.GET if "amount" in request.GET else None
    return _page(request, RechargeForm(data, initial=_initial(plan)), plan)


@require_http_methods(["GET", "POST"])
@billing_required
def terminate(request):
    if request.method == "GET":
        plan = AutoRecharge.objects.filter(organization=request.organization).first()
        return render(request, "credits/auto_recharge_terminate.html", {"plan": plan})
    try:
        recharge_terminate(organization=request.organization, now=timezone.now())
    except CreditsError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Auto-recharge terminated. Your credits stay in your balance.")
    return redirect("credits:credit")
