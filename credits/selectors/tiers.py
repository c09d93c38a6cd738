"""Tiers and bonus: thresholds, the bonus schedule, the tier an account holds."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q, QuerySet, Subquery

from billing_portal.compiled_queries import Read
from credits.models import (
    TIER_RANK,
    BonusRate,
    CommitmentPeriod,
    CreditAccount,
    Purchase,
    PurchaseSource,
    PurchaseStatus,
    Tier,
    TierThreshold,
)
from credits.money import percent_of_cents
from credits.selectors.periods import PeriodBounds, active_schedules, cut_period
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


def period_tier(*, kind: str, replaced_kind: str, purchased_cents: int) -> str:
    """The tier a period's purchases earn; a period that took another's place on its start
    day (a plan starting that day) earns the better of both kinds' thresholds."""
    tier = tier_for_amount(kind=kind, purchased_cents=purchased_cents)
    if replaced_kind:
        tier = higher_tier(tier, tier_for_amount(kind=replaced_kind, purchased_cents=purchased_cents))
    return tier


@dataclass(frozen=True)
class TierHold:
    """How long the current tier holds, and what keeps it after that."""

    tier: str
    held_until: date
    # Buying keep_cents more before keep_before keeps the tier after held_until. When the
    # tier was earned this period keep_cents is 0 and keep_from is the next period's start,
    # from which buying again keeps it.
    keep_cents: int
    keep_before: date
    keep_from: date | None

    @property
    def tier_label(self) -> str:
        return Tier(self.tier).label


def tier_hold(*, account: CreditAccount, today: date) -> TierHold | None:
    """The date the current tier holds until and the purchase that keeps it; None without a
    self-serve tier."""
    view = timeline_view(account=account, today=today)
    return view.hold


@dataclass(frozen=True)
class TimelineView:
    """What Billing > Credit shows of the timeline today: one read of the periods, and one of
    the schedules when the periods leave today uncut."""

    tier: str
    period: PeriodBounds | None
    purchased_cents: int
    hold: TierHold | None


def _periods_that_matter(*, account_id: int, today: date) -> QuerySet[CommitmentPeriod]:
    latest = CommitmentPeriod.objects.filter(account_id=account_id).order_by("-starts_on").values("pk")[:1]
    return CommitmentPeriod.objects.filter(account_id=account_id).filter(
        Q(tier_held_until__gt=today) | Q(ends_on__gt=today) | Q(pk__in=Subquery(latest))
    )


def timeline_view_read(*, account: CreditAccount, today: date) -> Read[TimelineView]:
    """The tier held today, the current period and its purchases, and the tier's hold: one
    read of the periods that matter (still holding a tier, not ended, or the latest), to run
    alone or with other reads, and one of the schedules (which cut the periods not opened
    yet) when the periods leave today uncut."""
    return Read(
        _periods_that_matter,
        {"account_id": account.pk, "today": today},
        CommitmentPeriod,
        lambda rows: _timeline_view_of(rows, account=account, today=today),
    )


def timeline_view(*, account: CreditAccount, today: date) -> TimelineView:
    """timeline_view_read, run alone."""
    return timeline_view_read(account=account, today=today).run()


def _timeline_view_of(rows: list[CommitmentPeriod], *, account: CreditAccount, today: date) -> TimelineView:
    holders = [row for row in rows if row.starts_on <= today < row.tier_held_until]
    tier: str = Tier.ENTERPRISE if account.enterprise else Tier.NONE
    for row in holders:
        if not account.enterprise:
            tier = higher_tier(tier, row.tier_earned)
    current = next((row for row in rows if row.starts_on <= today < row.ends_on), None)
    schedules = None
    bounds: PeriodBounds | None = None
    if current is not None:
        bounds = PeriodBounds(current.kind, current.starts_on, current.ends_on)
    elif rows and min(row.starts_on for row in rows) <= today:
        schedules = active_schedules(account=account)
        bounds = cut_period(schedules, today)
    purchased = current.purchased_cents if current is not None else 0
    if bounds is None or tier in (Tier.NONE, Tier.ENTERPRISE):
        return TimelineView(tier, bounds, purchased, None)
    rank = TIER_RANK[Tier(tier)]
    held_until = max(row.tier_held_until for row in holders if TIER_RANK[Tier(row.tier_earned)] >= rank)
    if current is not None and TIER_RANK[Tier(current.tier_earned)] >= rank:
        # Earned this period already: it holds through the next period, where buying again
        # keeps it; nothing to buy before the current period ends.
        earned_here = TierHold(tier, held_until, 0, held_until, bounds.ends_on)
        return TimelineView(tier, bounds, purchased, earned_here)
    threshold = next(
        (t.min_amount_cents for t in cached_tier_thresholds() if t.period == bounds.kind and t.tier == tier),
        None,
    )
    hold: TierHold | None = None
    if threshold is not None:
        hold = TierHold(tier, held_until, max(threshold - purchased, 0), bounds.ends_on, None)
    return TimelineView(tier, bounds, purchased, hold)


def timeline_violations() -> list[str]:
    """Every broken period rule, in words: periods overlap or leave a gap, a period is not
    what the account's schedules cut, a granted purchase is in no period or one not holding
    its grant day, a period's cached total or tier is not what its purchases give."""
    problems = []
    totals: dict[int, int] = {}
    purchases = Purchase.objects.filter(granted_at__isnull=False).select_related("period__account")
    for purchase in purchases:
        period = purchase.period
        if purchase.source == PurchaseSource.OVERAGE:
            if period is not None:
                problems.append(f"purchase {purchase.pk}: an overage payment counts in a period")
            continue
        if period is None:
            problems.append(f"purchase {purchase.pk}: granted but in no period")
            continue
        if period.account.organization_id != purchase.organization_id:
            problems.append(f"purchase {purchase.pk}: in another organization's period")
        granted_at = purchase.granted_at
        if granted_at is None or not period.starts_on <= granted_at.date() < period.ends_on:
            problems.append(f"purchase {purchase.pk}: granted outside its period {period}")
        if purchase.status == PurchaseStatus.SUCCEEDED:
            totals[period.pk] = totals.get(period.pk, 0) + purchase.amount_cents
    previous_by_account: dict[int, CommitmentPeriod] = {}
    schedules_by_account: dict[int, list] = {}
    for period in CommitmentPeriod.objects.select_related("account").order_by("account_id", "starts_on"):
        label = f"account {period.account_id}, period {period.starts_on} - {period.ends_on}"
        previous = previous_by_account.get(period.account_id)
        if previous is None and period.follows_on is not None:
            problems.append(f"{label}: the first period follows another")
        if previous is not None and period.starts_on < previous.ends_on:
            problems.append(f"{label}: overlaps {previous.starts_on} - {previous.ends_on}")
        if previous is not None and period.starts_on > previous.ends_on:
            problems.append(f"{label}: gap after {previous.ends_on}")
        previous_by_account[period.account_id] = period
        if period.account_id not in schedules_by_account:
            schedules_by_account[period.account_id] = active_schedules(account=period.account)
        cut = cut_period(schedules_by_account[period.account_id], period.starts_on)
        if cut is None or (cut.kind, cut.starts_on, cut.ends_on) != (
            period.kind,
            period.starts_on,
            period.ends_on,
        ):
            problems.append(f"{label}: its schedules cut {cut} instead")
        if period.purchased_cents != totals.get(period.pk, 0):
            problems.append(
                f"{label}: cached {period.purchased_cents} != its purchases {totals.get(period.pk, 0)}"
            )
        tier = period_tier(
            kind=period.kind, replaced_kind=period.replaced_kind, purchased_cents=period.purchased_cents
        )
        if period.tier_earned != tier:
            problems.append(f"{label}: tier {period.tier_earned} but its total earns {tier}")
    return problems
