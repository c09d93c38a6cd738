"""Tiers and bonus: thresholds, the bonus schedule, the tier an account holds."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from credits.models import (
    TIER_RANK,
    BonusRate,
    CommitmentPeriod,
    CreditAccount,
    Tier,
    TierThreshold,
)
from credits.money import percent_of_cents
from credits.selectors.process_cache import cached_tier_thresholds


def tier_for_amount(*, kind: str, purchased_cents: int) -> str:
    """The tier that purchases of `purchased_cents` in one period of `kind` earn."""
    earned: str = Tier.NONE
    for threshold in TierThreshold.objects.filter(period=kind).order_by("min_amount_cents"):
        if purchased_cents >= threshold.min_amount_cents:
            earned = threshold.tier
    return earned


def next_tier_threshold(*, kind: str, purchased_cents: int) -> TierThreshold | None:
    """The first threshold not yet reached this period, if any (for display: read from the
    in-process cache, at most PROCESS_CACHE_SECONDS old)."""
    return next(
        (
            threshold
            for threshold in cached_tier_thresholds()
            if threshold.period == kind and threshold.min_amount_cents > purchased_cents
        ),
        None,
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


@dataclass(frozen=True)
class BonusSchedule:
    """What pages say about the bonus schedule, read from its rows (staff edit them)."""

    # The largest bonus any purchase earns ("up to +10%").
    max_percent: Decimal
    # The smallest purchase that earns any bonus ("from $100"); None when none does.
    first_bonus_cents: int | None


def bonus_schedule() -> BonusSchedule:
    rates = list(BonusRate.objects.filter(percent__gt=0).order_by("min_amount_cents"))
    return BonusSchedule(
        max_percent=max((rate.percent for rate in rates), default=Decimal("0")),
        first_bonus_cents=rates[0].min_amount_cents if rates else None,
    )


def higher_tier(first: str, second: str) -> str:
    return first if TIER_RANK[Tier(first)] >= TIER_RANK[Tier(second)] else second


def holds_tier_on(*, starts_on: date, tier_held_until: date, today: date) -> bool:
    """Whether a period's earned tier still holds on `today`."""
    return starts_on <= today < tier_held_until


def tier_held(*, account: CreditAccount, earned: list[str]) -> str:
    """Enterprise if staff said so, else the best of the tiers still held (`earned`)."""
    if account.enterprise:
        return Tier.ENTERPRISE
    tier: str = Tier.NONE
    for each in earned:
        tier = higher_tier(tier, each)
    return tier


def current_tier(*, account: CreditAccount, today: date) -> str:
    """Enterprise if staff said so, else the best tier still held on `today`."""
    if account.enterprise:
        return Tier.ENTERPRISE
    held = CommitmentPeriod.objects.filter(
        account=account, starts_on__lte=today, tier_held_until__gt=today
    ).values_list("tier_earned", flat=True)
    return tier_held(account=account, earned=list(held))
