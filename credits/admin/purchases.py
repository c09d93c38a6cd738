"""Staff admin of purchases (read-only: they change only through Stripe and the services)."""

from django.contrib import admin

from credits.admin.readonly import ReadOnlyAdmin
from credits.models import (
    Purchase,
)


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdmin):
    list_display = [
        "receipt_number",
        "organization",
        "amount_cents",
        "bonus_cents",
        "status",
        "source",
        "created_at",
        "granted_at",
    ]
    list_filter = ["status", "source"]
    search_fields = ["organization__name", "stripe_payment_intent_id", "key"]
    list_select_related = ["organization", "receipt"]
