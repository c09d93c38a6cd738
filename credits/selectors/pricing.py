"""Pricing page and estimator reads."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from accounts.models import Organization
from credits.models import (
    TIER_LIMIT_COLUMN,
    ApiModel,
    RateLimit,
    Tier,
    TierThreshold,
)
from credits.money import price_micros
from credits.selectors.tiers import bonus_for_amount
from credits.selectors.usage import usage_totals_by_model

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


def estimator_models() -> list[ApiModel]:
    return list(ApiModel.objects.filter(active=True).order_by("sort_order", "name"))



def estimator_prefill(*, organization: Organization, now: datetime) -> dict[str, str]:
    """The estimator's fields filled with the organization's last 30 UTC days of usage (tokens
    in millions to three places, pages as counted), as GET data for EstimatorForm; read from
    the daily rollups."""
    today = now.date()
    totals = usage_totals_by_model(
        organization=organization, start=today - timedelta(days=29), end=today
    )
    million = Decimal(1_000_000)
    data = {"peak_rps": "0"}
    for row in totals:
        slug = row.model_slug
        data[f"{slug}-input"] = str((Decimal(row.input_tokens) / million).quantize(Decimal("0.001")))
        data[f"{slug}-output"] = str((Decimal(row.output_tokens) / million).quantize(Decimal("0.001")))
        data[f"{slug}-pages"] = str(row.pages)
    return data


def price_usage(*, api_model: ApiModel, input_tokens: int, output_tokens: int, pages: int) -> int:
    """The catalog price of one call in micro-dollars: the one pricing rule, used by usage
    ingest and the estimator alike. Input and output are rounded each on its own (half-up,
    money.price_micros), as a statement lists them."""
    return (
        price_micros(input_tokens, api_model.input_micros_per_million)
        + price_micros(output_tokens, api_model.output_micros_per_million)
        + pages * api_model.page_micros
    )
