"""Billing > Credit: everything the page shows, in a fixed number of queries."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, OneToOneRel, OuterRef, Q, QuerySet, Subquery

from accounts.models import Organization
from billing_portal.compiled_queries import Read, compiled_rows, read_together
from credits.models import (
    AutoRecharge,
    CreditAccount,
    CreditLot,
    LedgerEntry,
    LotKind,
    OverageCharge,
    OverageStatus,
    PeriodKind,
    Tier,
)
from credits.selectors.ledger import usage_lots_read
from credits.selectors.limits import LimitRow, LimitSource, current_limits
from credits.selectors.periods import PeriodBounds
from credits.selectors.process_cache import cached_catalog
from credits.selectors.programs import ActiveProgram, active_programs
from credits.selectors.recharge import charges_needing_attention
from credits.selectors.tiers import TierHold, TimelineView, next_tier_threshold, timeline_view_read
from credits.selectors.usage import UsageForecast, usage_forecast_read


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
    forecast: UsageForecast
    grants: list[ActiveProgram]
    plan: AutoRecharge | None
    attention: list
    failed_overage: OverageCharge | None


def _tier_progress(*, account: CreditAccount, view: TimelineView) -> TierProgress:
    tier, bounds, purchased, hold = view.tier, view.period, view.purchased_cents, view.hold
    kind = bounds.kind if bounds is not None else PeriodKind.MONTHLY
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


def _used_up_lots_query(*, account_id: int, now: datetime) -> QuerySet:
    # Each lot's latest entry is one probe of the (lot, created_at) index, not an aggregate
    # over all its entries: a lot drawn by a year of batches, or by per-call entries, has
    # millions, and the page reads this on every load.
    latest_entry = LedgerEntry.objects.filter(lot=OuterRef("pk")).order_by("-created_at").values("created_at")
    return (
        CreditLot.objects.filter(account_id=account_id)
        .exclude(kind=LotKind.OVERAGE)
        .filter(Q(remaining_micros__lte=0) | Q(expires_at__lte=now))
        .annotate(last_entry_at=Subquery(latest_entry[:1]))
        .order_by(F("last_entry_at").desc(nulls_last=True), "-pk")
        .values_list("kind", "original_micros", "remaining_micros", "expires_at", "last_entry_at")[
            :USED_UP_LOTS_SHOWN
        ]
    )


def used_up_lots_read(*, account: CreditAccount, now: datetime) -> Read[list[UsedUpLot]]:
    """Spent or expired lots, the latest first (compiled once per process: the credit page
    reads it on every load)."""

    def used_up(rows: list[tuple]) -> list[UsedUpLot]:
        lots = []
        for kind, original, remaining, expires_at, last_entry_at in rows:
            # The expiry job writes its entry at or after the expiry time; usage can only draw
            # before it. So a last entry at/after expires_at (or credits still left) means
            # expired.
            expired = expires_at is not None and (remaining > 0 or (last_entry_at or now) >= expires_at)
            ran_out_at = expires_at if expired and remaining > 0 else last_entry_at
            lots.append(UsedUpLot(kind, LotKind(kind).label, original, ran_out_at or now, expired))
        return lots

    return Read(_used_up_lots_query, {"account_id": account.pk, "now": now}, then=used_up)


# What Billing > Credit reads of its organization, joined to the viewer's membership by its
# view's decorator (accounts.selectors.user_memberships): its account and its plan.
READ_WITH_ORGANIZATION = ("credit_account", "auto_recharge")


def _account_and_plan_query(*, organization_id: int) -> QuerySet[CreditAccount]:
    return CreditAccount.objects.select_related("organization__auto_recharge").filter(
        organization_id=organization_id
    )


def _account_and_plan(*, organization: Organization) -> tuple[CreditAccount, AutoRecharge | None]:
    """The organization's account and its auto-recharge plan (if any): as the membership read
    joined them (READ_WITH_ORGANIZATION), else in one query of their own, the plan joined
    through the organization (one plan per organization at most)."""
    relations = [Organization._meta.get_field(name) for name in READ_WITH_ORGANIZATION]
    if all(isinstance(rel, OneToOneRel) and rel.is_cached(organization) for rel in relations):
        account = getattr(organization, "credit_account", None)
    else:
        found = compiled_rows(CreditAccount, _account_and_plan_query, organization_id=organization.pk)
        # (At most one: one per organization.)
        account = found[0] if found else None
    if account is None:
        # A read never makes a missing account (only a shell could lose one).
        raise CreditAccount.DoesNotExist(f"No credit account for organization {organization.pk}.")
    try:
        return account, account.organization.auto_recharge
    except AutoRecharge.DoesNotExist:
        return account, None


def credit_summary(*, organization: Organization, now: datetime) -> CreditSummary:
    """Everything Billing > Credit shows, in a fixed number of queries."""
    account, plan = _account_and_plan(organization=organization)
    today = now.date()
    # The reads that follow from the account, in one round trip: the spendable lots (in spend
    # order) and the overage lot, the periods, the used-up lots and the days of usage.
    by_account, view, used_up, forecast = read_together(
        usage_lots_read(account_ids=[account.pk], now=now),
        timeline_view_read(account=account, today=today),
        used_up_lots_read(account=account, now=now),
        usage_forecast_read(
            organization_id=organization.pk, balance_micros=account.balance_micros, today=today
        ),
    )
    own = by_account[account.pk]
    lots = own.spendable
    sums = dict.fromkeys(LotKind.values, 0)
    for lot in lots:
        sums[lot.kind] += lot.remaining_micros
    owed = own.overage.remaining_micros if own.overage else 0
    bonus_expiries = [
        lot.expires_at for lot in lots if lot.kind == LotKind.BONUS and lot.expires_at is not None
    ]
    progress = _tier_progress(account=account, view=view)
    _tier, limits = current_limits(organization=organization, now=now, tier=view.tier)
    featured = {slug for slug, model in cached_catalog().items() if model.featured}
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
                LotKind(lot.kind).label,
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
        tier=progress,
        limits=[row for row in limits if row.model_slug in featured],
        limits_source_legacy=any(row.source == LimitSource.LEGACY for row in limits),
        forecast=forecast,
        plan=plan,
        # Recharge charges belong to a plan: without one there is nothing to ask about.
        attention=charges_needing_attention(organization=organization) if plan else [],
        failed_overage=OverageCharge.objects.filter(
            organization=organization, status=OverageStatus.FAILED
        )
        .order_by("-pk")
        .first()
        if account.balance_micros < 0
        else None,
        grants=active_programs(organization=organization, at=now),
    )

