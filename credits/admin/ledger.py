"""Staff admin of balances: credit accounts (adjustments), lots, the ledger, organizations' balance."""

from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.admin import AuditedAdmin
from accounts.admin import OrganizationAdmin as BaseOrganizationAdmin
from accounts.models import Organization
from credits.admin.readonly import ReadOnlyAdmin, ReadOnlyInline
from credits.exceptions import CreditsError
from credits.forms.staff import AdjustmentForm
from credits.models import (
    CommitmentPeriod,
    CreditAccount,
    CreditLot,
    LedgerEntry,
)
from credits.money import decimal_dollars_to_micros, format_usd
from credits.selectors.ledger import credit_account_of
from credits.selectors.periods import period_bounds
from credits.selectors.tiers import current_tier
from credits.services import ledger


class LotInline(ReadOnlyInline):
    model = CreditLot
    fields = ("kind", "original_micros", "remaining_micros", "expires_at", "purchase", "created_at")
    readonly_fields = fields


class PeriodInline(ReadOnlyInline):
    model = CommitmentPeriod
    fields = ("kind", "starts_on", "ends_on", "purchased_cents", "tier_earned", "tier_held_until")
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
        bounds = period_bounds(anchor=account.anchor_date, kind=account.period_kind, on=timezone.now().date())
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
    list_display = [
        "pk",
        "account",
        "kind",
        "original_micros",
        "remaining_micros",
        "expires_at",
        "created_at",
    ]
    list_filter = ["kind"]
    search_fields = ["account__organization__name"]
    list_select_related = ["account__organization"]


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

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            # Made in admin, not through accounts.services.organization_create: its account too.
            ledger.credit_account_create(organization=obj)

    @admin.display(description="Credits")
    def credits_link(self, organization):
        account = credit_account_of(organization=organization)
        url = reverse("admin:credits_creditaccount_change", args=[account.pk])
        return format_html('<a href="{}">Balance, tier, period, lots and ledger</a>', url)
