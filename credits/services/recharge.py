"""Auto-recharge plans: preview, start, edit, terminate (the charging job is in recharge_jobs)."""

from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction

from accounts.models import Organization
from credits.exceptions import CreditsError, RefundPolicyNotAccepted
from credits.models import (
    AutoRecharge,
    BillingPolicy,
    PeriodKind,
    RechargeStatus,
    Tier,
)
from credits.selectors.ledger import credit_account_of
from credits.selectors.periods import (
    Schedule,
    charge_dates,
    describe_change,
    latest_charge_day,
    period_for_purchase,
    period_row_on,
)
from credits.selectors.tiers import tier_for_amount
from credits.services import locks, periods
from credits.services.purchases import (
    PurchasePreview,
    preview_for_period,
    validate_amount,
)

MAX_THRESHOLD_RECHARGES = 10


@dataclass(frozen=True)
class RechargePreview:
    # The first charge: its bonus, the tier it reaches and that tier's limits, and when its
    # bonus expires (the end of the period it lands in, as that period would stand).
    purchase: PurchasePreview
    frequency: str
    first_charge_on: date
    # What saving does to the periods, in words; None when the schedule does not change
    # (only the amount or the top-up settings were edited).
    periods_sentence: str | None
    # The tier one recharge earns on its own in a period of this frequency.
    tier_per_period: str
    next_charges: list[date]
    yearly_total_cents: int
    yearly_bonus_cents: int

    @property
    def tier_per_period_label(self) -> str:
        return Tier(self.tier_per_period).label


def _schedule_changes(plan: AutoRecharge | None, *, frequency: str, billing_date: date) -> bool:
    return (
        plan is None
        or plan.status == RechargeStatus.TERMINATED
        or billing_date != plan.billing_date
        or frequency != plan.frequency
    )


def preview_recharge(
    *,
    organization: Organization,
    amount_cents: int,
    frequency: str,
    billing_date: date,
    now: datetime,
) -> RechargePreview:
    """What saving this plan would do: the periods it cuts, and the first charge's bonus,
    tier, limits and bonus expiry."""
    validate_amount(amount_cents)
    account = credit_account_of(organization=organization)
    plan = AutoRecharge.objects.filter(organization=organization).first()
    today = now.date()
    charges = charge_dates(
        billing_date=billing_date, frequency=frequency, on_or_after=today, count=3
    )
    first_day = charges[0]
    sentence = None
    if _schedule_changes(plan, frequency=frequency, billing_date=billing_date):
        change = describe_change(
            account=account, new=Schedule(frequency, billing_date, first_day), today=today
        )
        sentence, bounds = change.sentence, change.first
    else:
        assert plan is not None
        first_day = plan.next_charge_on
        if first_day < today:
            # Overdue (the job has not run yet, or a paused plan resumes): the job charges
            # the latest due day at its next run, and the credits land in today's period.
            first_day = max(
                first_day,
                latest_charge_day(billing_date=billing_date, frequency=frequency, today=today),
            )
        bounds = period_for_purchase(account=account, day=max(first_day, today))
    lands_on = max(first_day, today)
    row = period_row_on(account=account, day=lands_on)
    already = row.purchased_cents if row is not None and row.starts_on == bounds.starts_on else 0
    purchase = preview_for_period(
        organization=organization,
        account=account,
        amount_cents=amount_cents,
        bounds=bounds,
        already_cents=already,
        today=today,
        on=lands_on,
    )
    per_year = 12 if frequency == PeriodKind.MONTHLY else 1
    return RechargePreview(
        purchase=purchase,
        frequency=frequency,
        first_charge_on=first_day,
        periods_sentence=sentence,
        tier_per_period=tier_for_amount(kind=frequency, purchased_cents=amount_cents),
        next_charges=charges,
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
    account = locks.lock_account(organization=organization)
    plan = locks.lock_plan(organization=organization)
    starting = plan is None or plan.status == RechargeStatus.TERMINATED
    moved = plan is None or settings.billing_date != plan.billing_date
    if (starting or moved) and settings.billing_date < now.date():
        raise CreditsError("The billing date cannot be in the past.", code="date_in_past")
    if plan is None:
        plan = AutoRecharge(organization=organization, created_by=user, created_at=now)
    schedule_changed = starting or _schedule_changes(
        plan, frequency=settings.frequency, billing_date=settings.billing_date
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
    if schedule_changed:
        # The periods follow the plan from its first billing date, not from today.
        periods.record_plan_schedule(
            account=account,
            kind=settings.frequency,
            billing_date=settings.billing_date,
            first_billing_date=plan.next_charge_on,
            now=now,
        )
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
    """Stop future charges; credits already bought stay where they are. The current period
    runs to its end; the periods after it are monthly on the same billing day."""
    account = locks.lock_account(organization=organization)
    plan = locks.lock_plan(organization=organization)
    if plan is None or plan.status == RechargeStatus.TERMINATED:
        raise CreditsError("There is no auto-recharge to terminate.", code="no_plan")
    plan.status = RechargeStatus.TERMINATED
    plan.terminated_at = now
    plan.updated_at = now
    plan.save(update_fields=["status", "terminated_at", "updated_at"])
    periods.record_termination(account=account, now=now)
    return plan

