"""The public pricing page: tiers, the cost estimator, the FAQ and the Enterprise form."""

from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.selectors import current_membership
from accounts.throttling import throttle_posts
from credits.exceptions import InvalidEstimate
from credits.forms.pricing import EnterpriseInquiryForm, EstimatorForm
from credits.models import TierThreshold
from credits.selectors.estimator import Estimate, estimate_costs
from credits.selectors.limits import legacy_note
from credits.selectors.pricing import estimator_models, estimator_prefill, pricing_tiers
from credits.selectors.tiers import bonus_schedule
from credits.services.inquiries import enterprise_inquiry_create

PAGE = "credits/pricing.html"
# htmx asks for one part of the page by the id of the element it swaps.
PARTIALS = {"tiers": "tiers", "estimate-result": "estimate_result", "enterprise": "enterprise"}


def _estimate(form: EstimatorForm) -> Estimate | None:
    if not form.is_bound or not form.is_valid():
        return None
    try:
        return estimate_costs(lines=form.lines(), peak_rps=form.cleaned_data["peak_rps"] or 0)
    except InvalidEstimate as error:
        form.add_error(None, error.message)
        return None


def _context(request, *, enterprise_form: EnterpriseInquiryForm | None = None) -> dict:
    period = request.GET.get("period")
    if period not in TierThreshold.Period.values:
        period = TierThreshold.Period.MONTHLY
    # The estimator's GET form always sends peak_rps; its absence means a plain page visit.
    data = request.GET if "peak_rps" in request.GET else None
    membership = current_membership(request)
    if request.GET.get("prefill") == "usage" and membership:
        data = estimator_prefill(organization=membership.organization, now=timezone.now())
    estimator = EstimatorForm(data, api_models=estimator_models())
    return {
        "can_prefill": membership is not None,
        "period": period,
        "tiers": pricing_tiers(period=period),
        "bonus_schedule": bonus_schedule(),
        "legacy": legacy_note(today=timezone.now().date()),
        "estimator": estimator,
        "estimate": _estimate(estimator),
        "enterprise_form": enterprise_form or EnterpriseInquiryForm(),
        "enterprise_sent": request.GET.get("enterprise") == "sent",
    }


def _template(request) -> str:
    partial = PARTIALS.get(request.htmx.target) if request.htmx else None
    return f"{PAGE}#{partial}" if partial else PAGE


@require_GET
def pricing(request):
    return render(request, _template(request), _context(request))


@require_POST
@throttle_posts("enterprise_contact", per_ip=5, window=3600)
def enterprise_contact(request):
    form = EnterpriseInquiryForm(request.POST)
    if not form.is_valid():
        return render(request, _template(request), _context(request, enterprise_form=form))
    enterprise_inquiry_create(**form.cleaned_data, now=timezone.now())
    if request.htmx:
        context = {"enterprise_form": EnterpriseInquiryForm(), "enterprise_sent": True}
        return render(request, f"{PAGE}#enterprise", context)
    return redirect(f"{reverse('credits:pricing')}?enterprise=sent#enterprise")
