"""Reads for pages and the API."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from accounts.models import Organization
from credits.models import (
    TIER_LIMIT_COLUMN,
    ApiKey,
    OverageCharge,
    OverageStatus,
    UsageEvent,
    ApiModel,
    AutoRecharge,
    BillingPolicy,
    CommitmentPeriod,
    CreditAccount,
    CreditLot,
    EntryKind,
    LedgerEntry,
    LimitTier,
    LotKind,
    PaymentMethod,
    ProgramGrant,
    Purchase,
    RateLimit,
    Tier,
    TierThreshold,
)
from credits.models.usage import hash_api_key
from credits.services.ledger import spendable_lots
from credits.services.limits import LimitRow, LimitSource, current_limits
from credits.services.recharge_jobs import charges_needing_attention
from credits.services.tiers import (
    PeriodBounds,
    bonus_for_amount,
    current_tier,
    next_tier_threshold,
    period_bounds,
)


def program_free_model_ids(*, organization: Organization, at: datetime) -> set[int]:
    """Models whose usage at `at` is free for the organization under a program grant."""
    return set(
        ApiModel.objects.filter(
            program_grants__organization=organization,
            program_grants__starts_at__lte=at,
            program_grants__ends_at__gt=at,
        )
        .filter(Q(program_grants__revoked_at__isnull=True) | Q(program_grants__revoked_at__gt=at))
        .values_list("pk", flat=True)
    )


@dataclass(frozen=True)
class LotLine:
    kind: str
    kind_label: str
    remaining_micros: int
    original_micros: int
    expires_at: datetime | None
    spent_first: bool


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


@dataclass(frozen=True)
class CreditSummary:
    balance_micros: int
    paid_micros: int
    bonus_micros: int
    grant_micros: int
    owed_micros: int
    next_bonus_expiry: datetime | None
    lots: list[LotLine]
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
    kind = account.period_kind
    if account.anchor_date is None:
        bounds, purchased = None, 0
    else:
        bounds = period_bounds(anchor=account.anchor_date, kind=kind, on=today)
        purchased = (
            CommitmentPeriod.objects.filter(account=account, starts_on=bounds.starts_on)
            .values_list("purchased_cents", flat=True)
            .first()
            or 0
        )
    upcoming = next_tier_threshold(kind=kind, purchased_cents=purchased)
    if upcoming is None or account.enterprise:
        return TierProgress(tier, Tier(tier).label, kind, bounds, purchased, None, 0, 100)
    return TierProgress(
        tier,
        Tier(tier).label,
        kind,
        bounds,
        purchased,
        Tier(upcoming.tier).label,
        upcoming.min_amount_cents - purchased,
        min(100, purchased * 100 // upcoming.min_amount_cents),
    )


def credit_summary(*, organization: Organization, now: datetime) -> CreditSummary:
    """Everything Billing > Credit shows, in a fixed number of queries."""
    account, _ = CreditAccount.objects.get_or_create(organization=organization)
    lots = list(spendable_lots(account=account, now=now))
    sums = {kind: 0 for kind in LotKind.values}
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
    tier, limits = current_limits(organization=organization, now=now)
    featured = {m.slug for m in ApiModel.objects.filter(featured=True)}
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
        tier=_tier_progress(account=account, today=now.date()),
        limits=[row for row in limits if row.model_slug in featured],
        limits_source_legacy=any(row.source == LimitSource.LEGACY for row in limits),
        usage_last_30_days_micros=used,
        runs_out_on=runs_out_on,
        lasts_for_years=lasts_for_years,
        plan=AutoRecharge.objects.filter(organization=organization).first(),
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


@dataclass(frozen=True)
class LimitTable:
    columns: list[tuple[str, str]]
    rows: list[tuple[ApiModel, list[RateLimit | None]]]
    highlighted: str | None


def rate_limit_table(*, organization: Organization | None, now: datetime) -> LimitTable:
    """All models by all columns; Legacy only while its policy still runs."""
    policy = BillingPolicy.current()
    columns = [LimitTier.BASE, LimitTier.TIER_1, LimitTier.TIER_2, LimitTier.TIER_3]
    if now.date() < policy.legacy_until:
        columns.append(LimitTier.LEGACY)
    limits = {
        (limit.api_model_id, limit.tier): limit
        for limit in RateLimit.objects.filter(tier__in=columns)
    }
    models = list(ApiModel.objects.filter(active=True).order_by("sort_order", "name"))
    highlighted = None
    if organization is not None:
        tier, rows = current_limits(organization=organization, now=now)
        if any(row.source == LimitSource.LEGACY for row in rows):
            highlighted = LimitTier.LEGACY
        else:
            highlighted = TIER_LIMIT_COLUMN[Tier(tier)]
    return LimitTable(
        columns=[(column.value, column.label) for column in columns],
        rows=[(model, [limits.get((model.pk, column)) for column in columns]) for model in models],
        highlighted=highlighted,
    )


# What each tier's customers can expect from support. Product copy rather than staff data:
# changing it changes a promise, which goes through a code review.
SUPPORT_LEVELS = {
    Tier.EXPLORE: "Community: documentation and the community forum",
    Tier.BUILD: "Email: our support team answers by email within two business days",
    Tier.SCALE: "Priority: email with a one-business-day first response",
    Tier.ENTERPRISE: "Dedicated: a named contact and a response time agreed in your contract",
}

# The two models the pricing page quotes as rate-limit examples.
EXAMPLE_MODEL_SLUGS = ("solar-pro-2", "information-extract")


@dataclass(frozen=True)
class ExampleLimit:
    model_name: str
    requests_per_second: int


@dataclass(frozen=True)
class TierOffer:
    tier: str
    label: str
    period: str
    min_amount_cents: int
    # The bonus a single purchase of exactly the threshold earns.
    bonus_percent: Decimal
    limit_column_label: str
    example_limits: list[ExampleLimit]
    support: str


def pricing_tiers(*, period: str) -> list[TierOffer]:
    """Explore, Build and Scale as sold per `period` (monthly or yearly), cheapest first."""
    thresholds = TierThreshold.objects.filter(period=period).order_by("min_amount_cents")
    limits = RateLimit.objects.filter(api_model__slug__in=EXAMPLE_MODEL_SLUGS).select_related(
        "api_model"
    )
    by_column: dict[str, list[ExampleLimit]] = {}
    for limit in sorted(limits, key=lambda row: EXAMPLE_MODEL_SLUGS.index(row.api_model.slug)):
        by_column.setdefault(limit.tier, []).append(
            ExampleLimit(limit.api_model.name, limit.requests_per_second)
        )
    offers = []
    for threshold in thresholds:
        tier = Tier(threshold.tier)
        column = TIER_LIMIT_COLUMN[tier]
        offers.append(
            TierOffer(
                tier=tier,
                label=tier.label,
                period=period,
                min_amount_cents=threshold.min_amount_cents,
                bonus_percent=bonus_for_amount(amount_cents=threshold.min_amount_cents).percent,
                limit_column_label=column.label,
                example_limits=by_column.get(column, []),
                support=SUPPORT_LEVELS.get(tier, ""),
            )
        )
    return offers


@dataclass(frozen=True)
class LegacyNote:
    created_before: date
    until: date
    # Past the end date the page says the transition is over instead.
    ended: bool


def legacy_note(*, today: date) -> LegacyNote:
    policy = BillingPolicy.current()
    return LegacyNote(
        policy.legacy_created_before, policy.legacy_until, today >= policy.legacy_until
    )


def estimator_models() -> list[ApiModel]:
    return list(ApiModel.objects.filter(active=True).order_by("sort_order", "name"))


def active_program_grants(*, organization: Organization, at: datetime) -> list[ProgramGrant]:
    """Grants covering the organization at `at`, for the credit page (soonest end first)."""
    return list(
        ProgramGrant.objects.filter(organization=organization, starts_at__lte=at, ends_at__gt=at)
        .filter(Q(revoked_at__isnull=True) | Q(revoked_at__gt=at))
        .prefetch_related("api_models")
        .order_by("ends_at")
    )


# Stripe: saved cards and purchases (receipts).


def payment_methods_of(*, organization: Organization):
    """The organization's saved cards, the default first."""
    return PaymentMethod.objects.filter(customer__organization=organization)


def purchases_of(*, organization: Organization):
    return Purchase.objects.filter(organization=organization)
def organizations_with_program_grants(*, organization_ids: set[int]) -> set[int]:
    """Which of these organizations hold any program grant at all (past, present or future)."""
    return set(
        ProgramGrant.objects.filter(organization_id__in=organization_ids).values_list(
            "organization_id", flat=True
        )
    )


def has_usage_history(*, organization: Organization) -> bool:
    """Whether the API was ever used: from the first recorded event on, no purchase of the
    organization is refundable (free program usage counts too)."""
    return UsageEvent.objects.filter(organization=organization).exists()


def api_key_for(*, raw_key: str) -> ApiKey | None:
    """The active key a client presented, else None (unknown and revoked alike)."""
    return ApiKey.objects.filter(key_hash=hash_api_key(raw_key), revoked_at__isnull=True).first()


def day_start(day: date) -> datetime:
    """Midnight UTC starting `day`: the portal's days are UTC days."""
    return datetime.combine(day, time.min, tzinfo=dt_timezone.utc)


@dataclass(frozen=True)
class DailyUsage:
    day: date
    model_name: str
    model_slug: str
    events: int
    input_tokens: int
    output_tokens: int
    pages: int
    cost_micros: int


def daily_usage(*, organization: Organization, start: date, end: date) -> list[DailyUsage]:
    """Usage per UTC day and model from `start` to `end` inclusive, summed in SQL (one query)."""
    rows = (
        UsageEvent.objects.filter(
            organization=organization,
            occurred_at__gte=day_start(start),
            occurred_at__lt=day_start(end + timedelta(days=1)),
        )
        .annotate(day=TruncDate("occurred_at", tzinfo=dt_timezone.utc))
        .values("day", "api_model__name", "api_model__slug", "api_model__sort_order")
        .annotate(
            events=Count("pk"),
            input_tokens_sum=Sum("input_tokens"),
            output_tokens_sum=Sum("output_tokens"),
            pages_sum=Sum("pages"),
            cost=Sum("cost_micros"),
        )
        .order_by("day", "api_model__sort_order", "api_model__name")
    )
    return [
        DailyUsage(
            day=row["day"],
            model_name=row["api_model__name"],
            model_slug=row["api_model__slug"],
            events=row["events"],
            input_tokens=row["input_tokens_sum"],
            output_tokens=row["output_tokens_sum"],
            pages=row["pages_sum"],
            cost_micros=row["cost"],
        )
        for row in rows
    ]


def ledger_entries(
    *, organization: Organization, kind: str = "", start: date | None = None, end: date | None = None
) -> QuerySet[LedgerEntry]:
    """The organization's ledger, newest first, filtered by entry kind and UTC days."""
    entries = LedgerEntry.objects.filter(account__organization=organization)
    if kind:
        entries = entries.filter(kind=kind)
    if start is not None:
        entries = entries.filter(created_at__gte=day_start(start))
    if end is not None:
        entries = entries.filter(created_at__lt=day_start(end + timedelta(days=1)))
    return entries.select_related("lot").order_by("-created_at", "-pk")


def ledger_invariant_violations() -> list[str]:
    """Every broken ledger rule in the database, in words; empty when the books are right.

    Three aggregate queries whatever the size of the ledger."""
    problems = []
    entry_sums = dict(
        LedgerEntry.objects.values("account_id")
        .annotate(total=Sum("amount_micros"))
        .values_list("account_id", "total")
    )
    lot_sums = dict(
        CreditLot.objects.values("account_id")
        .annotate(total=Sum("remaining_micros"))
        .values_list("account_id", "total")
    )
    for account_id, balance in CreditAccount.objects.values_list("pk", "balance_micros"):
        entries, lots = entry_sums.get(account_id, 0), lot_sums.get(account_id, 0)
        if not balance == entries == lots:
            problems.append(
                f"account {account_id}: balance {balance} != entries {entries} / lots {lots}"
            )
    lots = CreditLot.objects.annotate(entry_total=Sum("entries__amount_micros")).values_list(
        "pk", "kind", "remaining_micros", "original_micros", "entry_total"
    )
    for pk, kind, remaining, original, entry_total in lots:
        if remaining != (entry_total or 0):
            problems.append(f"lot {pk}: remaining {remaining} != its entries {entry_total}")
        if kind == LotKind.OVERAGE and remaining > 0:
            problems.append(f"lot {pk}: overage lot above zero ({remaining})")
        if kind != LotKind.OVERAGE and not 0 <= remaining <= original:
            problems.append(f"lot {pk}: {kind} lot outside 0..{original} ({remaining})")
    return problems


def estimator_prefill(*, organization: Organization, now: datetime) -> dict[str, str]:
    """The estimator's fields filled with the organization's last 30 days of usage (tokens
    in millions to three places, pages as counted), as GET data for EstimatorForm."""
    since = now - timedelta(days=30)
    totals = (
        UsageEvent.objects.filter(organization=organization, occurred_at__gte=since)
        .values("api_model__slug")
        .annotate(
            input_tokens=Sum("input_tokens"),
            output_tokens=Sum("output_tokens"),
            pages=Sum("pages"),
        )
    )
    million = Decimal(1_000_000)
    data = {"peak_rps": "0"}
    for row in totals:
        slug = row["api_model__slug"]
        data[f"{slug}-input"] = str((Decimal(row["input_tokens"] or 0) / million).quantize(Decimal("0.001")))
        data[f"{slug}-output"] = str((Decimal(row["output_tokens"] or 0) / million).quantize(Decimal("0.001")))
        data[f"{slug}-pages"] = str(row["pages"] or 0)
    return data
