"""Staff admin of the billing policy (one row: legacy dates, overage threshold, refund policy)."""

from django.contrib import admin

from credits.admin.catalog import ForgetsProcessCacheAdmin
from credits.models import (
    BillingPolicy,
)


@admin.register(BillingPolicy)
class BillingPolicyAdmin(ForgetsProcessCacheAdmin):
    list_display = [
        "__str__",
        "legacy_created_before",
        "legacy_until",
        "overage_threshold_cents",
        "refund_policy_version",
    ]

    def has_add_permission(self, request):
        return not BillingPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False
