"""Billing > Credit and the rate-limit table."""

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.permissions import member_required
from accounts.selectors import current_membership
from credits.selectors.credit import READ_WITH_ORGANIZATION, credit_summary
from credits.selectors.limits import rate_limit_table
from credits.selectors.tiers import bonus_schedule


@require_GET
@member_required(with_organization=READ_WITH_ORGANIZATION)
def credit(request):
    summary = credit_summary(organization=request.organization, now=timezone.now())
    # Passed uncalled: the template calls it only for the no-credits message, so the page
    # reads the bonus schedule only when it says something about it.
    return render(
        request,
        "credits/credit.html",
        {"organization": request.organization, "summary": summary, "bonus_schedule": bonus_schedule},
    )


@require_GET
def rate_limits(request):
    # Public (the pricing page links here); a signed-in member sees their column marked.
    membership = current_membership(request)
    table = rate_limit_table(
        organization=membership.organization if membership else None, now=timezone.now()
    )
    return render(request, "credits/rate_limits.html", {"table": table})
