"""Billing > Settings: billing details for receipts and the alerts, owners and billing only."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.permissions import billing_required
from credits.exceptions import CreditsError
from credits.forms.settings import AlertSettingsForm, BillingDetailsForm
from credits.money import cents_to_decimal, micros_to_cents_floor
from credits.selectors.alerts import alerts_overview
from credits.selectors.history import billing_details_of
from credits.services.billing_settings import alert_settings_save, billing_details_save


def _details_initial(organization) -> dict:
    details = billing_details_of(organization=organization)
    if details is None:
        return {"legal_name": organization.name}
    return {f: getattr(details, f) for f in ("legal_name", "address", "country", "tax_id", "billing_email")}


def _alerts_initial(overview) -> dict:
    row = overview.settings
    if row is None:
        return {"low_balance_mode": "off", "low_balance_days": 7}

    def dollars(micros):
        return cents_to_decimal(micros_to_cents_floor(micros)) if micros else None

    return {
        "low_balance_mode": row.low_balance_mode,
        "low_balance_threshold": dollars(row.low_balance_threshold_micros),
        "low_balance_days": row.low_balance_days,
        "budget": dollars(row.budget_micros),
    }


def _page(request, *, details_form=None, alerts_form=None, status=200):
    overview = alerts_overview(organization=request.organization, now=timezone.now())
    context = {
        "details_form": details_form or BillingDetailsForm(initial=_details_initial(request.organization)),
        "alerts_form": alerts_form or AlertSettingsForm(initial=_alerts_initial(overview), prefix="alerts"),
        "overview": overview,
    }
    return render(request, "credits/billing_settings.html", context, status=status)


@require_http_methods(["GET", "POST"])
@billing_required
def billing_settings(request):
    if request.method == "GET":
        return _page(request)
    if "save_alerts" in request.POST:
        return _save_alerts(request)
    form = BillingDetailsForm(request.POST)
    if form.is_valid():
        try:
            billing_details_save(
                organization=request.organization,
                details=form.details(),
                user=request.user,
                now=timezone.now(),
            )
        except CreditsError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "Billing details saved. Receipts issued from now on carry them.")
            return redirect("credits:billing_settings")
    return _page(request, details_form=form, status=400)


def _save_alerts(request):
    form = AlertSettingsForm(request.POST, prefix="alerts")
    if form.is_valid():
        try:
            alert_settings_save(
                organization=request.organization, alerts=form.alerts(), user=request.user, now=timezone.now()
            )
        except CreditsError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "Alerts saved.")
            return redirect("credits:billing_settings")
    return _page(request, alerts_form=form, status=400)
