"""Billing > Credit: the organization's balance, tier and limits."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.permissions import member_required


@require_GET
@member_required
def credit(request):
    return render(request, "credits/credit.html", {"organization": request.organization})
