"""Billing > Credit: everything the page shows, in a fixed number of queries."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import F, Max, Q, Sum

from accounts.models import Organization
from credits.models import (
    AutoRecharge,
    CreditAccount,
    CreditLot,
    EntryKind,
    LedgerEntry,
    LotKind,
    OverageCharge,
    OverageStatus,
    PeriodKind,
    ProgramGrant,
    Tier,
)
from credits.selectors.ledger import credit_account_of, spendable_lots
from credits.selectors.limits import LimitRow, LimitSource, current_limits, featured_model_slugs
from credits.selectors.periods import PeriodBounds, period_on, period_row_on
from credits.selectors.programs import active_program_grants
from credits.selectors.recharge import charges_needing_attention, recharge_plan_of
from credits.selectors.tiers import TierHold, current_tier, next_tier_threshold, tier_hold


@dataclass(frozen=True)
class LotLine:
    kind: str
    kind_label: str
    remaining_micros: int
    original_micros: int
    expires_at: datetime | None
    spent_first: bool


@dataclass(frozen=True)
class UsedUpLot:
    """A lot with nothing left: kept on the page (folded) so the credits do not just vanish."""

    kind: str
    kind_label: str
    original_micros: int
    # When its last credit was drawn, or when it expired with credits left.
    ran_out_at: datetime
    expired: bool


# The page lists the most recent ones; the ledger on the usage page has them all.
USED_UP_LOTS_SHOWN = 20


@dataclass(frozen=True)
class TierProgress:
    tier: str
    tier_label: str
    period_kind: str
    period: PeriodBounds | None
    purchased_cents: int
    next_tier_label: str | None
    next_tier_missing_cents: int
    # 0-100, toward the next threshold.
    progress_percent: int
    # Until when the tier holds and what keeps it; None without a self-serve tier.
    hold: TierHold | None


@dataclass(frozen=True)
class CreditSummary:
    balance_micros: int
    paid_micros: int
    bonus_micros: int
    grant_micros: int
    owed_micros: int
    next_bonus_expiry: datetime | None
    lots: list[LotLine]
    used_up_lots: list[UsedUpLot]
    # With no bonus left: the bonus lot that ran out last, to say where the bonus went.
    last_bonus: UsedUpLot | None
    tier: TierProgress
    limits: list[LimitRow]
    limits_source_legacy: bool
    usage_last_30_days_micros: int
    # None when there is no recent usage or nothing left to spend.
    runs_out_on: date | None
    lasts_for_years: bool
    grants: list[ProgramGrant]
    plan: AutoRecharge | None
    attention: list
    failed_overage: OverageCharge | None


def _tier_progress(*, account: CreditAccount, today: date) -> TierProgress:
    tier = current_tier(account=account, today=today)
    bounds = period_on(account=account, day=today)
    row = period_row_on(account=account, day=today) if bounds is not None else None
    # "Bought this period" is the period's own purchases (a period not opened yet has none).
    purchased = row.purchased_cents if row is not None else 0
    kind = bounds.kind if bounds is not None else PeriodKind.MONTHLY
    hold = tier_hold(account=account, today=today)
    upcoming = next_tier_threshold(kind=kind, purchased_cents=purchased)
    if upcoming is None or account.enterprise:
        return TierProgress(tier, Tier(tier).label, kind, bounds, purchased, None, 0, 100, hold)
    return TierProgress(
        tier,
        Tier(tier).label,
        kind,
        bounds,
        purchased,
        Tier(upcoming.tier).label,
        upcoming.min_amount_cents - purchased,
        min(100, purchased * 100 // upcoming.min_amount_cents),
        hold,
    )


def used_up_lots(*, account: CreditAccount, now: datetime) -> list[UsedUpLot]:
    """Spent or expired lots, the latest first."""
    lots = (
        CreditLot.objects.filter(account=account)
        .exclude(kind=LotKind.OVERAGE)
        .filter(Q(remaining_micros__lte=0) | Q(expires_at__lte=now))
        .annotate(last_entry_at=Max("entries__created_at"))
        .order_by(F("last_entry_at").desc(nulls_last=True), "-pk")[:USED_UP_LOTS_SHOWN]
    )
    rows = []
    for lot in lots:
        # The expiry job writes its entry at or after the expiry time; usage can only draw
        # before it. So a last entry at/after expires_at (or credits still left) means expired.
        expired = lot.expires_at is not None and (
            lot.remaining_micros > 0 or (lot.last_entry_at or now) >= lot.expires_at
        )
        ran_out_at = lot.expires_at if expired and lot.remaining_micros > 0 else lot.last_entry_at
        rows.append(
            UsedUpLot(lot.kind, lot.get_kind_display(), lot.original_micros, ran_out_at or now, expired)
        )
    return rows


def credit_summary(*, organization: Organization, now: datetime) -> CreditSummary:
    """Everything Billing > Credit shows, in a fixed number of queries."""
    account = credit_account_of(organization=organization)
    lots = list(spendable_lots(account=account, now=now))
    sums = dict.fromkeys(LotKind.values, 0)
    for lot in lots:
        sums[lot.kind] += lot.remaining_micros
    owed = (
        CreditLot.objects.filter(account=account, kind=LotKind.OVERAGE)
        .values_list("remaining_micros", flat=True)
        .first()
        or 0
    )
    bonus_expiries = [lot.expires_at for lot in lots if lot.kind == LotKind.BONUS]
    since = now - timedelta(days=30)
    used = -(
        LedgerEntry.objects.filter(
            account=account, kind=EntryKind.USAGE, created_at__gte=since
        ).aggregate(total=Sum("amount_micros"))["total"]
        or 0
    )
    runs_out_on = None
    lasts_for_years = False
    if used > 0 and account.balance_micros > 0:
        # At the last 30 days' average daily rate; past ten years a date means nothing.
        days_left = account.balance_micros * 30 // used
        lasts_for_years = days_left > 3650
        if not lasts_for_years:
            runs_out_on = (now + timedelta(days=days_left)).date()
    used_up = used_up_lots(account=account, now=now)
    _tier, limits = current_limits(organization=organization, now=now)
    featured = featured_model_slugs()
    return CreditSummary(
        balance_micros=account.balance_micros,
        paid_micros=sums[LotKind.PAID],
        bonus_micros=sums[LotKind.BONUS],
        grant_micros=sums[LotKind.GRANT],
        owed_micros=-owed,
        next_bonus_expiry=min(bonus_expiries) if bonus_expiries else None,
        lots=[
            LotLine(
                lot.kind,
                lot.get_kind_display(),
                lot.remaining_micros,
                lot.original_micros,
                lot.expires_at,
                index == 0,
            )
            for index, lot in enumerate(lots)
        ],
        used_up_lots=used_up,
        last_bonus=None
        if sums[LotKind.BONUS]
        else next((lot for lot in used_up if lot.kind == LotKind.BONUS), None),
        tier=_tier_progress(account=account, today=now.date()),
        limits=[row for row in limits if row.model_slug in featured],
        limits_source_legacy=any(row.source == LimitSource.LEGACY for row in limits),
        usage_last_30_days_micros=used,
        runs_out_on=runs_out_on,
        lasts_for_years=lasts_for_years,
        plan=recharge_plan_of(organization=organization),
        attention=charges_needing_attention(organization=organization),
        failed_overage=OverageCharge.objects.filter(
            organization=organization, status=OverageStatus.FAILED
        )
        .order_by("-pk")
        .first()
        if account.balance_micros < 0
        else None,
        grants=active_program_grants(organization=organization, at=now),
    )

