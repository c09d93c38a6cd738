"""Staff admin of the catalog: models with prices and limits, bonus schedule, tier thresholds."""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.forms.models import BaseInlineFormSet

from accounts.admin import AuditedAdmin
from credits.models import (
    ApiModel,
    BonusRate,
    EnterpriseRateLimit,
    LimitTier,
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


class RateLimitFormSet(BaseInlineFormSet):
    """A model needs a limit in every column of the table, or it drops out of the gateway's
    answer for the organizations in the missing tier: refuse to save it without them."""

    def clean(self):
        super().clean()
        kept = {
            form.cleaned_data.get("tier")
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        }
        missing = [label for value, label in LimitTier.choices if value not in kept]
        if missing:
            raise ValidationError(
                f"Add a rate limit for every column of the table; missing: {', '.join(missing)}."
            )


class RateLimitInline(admin.TabularInline):
    model = RateLimit
    formset = RateLimitFormSet
    extra = 0

    def get_extra(self, request, obj=None, **kwargs):
        # A new model starts with one empty row per column to fill in.
        return len(LimitTier.choices) if obj is None else 0


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
        "in_program",
    ]
    list_editable = ["featured", "active", "in_program"]
    list_filter = ["kind", "active", "in_program"]
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
