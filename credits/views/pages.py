"""Pages not yet backed by their features show their empty state."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.permissions import member_required


@require_GET
@member_required
def usage(request):
    return render(request, "credits/usage.html")
