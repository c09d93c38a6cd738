"""Staff admin of auto-recharge: plans with their charges; pause, resume, retry a charge."""

from django.contrib import admin, messages
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from credits.admin.readonly import ReadOnlyInline
from credits.exceptions import CreditsError
from credits.models import AutoRecharge, ChargeStatus, RechargeCharge
from credits.services import recharge_staff

# Charges that did not go through (yet): what "last failure" and "Retry now" are about.
FAILING = [ChargeStatus.FAILED, ChargeStatus.REQUIRES_ACTION, ChargeStatus.UNREACHABLE, ChargeStatus.GAVE_UP]


def _last_failure() -> Subquery:
    failing = RechargeCharge.objects.filter(plan=OuterRef("pk"), status__in=FAILING).order_by(
        "-created_at", "-pk"
    )
    return Subquery(failing.values("last_error")[:1])


class LastFailureFilter(admin.SimpleListFilter):
    title = "last charge"
    parameter_name = "failing"

    def lookups(self, request, model_admin):
        return [("yes", "Has a failed or delayed charge"), ("no", "No failed charge")]

    def queryset(self, request, queryset):
        failing = RechargeCharge.objects.filter(status__in=FAILING).values("plan_id")
        if self.value() == "yes":
            return queryset.filter(pk__in=failing)
        if self.value() == "no":
            return queryset.exclude(pk__in=failing)
        return queryset


# What staff see of a charge, on its plan's page and in the charges list.
CHARGE_COLUMNS = (
    "kind",
    "due_on",
    "amount_cents",
    "status",
    "attempts",
    "provider_failures",
    "next_attempt_at",
    "last_error",
)


class RechargeChargeInline(ReadOnlyInline):
    model = RechargeCharge
    fields = (*CHARGE_COLUMNS, "purchase")
    readonly_fields = fields
    ordering = ["-created_at", "-pk"]


@admin.register(AutoRecharge)
class AutoRechargeAdmin(admin.ModelAdmin):
    """Plans are the customer's to edit; staff look and act through the audited actions."""

    list_display = [
        "organization",
        "status",
        "amount_cents",
        "frequency",
        "next_charge_on",
        "threshold_enabled",
        "last_failure",
        "updated_at",
    ]
    list_filter = ["status", "frequency", ("next_charge_on", admin.DateFieldListFilter), LastFailureFilter]
    search_fields = ["organization__name"]
    list_select_related = ["organization"]
    date_hierarchy = "next_charge_on"
    inlines = [RechargeChargeInline]
    actions = ["pause", "resume"]

    def get_queryset(self, request) -> QuerySet:
        return super().get_queryset(request).annotate(last_failure_error=_last_failure())

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Last failure", ordering="last_failure_error")
    def last_failure(self, plan) -> str:
        return plan.last_failure_error or ""

    def _each(self, request, queryset, service, done: str) -> None:
        now = timezone.now()
        count = 0
        for plan_id in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                service(plan_id=plan_id, staff=request.user, now=now)
            except CreditsError as error:
                self.message_user(request, f"Plan {plan_id}: {error.message}", messages.WARNING)
            else:
                count += 1
        self.message_user(request, f"{count} plan(s) {done}.", messages.SUCCESS)

    @admin.action(description="Pause the selected plans", permissions=["change"])
    def pause(self, request, queryset):
        self._each(request, queryset, recharge_staff.recharge_pause, "paused")

    @admin.action(description="Resume the selected plans", permissions=["change"])
    def resume(self, request, queryset):
        self._each(request, queryset, recharge_staff.recharge_resume, "resumed")


@admin.register(RechargeCharge)
class RechargeChargeAdmin(admin.ModelAdmin):
    list_display = ["plan", *CHARGE_COLUMNS]
    list_filter = ["status", "kind", ("next_attempt_at", admin.DateFieldListFilter)]
    search_fields = ["plan__organization__name", "purchase__key"]
    list_select_related = ["plan__organization"]
    actions = ["retry_now"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Retry the selected failed charges now", permissions=["change"])
    def retry_now(self, request, queryset):
        now = timezone.now()
        for charge_id in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                charge = recharge_staff.recharge_charge_retry(
                    charge_id=charge_id, staff=request.user, now=now
                )
            except CreditsError as error:
                self.message_user(request, f"Charge {charge_id}: {error.message}", messages.WARNING)
            else:
                level = messages.SUCCESS if charge.status == ChargeStatus.SUCCEEDED else messages.WARNING
                outcome = charge.get_status_display()
                detail = f" ({charge.last_error})" if charge.last_error and level == messages.WARNING else ""
                self.message_user(request, f"Charge {charge_id}: {outcome}{detail}.", level)
