"""Staff admin of the catalog: models with prices and limits, bonus schedule, tier thresholds."""

from django.contrib import admin
from django.db import transaction

from accounts.admin import AuditedAdmin
from credits.models import (
    ApiModel,
    BonusRate,
    EnterpriseRateLimit,
    RateLimit,
    TierThreshold,
)
from credits.selectors.process_cache import forget_process_cache


class ForgetsProcessCacheAdmin(AuditedAdmin):
    """Staff data that pages and the usage API read from the in-process cache: this worker
    sees a change at once, the others within PROCESS_CACHE_SECONDS."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        transaction.on_commit(forget_process_cache)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        transaction.on_commit(forget_process_cache)


class RateLimitInline(admin.TabularInline):
    model = RateLimit
    extra = 0


@admin.register(ApiModel)
class ApiModelAdmin(ForgetsProcessCacheAdmin):
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
class TierThresholdAdmin(ForgetsProcessCacheAdmin):
    list_display = ["tier", "period", "min_amount_cents"]


@admin.register(EnterpriseRateLimit)
class EnterpriseRateLimitAdmin(AuditedAdmin):
    list_display = ["organization", "api_model", "requests_per_second", "pages_per_minute"]
    autocomplete_fields = ["organization"]
