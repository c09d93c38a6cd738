"""Staff admin for receipts (read-only: issued once, never edited), billing details and alerts."""

from django.contrib import admin

from credits.admin.readonly import ReadOnlyAdmin
from credits.models import AlertSent, AlertSettings, BillingDetails, Receipt


@admin.register(Receipt)
class ReceiptAdmin(ReadOnlyAdmin):
    list_display = ["display_number", "organization", "kind", "amount_cents", "issued_at", "emailed_at"]
    list_filter = ["kind"]
    search_fields = ["number", "organization__name", "buyer_legal_name", "buyer_tax_id"]
    list_select_related = ["organization"]


@admin.register(BillingDetails)
class BillingDetailsAdmin(ReadOnlyAdmin):
    # Customers edit their own details (Billing > Settings, audited); staff read them.
    list_display = ["organization", "legal_name", "country", "tax_id", "updated_at"]
    search_fields = ["organization__name", "legal_name", "tax_id"]
    list_select_related = ["organization"]


@admin.register(AlertSettings)
class AlertSettingsAdmin(ReadOnlyAdmin):
    list_display = [
        "organization", "low_balance_mode", "low_balance_below", "budget_micros", "budget_level_sent"
    ]
    list_select_related = ["organization"]


@admin.register(AlertSent)
class AlertSentAdmin(ReadOnlyAdmin):
    list_display = ["organization", "kind", "level", "summary", "sent_at"]
    list_filter = ["kind"]
    list_select_related = ["organization"]
