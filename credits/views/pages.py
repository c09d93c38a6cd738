"""Pages not yet backed by their features show their empty state."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.permissions import member_required


@require_GET
@member_required
def payment_methods(request):
    return render(request, "credits/payment_methods.html")


@require_GET
@member_required
def refunds(request):
    return render(request, "credits/refunds.html")


@require_GET
@member_required
def rate_limits(request):
    return render(request, "credits/rate_limits.html")


@require_GET
def pricing(request):
    return render(request, "credits/pricing.html")


@require_GET
def program_apply(request):
    return render(request, "credits/program_apply.html")
