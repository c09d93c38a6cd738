"""Staff admin for credits: balances, tiers, the ledger (read-only), purchases, refunds, catalog and policy."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.admin import AuditedAdmin
from accounts.admin import OrganizationAdmin as BaseOrganizationAdmin
from accounts.models import Organization
from credits.exceptions import CreditsError
from credits.forms import AdjustmentForm, RejectRefundForm
from credits.models import (
    ApiModel,
    BillingPolicy,
    BonusRate,
    CommitmentPeriod,
    CreditAccount,
    CreditLot,
    EnterpriseRateLimit,
    EntryKind,
    LedgerEntry,
    PaymentContactRequest,
    PaymentMethod,
    Purchase,
    RateLimit,
    RefundRequest,
    RefundStatus,
    StripeCustomer,
    StripeEvent,
    TierThreshold,
    UsageEvent,
)
from credits.money import decimal_dollars_to_micros, format_usd
from credits.selectors.process_cache import forget_process_cache
from credits.selectors.periods import period_bounds
from credits.selectors.tiers import current_tier
from credits.services import ledger, refunds


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is never edited in admin: no add, change or delete."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class LotInline(ReadOnlyInline):
    model = CreditLot
    fields = ["kind", "original_micros", "remaining_micros", "expires_at", "purchase", "created_at"]
    readonly_fields = fields


class PeriodInline(ReadOnlyInline):
    model = CommitmentPeriod
    fields = ["kind", "starts_on", "ends_on", "purchased_cents", "tier_earned", "tier_held_until"]
    readonly_fields = fields
    show_change_link = False


@admin.register(CreditAccount)
class CreditAccountAdmin(AuditedAdmin):
    list_display = ["organization", "balance", "period_kind", "anchor_date", "enterprise"]
    list_filter = ["enterprise", "period_kind"]
    search_fields = ["organization__name", "organization__memberships__user__email"]
    readonly_fields = ["organization", "balance", "tier", "period", "ledger_link", "adjust_link"]
    fields = [
        "organization",
        "balance",
        "tier",
        "period",
        "period_kind",
        "anchor_date",
        "enterprise",
        "ledger_link",
        "adjust_link",
    ]
    inlines = [LotInline, PeriodInline]

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Balance")
    def balance(self, account):
        return format_usd(account.balance_micros, places=6)

    @admin.display(description="Current tier")
    def tier(self, account):
        return current_tier(account=account, today=timezone.now().date())

    @admin.display(description="Current period")
    def period(self, account):
        if account.anchor_date is None:
            return "No period yet (no purchase)"
        bounds = period_bounds(
            anchor=account.anchor_date, kind=account.period_kind, on=timezone.now().date()
        )
        return f"{bounds.starts_on} to {bounds.ends_on} ({bounds.kind})"

    @admin.display(description="Ledger")
    def ledger_link(self, account):
        url = reverse("admin:credits_ledgerentry_changelist") + f"?account__id__exact={account.pk}"
        return format_html('<a href="{}">All ledger entries</a>', url)

    @admin.display(description="Adjust")
    def adjust_link(self, account):
        url = reverse("admin:credits_creditaccount_adjust", args=[account.pk])
        return format_html('<a class="button" href="{}">Adjust credits…</a>', url)

    def get_urls(self):
        return [
            path(
                "<int:account_id>/adjust/",
                self.admin_site.admin_view(self.adjust_view),
                name="credits_creditaccount_adjust",
            ),
            *super().get_urls(),
        ]

    def adjust_view(self, request, account_id: int):
        account = get_object_or_404(CreditAccount.objects.select_related("organization"), pk=account_id)
        if not request.user.has_perm("credits.add_ledgerentry"):
            messages.error(request, "You may not adjust credits.")
            return redirect("admin:credits_creditaccount_change", account.pk)
        form = AdjustmentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                ledger.adjust_credits(
                    organization=account.organization,
                    amount_micros=decimal_dollars_to_micros(form.cleaned_data["amount"]),
                    reason=form.cleaned_data["reason"],
                    created_by=request.user,
                    now=timezone.now(),
                    expires_at=form.cleaned_data["expires_at"],
                )
            except CreditsError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, "Adjustment written to the ledger.")
                return redirect("admin:credits_creditaccount_change", account.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Adjust credits of {account.organization}",
            "account": account,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/credits/adjust.html", context)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "account", "kind", "amount", "balance_after", "created_by", "reference"]
    list_filter = ["kind", "created_at"]
    search_fields = ["account__organization__name", "reference", "memo"]
    list_select_related = ["account__organization", "created_by"]
    date_hierarchy = "created_at"

    @admin.display(description="Amount")
    def amount(self, entry):
        return format_usd(entry.amount_micros, places=6)

    @admin.display(description="Balance after")
    def balance_after(self, entry):
        return format_usd(entry.balance_after_micros, places=6)


@admin.register(CreditLot)
class CreditLotAdmin(ReadOnlyAdmin):
    list_display = ["pk", "account", "kind", "original_micros", "remaining_micros", "expires_at", "created_at"]
    list_filter = ["kind"]
    search_fields = ["account__organization__name"]
    list_select_related = ["account__organization"]


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdmin):
    list_display = ["receipt_number", "organization", "amount_cents", "bonus_cents", "status", "source", "created_at", "granted_at"]
    list_filter = ["status", "source"]
    search_fields = ["organization__name", "stripe_payment_intent_id", "key"]
    list_select_related = ["organization"]


class RateLimitInline(admin.TabularInline):
    model = RateLimit
    extra = 0


class ForgetsProcessCacheAdmin(AuditedAdmin):
    """Staff data that pages and the usage API read from the in-process cache: this worker
    sees a change at once, the others within PROCESS_CACHE_SECONDS."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        transaction.on_commit(forget_process_cache)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        transaction.on_commit(forget_process_cache)


@admin.register(ApiModel)
class ApiModelAdmin(ForgetsProcessCacheAdmin):
    list_display = ["name", "slug", "kind", "input_micros_per_million", "output_micros_per_million", "page_micros", "featured", "active"]
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


@admin.register(BillingPolicy)
class BillingPolicyAdmin(ForgetsProcessCacheAdmin):
    list_display = ["__str__", "legacy_created_before", "legacy_until", "overage_threshold_cents", "refund_policy_version"]

    def has_add_permission(self, request):
        return not BillingPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.unregister(Organization)


@admin.register(Organization)
class OrganizationAdmin(BaseOrganizationAdmin):
    list_display = ["name", "created_at", "balance"]
    readonly_fields = ["credits_link"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("credit_account")

    @admin.display(description="Balance")
    def balance(self, organization):
        account = getattr(organization, "credit_account", None)
        return format_usd(account.balance_micros) if account else format_usd(0)

    @admin.display(description="Credits")
    def credits_link(self, organization):
        account, _ = CreditAccount.objects.get_or_create(organization=organization)
        url = reverse("admin:credits_creditaccount_change", args=[account.pk])
        return format_html('<a href="{}">Balance, tier, period, lots and ledger</a>', url)


@admin.register(RefundRequest)
class RefundRequestAdmin(admin.ModelAdmin):
    list_display = ["__str__", "organization", "amount", "status", "still_eligible", "requested_at", "reviewed_by"]
    list_filter = ["status"]
    search_fields = ["organization__name", "purchase__stripe_payment_intent_id"]
    list_select_related = ["organization", "purchase", "reviewed_by"]
    readonly_fields = [
        "organization", "purchase", "reason", "status", "requested_by", "requested_at",
        "reviewed_by", "reviewed_at", "decision_note", "stripe_refund_id", "last_error",
        "still_eligible", "reject_link",
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
        if refund.status not in (RefundStatus.PENDING, RefundStatus.APPROVED_UNPAID):
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
                    request_id=refund.pk, staff=request.user, note=form.cleaned_data["note"], now=timezone.now()
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

    @admin.action(description="Mark as answered")
    def mark_handled(self, request, queryset):
        count = queryset.filter(handled_at__isnull=True).update(
            handled_at=timezone.now(), handled_by=request.user
        )
        self.message_user(request, f"{count} request(s) marked as answered.")
