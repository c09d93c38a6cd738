"""Staff admin of refund requests: approve through Stripe or reject with a reason."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from credits.exceptions import CreditsError
from credits.forms.staff import RejectRefundForm
from credits.models import (
    EntryKind,
    LedgerEntry,
    RefundRequest,
    RefundStatus,
    UsageEvent,
)
from credits.money import format_usd
from credits.services import refunds


@admin.register(RefundRequest)
class RefundRequestAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "organization",
        "amount",
        "status",
        "still_eligible",
        "requested_at",
        "reviewed_by",
        # Why an approved refund is not paid yet (the job retries it; approving again does too).
        "last_error",
    ]
    list_filter = ["status"]
    search_fields = ["organization__name", "purchase__stripe_payment_intent_id"]
    list_select_related = ["organization", "purchase", "reviewed_by"]
    readonly_fields = [
        "organization",
        "purchase",
        "reason",
        "status",
        "requested_by",
        "requested_at",
        "reviewed_by",
        "reviewed_at",
        "decision_note",
        "stripe_refund_id",
        "last_error",
        "last_attempt_at",
        "still_eligible",
        "reject_link",
    ]
    actions = ["approve_selected"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Amount")
    def amount(self, refund):
        return format_usd(refund.purchase.amount_cents * 10_000)

    def get_queryset(self, request):
        # One query for the whole list: whether each organization has used the API since.
        used = Exists(UsageEvent.objects.filter(organization=OuterRef("organization"))) | Exists(
            LedgerEntry.objects.filter(account__organization=OuterRef("organization"), kind=EntryKind.USAGE)
        )
        return super().get_queryset(request).annotate(has_usage=used)

    @admin.display(description="Eligible now", boolean=True)
    def still_eligible(self, refund):
        # Usage that arrived after the request makes it ineligible; staff see it here.
        return not refund.has_usage

    @admin.display(description="Reject")
    def reject_link(self, refund):
        if refund.status != RefundStatus.PENDING:
            return "—"
        url = reverse("admin:credits_refundrequest_reject", args=[refund.pk])
        return format_html('<a class="button" href="{}">Reject with a reason…</a>', url)

    @admin.action(description="Approve and refund through Stripe", permissions=["change"])
    def approve_selected(self, request, queryset):
        for refund in queryset.order_by("pk"):
            try:
                done = refunds.refund_approve(request_id=refund.pk, staff=request.user, now=timezone.now())
            except CreditsError as error:
                self.message_user(request, f"{refund}: {error.message}", messages.ERROR)
                continue
            level = messages.SUCCESS if done.status == RefundStatus.REFUNDED else messages.WARNING
            self.message_user(request, f"{done}: {done.last_error or 'refunded'}", level)

    def get_urls(self):
        return [
            path(
                "<int:refund_id>/reject/",
                self.admin_site.admin_view(self.reject_view),
                name="credits_refundrequest_reject",
            ),
            *super().get_urls(),
        ]

    def reject_view(self, request, refund_id: int):
        refund = get_object_or_404(RefundRequest, pk=refund_id)
        if not self.has_change_permission(request, refund):
            raise PermissionDenied
        form = RejectRefundForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                refunds.refund_reject(
                    request_id=refund.pk,
                    staff=request.user,
                    note=form.cleaned_data["note"],
                    now=timezone.now(),
                )
            except CreditsError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(request, "Refund request rejected; the customer was emailed.")
                return redirect("admin:credits_refundrequest_change", refund.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Reject {refund}",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/credits/form_page.html", context)
