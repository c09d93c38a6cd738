"""Reads for pages and the API."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Q

from accounts.models import Organization
from credits.models import (
    TIER_LIMIT_COLUMN,
    ApiModel,
    BillingPolicy,
    ProgramGrant,
    RateLimit,
    Tier,
    TierThreshold,
)
from credits.services.tiers import bonus_for_amount


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
