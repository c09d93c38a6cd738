"""Commitment periods and tiers: period arithmetic, thresholds, bonus rates, current tier."""

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timezone as dt_timezone
from decimal import Decimal

from credits.models import (
    TIER_RANK,
    BonusRate,
    CommitmentPeriod,
    CreditAccount,
    PeriodKind,
    Tier,
    TierThreshold,
)
from credits.money import percent_of_cents


def _clamped(year: int, month: int, day: int) -> date:
    # Billing days 29-31 fall on the month's last day in shorter months (Feb 28/29).
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _shift_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


@dataclass(frozen=True)
class PeriodBounds:
    kind: str
    starts_on: date
    # Exclusive.
    ends_on: date

    @property
    def days(self) -> int:
        return (self.ends_on - self.starts_on).days

    def days_left(self, today: date) -> int:
        return (self.ends_on - today).days

    @property
    def ends_at(self) -> datetime:
        """The moment the period ends (midnight UTC starting its end day)."""
        return datetime.combine(self.ends_on, time.min, tzinfo=dt_timezone.utc)


def period_bounds(*, anchor: date, kind: str, on: date) -> PeriodBounds:
    """The period of an account anchored on `anchor` that contains the day `on`."""
    if kind == PeriodKind.YEARLY:
        start = _clamped(on.year, anchor.month, anchor.day)
        if start > on:
            start = _clamped(on.year - 1, anchor.month, anchor.day)
        end = _clamped(start.year + 1, anchor.month, anchor.day)
        return PeriodBounds(kind, start, end)
    start = _clamped(on.year, on.month, anchor.day)
    if start > on:
        start = _clamped(*_shift_months(on.year, on.month, -1), anchor.day)
    end = _clamped(*_shift_months(start.year, start.month, 1), anchor.day)
    return PeriodBounds(kind, start, end)


def next_period_bounds(*, anchor: date, bounds: PeriodBounds) -> PeriodBounds:
    return period_bounds(anchor=anchor, kind=bounds.kind, on=bounds.ends_on)


def tier_for_amount(*, kind: str, purchased_cents: int) -> str:
    """The tier that purchases of `purchased_cents` in one period of `kind` earn."""
    earned = Tier.NONE
    for threshold in TierThreshold.objects.filter(period=kind).order_by("min_amount_cents"):
        if purchased_cents >= threshold.min_amount_cents:
            earned = threshold.tier
    return earned


def next_tier_threshold(*, kind: str, purchased_cents: int) -> TierThreshold | None:
    """The first threshold not yet reached this period, if any."""
    return (
        TierThreshold.objects.filter(period=kind, min_amount_cents__gt=purchased_cents)
        .order_by("min_amount_cents")
        .first()
    )


@dataclass(frozen=True)
class Bonus:
    percent: Decimal
    cents: int


def bonus_for_amount(*, amount_cents: int) -> Bonus:
    """The bonus one purchase of this size earns (largest schedule row at or below it)."""
    rate = (
        BonusRate.objects.filter(min_amount_cents__lte=amount_cents)
        .order_by("-min_amount_cents")
        .first()
    )
    percent = rate.percent if rate else Decimal("0")
    return Bonus(percent=percent, cents=percent_of_cents(amount_cents, percent))


def higher_tier(first: str, second: str) -> str:
    return first if TIER_RANK[Tier(first)] >= TIER_RANK[Tier(second)] else second


def current_tier(*, account: CreditAccount, today: date) -> str:
    """Enterprise if staff said so, else the best tier still held on `today`."""
    if account.enterprise:
        return Tier.ENTERPRISE
    tier = Tier.NONE
    held = CommitmentPeriod.objects.filter(
        account=account, starts_on__lte=today, tier_held_until__gt=today
    ).values_list("tier_earned", flat=True)
    for earned in held:
        tier = higher_tier(tier, earned)
    return tier
