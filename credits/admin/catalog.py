"""Staff admin of the catalog: models with prices and limits, bonus schedule, tier thresholds."""

from django.contrib import admin

from accounts.admin import AuditedAdmin
from credits.models import (
    ApiModel,
    BonusRate,
    EnterpriseRateLimit,
    RateLimit,
    TierThreshold,
)


class RateLimitInline(admin.TabularInline):
    model = RateLimit
    extra = 0


@admin.register(ApiModel)
class ApiModelAdmin(AuditedAdmin):
    list_display = [
        "name",
        "slug",
        "kind",
        "input_micros_per_million",
        "output_micros_per_million",
        "page_micros",
        "featured",
        "active",
    ]
    list_editable = ["featured", "active"]
    search_fields = ["name", "slug"]
    inlines = [RateLimitInline]


@admin.register(BonusRate)
class BonusRateAdmin(AuditedAdmin):
    list_display = ["min_amount_cents", "percent"]


@admin.register(TierThreshold)
class TierThresholdAdmin(AuditedAdmin):
    list_display = ["tier", "period", "min_amount_cents"]


@admin.register(EnterpriseRateLimit)
class EnterpriseRateLimitAdmin(AuditedAdmin):
    list_display = ["organization", "api_model", "requests_per_second", "pages_per_minute"]
    autocomplete_fields = ["organization"]
