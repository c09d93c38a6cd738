"""Staff admin of Stripe state: webhook events, customers, cards, payment contact requests."""

from django.contrib import admin
from django.utils import timezone

from credits.admin.readonly import ReadOnlyAdmin
from credits.models import (
    PaymentContactRequest,
    PaymentMethod,
    StripeCustomer,
    StripeEvent,
)
from credits.services.cards import payment_contact_mark_handled


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    """Every webhook as received; `error` says why one was not handled (it retries on redelivery)."""

    list_display = ["received_at", "type", "stripe_id", "processed_at", "purchase", "error"]
    list_filter = ["type"]
    search_fields = ["stripe_id", "type"]
    date_hierarchy = "received_at"


@admin.register(StripeCustomer)
class StripeCustomerAdmin(ReadOnlyAdmin):
    list_display = ["organization", "stripe_id", "created_at"]
    search_fields = ["organization__name", "stripe_id"]


@admin.register(PaymentMethod)
class PaymentMethodAdmin(ReadOnlyAdmin):
    list_display = ["customer", "brand", "last4", "exp_month", "exp_year", "is_default", "created_at"]
    search_fields = ["customer__organization__name", "stripe_id", "last4"]


@admin.register(PaymentContactRequest)
class PaymentContactRequestAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "organization", "method", "requested_by", "handled_at", "handled_by"]
    list_filter = ["method", ("handled_at", admin.EmptyFieldListFilter)]
    actions = ["mark_handled"]

    @admin.action(description="Mark as answered", permissions=["answer"])
    def mark_handled(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        count = payment_contact_mark_handled(request_ids=ids, staff=request.user, now=timezone.now())
        self.message_user(request, f"{count} request(s) marked as answered.")

    def has_answer_permission(self, request) -> bool:
        # Rows are never edited here (ReadOnlyAdmin), but answering one needs the model's
        # change permission: a view-only staff user is not offered the action.
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")
