"""Auto-recharge plans: preview, start, edit, terminate (the charging job is in recharge_jobs)."""

from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction

from accounts.models import Organization
from credits.exceptions import CreditsError, RefundPolicyNotAccepted
from credits.models import AutoRecharge, BillingPolicy, PeriodKind, RechargeStatus, Tier
from credits.selectors.periods import period_bounds
from credits.selectors.tiers import tier_for_amount
from credits.services import ledger
from credits.services.purchases import (
    PurchasePreview,
    preview_purchase,
    validate_amount,
)

MAX_THRESHOLD_RECHARGES = 10


def charge_dates(*, billing_date: date, frequency: str, on_or_after: date, count: int) -> list[date]:
    """The plan's charge days from `on_or_after` on: the billing day each month (clamped to
    the month's end) or each year."""
    dates: list[date] = []
    day = max(on_or_after, billing_date)
    while len(dates) < count:
        bounds = period_bounds(anchor=billing_date, kind=frequency, on=day)
        charge_day = bounds.starts_on if bounds.starts_on >= day else bounds.ends_on
        dates.append(charge_day)
        day = period_bounds(anchor=billing_date, kind=frequency, on=charge_day).ends_on
    return dates


@dataclass(frozen=True)
class RechargePreview:
    purchase: PurchasePreview
    frequency: str
    # The tier one recharge earns on its own in a period of this frequency.
    tier_per_period: str
    next_charges: list[date]
    yearly_total_cents: int
    yearly_bonus_cents: int

    @property
    def tier_per_period_label(self) -> str:
        return Tier(self.tier_per_period).label


def preview_recharge(
    *,
    organization: Organization,
    amount_cents: int,
    frequency: str,
    billing_date: date,
    now: datetime,
) -> RechargePreview:
    validate_amount(amount_cents)
    purchase = preview_purchase(
        organization=organization, amount_cents=amount_cents, now=now, period_kind=frequency
    )
    per_year = 12 if frequency == PeriodKind.MONTHLY else 1
    return RechargePreview(
        purchase=purchase,
        frequency=frequency,
        tier_per_period=tier_for_amount(kind=frequency, purchased_cents=amount_cents),
        next_charges=charge_dates(
            billing_date=billing_date,
            frequency=frequency,
            on_or_after=now.date(),
            count=3,
        ),
        yearly_total_cents=amount_cents * per_year,
        yearly_bonus_cents=purchase.bonus_cents * per_year,
    )


@dataclass(frozen=True)
class RechargeSettings:
    amount_cents: int
    frequency: str
    billing_date: date
    payment_method_id: str = ""
    threshold_enabled: bool = False
    threshold_micros: int = 0
    max_threshold_recharges: int = 3
    max_threshold_cents: int = 0


def _validate(settings: RechargeSettings) -> None:
    validate_amount(settings.amount_cents)
    if settings.frequency not in PeriodKind.values:
        raise CreditsError("Choose monthly or yearly.", code="invalid_frequency")
    if settings.threshold_enabled:
        if settings.threshold_micros <= 0:
            raise CreditsError("Set the balance that triggers a top-up.", code="invalid_threshold")
        if not 1 <= settings.max_threshold_recharges <= MAX_THRESHOLD_RECHARGES:
            raise CreditsError(
                f"Allow between 1 and {MAX_THRESHOLD_RECHARGES} top-ups per period.",
                code="invalid_cap",
            )
        if settings.max_threshold_cents < settings.amount_cents:
            raise CreditsError(
                "The spending cap per period must cover at least one recharge.", code="invalid_cap"
            )


@transaction.atomic
def recharge_save(
    *,
    organization: Organization,
    settings: RechargeSettings,
    user,
    now: datetime,
    refund_policy_accepted: bool,
) -> AutoRecharge:
    """Start a plan, or change one; a change applies from the next charge."""
    _validate(settings)
    account = ledger.lock_account(organization=organization)
    plan = AutoRecharge.objects.select_for_update().filter(organization=organization).first()
    starting = plan is None or plan.status == RechargeStatus.TERMINATED
    moved = plan is None or settings.billing_date != plan.billing_date
    if (starting or moved) and settings.billing_date < now.date():
        raise CreditsError("The billing date cannot be in the past.", code="date_in_past")
    if plan is None:
        plan = AutoRecharge(organization=organization, created_by=user, created_at=now)
    schedule_changed = (
        starting
        or settings.billing_date != plan.billing_date
        or settings.frequency != plan.frequency
    )
    for field, value in vars(settings).items():
        setattr(plan, field, value)
    _accept_refund_policy(
        plan, accepted=refund_policy_accepted, starting=starting, user=user, now=now
    )
    plan.status = RechargeStatus.ACTIVE
    plan.terminated_at = None
    plan.updated_at = now
    if schedule_changed:
        plan.next_charge_on = charge_dates(
            billing_date=settings.billing_date,
            frequency=settings.frequency,
            on_or_after=now.date(),
            count=1,
        )[0]
    plan.full_clean()
    plan.save()
    # The commitment period follows the plan: its frequency and its billing day.
    account.period_kind = settings.frequency
    account.anchor_date = settings.billing_date
    account.save(update_fields=["period_kind", "anchor_date"])
    return plan


def _accept_refund_policy(
    plan: AutoRecharge, *, accepted: bool, starting: bool, user, now: datetime
) -> None:
    """Like a purchase, a plan's charges need the refund policy accepted: on start, and
    again at the first edit after the policy's version changed."""
    version = BillingPolicy.current().refund_policy_version
    if accepted:
        plan.refund_policy_version = version
        plan.refund_policy_accepted_at = now
        plan.refund_policy_accepted_by = user if user is not None and user.pk else None
    elif starting or plan.refund_policy_version != version:
        raise RefundPolicyNotAccepted(
            "The refund policy changed since this plan was set up; please accept it to save."
            if plan.refund_policy_version and not starting
            else "Please accept the refund policy: it applies to every charge auto-recharge makes."
        )


@transaction.atomic
def recharge_terminate(*, organization: Organization, now: datetime) -> AutoRecharge:
    """Stop future charges; credits already bought stay where they are."""
    plan = AutoRecharge.objects.select_for_update().filter(organization=organization).first()
    if plan is None or plan.status == RechargeStatus.TERMINATED:
        raise CreditsError("There is no auto-recharge to terminate.", code="no_plan")
    plan.status = RechargeStatus.TERMINATED
    plan.terminated_at = now
    plan.updated_at = now
    plan.save(update_fields=["status", "terminated_at", "updated_at"])
    return plan

