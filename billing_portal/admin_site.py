"""Staff admin: password at /accounts/login/, then a TOTP code at /accounts/two-factor/."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.shortcuts import redirect
from django.urls import reverse


class PortalAdminSite(admin.AdminSite):
    site_header = "AI API Billing: staff"
    site_title = "Billing staff"

    def has_permission(self, request):
        if not super().has_permission(request):
            return False
        return not settings.ADMIN_REQUIRE_OTP or request.user.is_verified()

    def login(self, request, extra_context=None):
        # One login for everyone; staff then prove the second factor.
        next_url = request.GET.get("next") or reverse("admin:index")
        if request.user.is_authenticated and request.user.is_staff:
            target = "accounts:two_factor"
        else:
            target = "accounts:login"
        return redirect(f"{reverse(target)}?{urlencode({'next': next_url})}")
