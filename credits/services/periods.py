"""Commitment periods, written: schedules recorded, periods opened and cut short, purchases
counted in them. The only writer of CommitmentSchedule and CommitmentPeriod rows.

Every function here expects the account's row to be locked by the caller (locks.lock_account):
the timeline of one account changes one transaction at a time. On PostgreSQL the database
also refuses overlapping or gapped periods; on SQLite the checks below are the guard.
"""

from datetime import date, datetime

from credits.exceptions import CreditsError, TimelineError
from credits.models import (
    CommitmentPeriod,
    CommitmentSchedule,
    CreditAccount,
    Purchase,
    ScheduleSource,
)
from credits.models.purchases import REVERSED_STATUSES
from credits.selectors.periods import (
    PeriodBounds,
    Schedule,
    active_schedules,
    after_termination,
    cut_period,
    first_purchase_schedule,
    period_row_on,
    schedule_in_force,
    with_schedule,
)
from credits.selectors.tiers import period_tier


def _next_end(schedules: list[Schedule], bounds: PeriodBounds) -> date:
    following = cut_period(schedules, bounds.ends_on)
    return following.ends_on if following is not None else bounds.ends_on


def _refuse_overlap(account: CreditAccount, bounds: PeriodBounds, *, exclude_pk=None) -> None:
    clash = CommitmentPeriod.objects.filter(
        account=account, starts_on__lt=bounds.ends_on, ends_on__gt=bounds.starts_on
    )
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise TimelineError(f"Period {bounds.starts_on} - {bounds.ends_on} would overlap another.")


def _open(
    account: CreditAccount, bounds: PeriodBounds, *, follows_on: date | None, schedules: list[Schedule]
) -> CommitmentPeriod:
    _refuse_overlap(account, bounds)
    period = CommitmentPeriod(
        account=account,
        kind=bounds.kind,
        starts_on=bounds.starts_on,
        ends_on=bounds.ends_on,
        follows_on=follows_on,
        tier_held_until=_next_end(schedules, bounds),
    )
    period.save()
    return period


def open_periods(*, account: CreditAccount, through: date) -> CommitmentPeriod | None:
    """Open every period up to the one holding `through` and return it; None while the
    account has no schedule (no purchase, no plan in force)."""
    period = period_row_on(account=account, day=through)
    if period is not None:
        return period
    last = CommitmentPeriod.objects.filter(account=account).order_by("-starts_on").first()
    schedules = active_schedules(account=account)
    if last is None:
        bounds = cut_period(schedules, through)
        if bounds is None:
            return None
        return _open(account, bounds, follows_on=None, schedules=schedules)
    if through < last.starts_on:
        # Only a day before the first period can be missing here (a grant racing the first
        # purchase across midnight): it counts in the first period, never opens one before.
        return CommitmentPeriod.objects.filter(account=account).order_by("starts_on").first()
    while last.ends_on <= through:
        bounds = cut_period(schedules, last.ends_on)
        if bounds is None or bounds.starts_on != last.ends_on:
            raise TimelineError(f"The schedules leave a gap after {last.ends_on}.")
        last = _open(account, bounds, follows_on=last.ends_on, schedules=schedules)
    return last


def _record(
    account: CreditAccount, schedule: Schedule, *, source: str, now: datetime
) -> CommitmentSchedule:
    row = CommitmentSchedule(
        account=account,
        kind=schedule.kind,
        anchor_on=schedule.anchor_on,
        effective_from=schedule.effective_from,
        source=source,
        recorded_at=now,
    )
    row.full_clean(validate_constraints=False)
    row.save()
    return row


def _set_aside(replaced: list[Schedule], now: datetime) -> None:
    CommitmentSchedule.objects.filter(pk__in=[s.pk for s in replaced]).update(replaced_at=now)


def refresh_tier(period: CommitmentPeriod) -> None:
    period.tier_earned = period_tier(
        kind=period.kind, replaced_kind=period.replaced_kind, purchased_cents=period.purchased_cents
    )


def _reshape_latest(account: CreditAccount, schedules: list[Schedule]) -> None:
    """After a schedule change, the latest (running) period takes the end, and on its start
    day the kind, that the schedules now give it; nothing before it can change."""
    latest = CommitmentPeriod.objects.filter(account=account).order_by("-starts_on").first()
    if latest is None:
        return
    bounds = cut_period(schedules, latest.starts_on)
    if bounds is None or bounds.starts_on != latest.starts_on:
        raise TimelineError(f"A schedule change would move the period starting {latest.starts_on}.")
    if bounds.kind != latest.kind:
        latest.replaced_kind = latest.replaced_kind or latest.kind
        latest.kind = bounds.kind
    latest.ends_on = bounds.ends_on
    # A hold date already shown is kept even if the next period now ends sooner.
    latest.tier_held_until = max(latest.tier_held_until, _next_end(schedules, bounds))
    refresh_tier(latest)
    _refuse_overlap(account, bounds, exclude_pk=latest.pk)
    latest.save()
    previous = CommitmentPeriod.objects.filter(account=account, ends_on=latest.starts_on).first()
    if previous is not None and previous.tier_held_until < latest.ends_on:
        previous.tier_held_until = latest.ends_on
        previous.save(update_fields=["tier_held_until"])


def record_plan_schedule(
    *, account: CreditAccount, kind: str, billing_date: date, first_billing_date: date, now: datetime
) -> CommitmentSchedule:
    """A plan was started, or its billing date or frequency edited: its periods start on its
    first billing date. The period running then ends that day (or, starting that very day,
    becomes the plan's first period with its purchases); a pending schedule is replaced."""
    today = now.date()
    if first_billing_date < today:
        raise CreditsError("The first billing date cannot be in the past.", code="date_in_past")
    # The timeline starts with the first purchase (SPEC): before one, a plan (even one
    # starting today) opens no period; its first charge does, or, if the plan is terminated
    # first, the first purchase does, monthly from its own day.
    has_periods = CommitmentPeriod.objects.filter(account=account).exists()
    if has_periods:
        # Periods that have started are written first, so the change cannot move them.
        open_periods(account=account, through=today)
    new = Schedule(kind, billing_date, first_billing_date)
    schedules, replaced = with_schedule(active_schedules(account=account), new, today=today)
    _set_aside(replaced, now)
    row = _record(account, new, source=ScheduleSource.PLAN, now=now)
    cut = CommitmentPeriod.objects.filter(account=account).order_by("-starts_on").first()
    _reshape_latest(account, schedules)
    if has_periods:
        open_periods(account=account, through=today)
    if cut is not None:
        _follow_the_days(cut)
    return row


def _follow_the_days(cut: CommitmentPeriod) -> None:
    """A plan starting today ends the running period today: what was bought earlier today
    belongs to the day, so it moves into the plan's first period (the purchases of days
    that stay in the cut period never move). A refunded one moves too, counted in neither."""
    cut.refresh_from_db()
    moved = list(Purchase.objects.filter(period=cut, granted_at__date__gte=cut.ends_on).order_by("pk"))
    for purchase in moved:
        assert purchase.granted_at is not None  # only granted purchases are in a period
        period = period_row_on(account=cut.account, day=purchase.granted_at.date())
        assert period is not None  # opened through today just before
        if purchase.status in REVERSED_STATUSES:
            purchase.period = period
        else:
            uncount_purchase(purchase=purchase)
            count_purchase(account=cut.account, purchase=purchase, period=period)
        purchase.save(update_fields=["period"])


def record_termination(*, account: CreditAccount, now: datetime) -> CommitmentSchedule | None:
    """A plan was terminated: the current period runs to its end, then monthly periods on
    the same billing day (`after_termination` says what is set aside)."""
    today = now.date()
    has_periods = CommitmentPeriod.objects.filter(account=account).exists()
    if has_periods:
        open_periods(account=account, through=today)
    schedules, replaced, monthly = after_termination(
        active_schedules(account=account), today=today, has_periods=has_periods
    )
    _set_aside(replaced, now)
    row = None
    if monthly is not None:
        row = _record(account, monthly, source=ScheduleSource.TERMINATION, now=now)
    _reshape_latest(account, schedules)
    return row


def period_for_new_purchase(*, account: CreditAccount, today: date, now: datetime) -> CommitmentPeriod:
    """The period a purchase granted today counts in, opening the timeline if this is the
    first purchase (monthly from today unless a plan's schedule is already in force)."""
    schedules = active_schedules(account=account)
    has_periods = CommitmentPeriod.objects.filter(account=account).exists()
    if not has_periods and schedule_in_force(schedules, today) is None:
        _record(account, first_purchase_schedule(today), source=ScheduleSource.FIRST_PURCHASE, now=now)
    period = open_periods(account=account, through=today)
    assert period is not None  # a schedule is in force now
    return period


def count_purchase(*, account: CreditAccount, purchase: Purchase, period: CommitmentPeriod) -> None:
    """Add a granted purchase to its period (the caller saves the purchase)."""
    period.purchased_cents += purchase.amount_cents
    refresh_tier(period)
    period.save(update_fields=["purchased_cents", "tier_earned"])
    purchase.period = period


def uncount_purchase(*, purchase: Purchase) -> None:
    """A refunded purchase no longer counts in its period; the period's tier follows."""
    if purchase.period_id is None:
        return
    period = CommitmentPeriod.objects.select_for_update().get(pk=purchase.period_id)
    period.purchased_cents -= purchase.amount_cents
    refresh_tier(period)
    period.save(update_fields=["purchased_cents", "tier_earned"])

