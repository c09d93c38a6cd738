"""Staff admin of the credits app."""

from django.contrib import admin, messages
from django.utils import timezone

from credits.admin.readonly import ReadOnlyAdmin
from credits.models import ApiKey, OverageCharge, UsageEvent
from credits.services.api_keys import api_key_issue, api_key_revoke


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "created_at", "created_by", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_at", "created_by", "revoked_at"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        # Only the name is typed in; the secret and its prefix come from api_key_issue.
        return self.readonly_fields if obj is None else [*self.readonly_fields, "name"]

    def has_delete_permission(self, request, obj=None):
        # Usage events point at the key that reported them; revoke instead.
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return
        raw_key = api_key_issue(api_key=obj, created_by=request.user, now=timezone.now())
        messages.warning(
            request,
            f"Copy this API key now; it is stored hashed and will not be shown again: {raw_key}",
        )

    @admin.action(description="Revoke the selected API keys", permissions=["change"])
    def revoke(self, request, queryset):
        now = timezone.now()
        for api_key in queryset:
            api_key_revoke(api_key=api_key, now=now, revoked_by=request.user)
        self.message_user(request, f"Revoked {queryset.count()} key(s).", messages.SUCCESS)


@admin.register(UsageEvent)
class UsageEventAdmin(ReadOnlyAdmin):
    list_display = [
        "event_id", "organization", "api_model", "input_tokens", "output_tokens", "pages",
        "cost_micros", "free", "occurred_at", "recorded_at",
    ]
    list_filter = ["free", "api_model"]
    search_fields = ["event_id", "organization__name"]
    date_hierarchy = "occurred_at"
    list_select_related = ["organization", "api_model"]
    show_full_result_count = False


@admin.register(OverageCharge)
class OverageChargeAdmin(ReadOnlyAdmin):
    list_display = [
        "key", "organization", "trigger", "amount_cents", "status", "created_at", "charged_at",
    ]
    list_filter = ["status", "trigger"]
    search_fields = ["key", "organization__name"]
    list_select_related = ["organization"]
