"""The pricing page's cost estimator: monthly volumes in; cost, tier, plan, bonus and limits out.

It only reads (prices, thresholds, the bonus schedule, rate limits) and writes nothing, so it
is a selector and the page can call it on every keystroke.
"""

from dataclasses import dataclass

from credits.exceptions import InvalidEstimate
from credits.models import (
    TIER_LIMIT_COLUMN,
    TIER_RANK,
    ApiModel,
    RateLimit,
    Tier,
    TierThreshold,
)
from credits.money import micros_to_cents_ceil
from credits.selectors.pricing import price_usage
from credits.selectors.tiers import Bonus, bonus_for_amount, tier_for_amount

# A trillion tokens or a hundred million pages a month is far past any self-serve account;
# anything larger is a typo or an Enterprise conversation.
MAX_TOKENS = 1_000_000_000_000
MAX_PAGES = 100_000_000
MAX_PEAK_RPS = 100_000

# The tiers a customer reaches by buying; Enterprise is arranged with staff.
SELF_SERVE_TIERS = (Tier.NONE, Tier.EXPLORE, Tier.BUILD, Tier.SCALE)


@dataclass(frozen=True)
class EstimateLine:
    api_model: ApiModel
    input_tokens: int = 0
    output_tokens: int = 0
    pages: int = 0


@dataclass(frozen=True)
class LineCost:
    line: EstimateLine
    cost_micros: int


@dataclass(frozen=True)
class PlanOption:
    """Buying the estimated usage once per period of this kind."""

    period: str
    purchase_cents: int
    tier: str
    bonus: Bonus

    @property
    def tier_label(self) -> str:
        return Tier(self.tier).label


@dataclass(frozen=True)
class LimitCheck:
    model_name: str
    requests_per_second: int | None
    covers_peak: bool


@dataclass(frozen=True)
class Estimate:
    lines: list[LineCost]
    monthly_micros: int
    peak_rps: int
    monthly: PlanOption
    yearly: PlanOption
    suggested: PlanOption
    # The chosen models' limits in the suggested tier's column, against the peak.
    limit_checks: list[LimitCheck]
    # The lowest self-serve tier whose limits cover the peak on every chosen model;
    # Enterprise when even Scale does not.
    tier_for_peak: str
    # What to buy each month to reach `tier_for_peak` when the cost alone does not.
    monthly_cents_for_peak: int | None

    @property
    def monthly_cents(self) -> int:
        return self.monthly.purchase_cents

    @property
    def limits_cover_peak(self) -> bool:
        return all(check.covers_peak for check in self.limit_checks)

    @property
    def tier_for_peak_label(self) -> str:
        return Tier(self.tier_for_peak).label

    @property
    def needs_higher_tier_for_peak(self) -> bool:
        return TIER_RANK[Tier(self.tier_for_peak)] > TIER_RANK[Tier(self.suggested.tier)]


def line_cost_micros(line: EstimateLine) -> int:
    return price_usage(
        api_model=line.api_model,
        input_tokens=line.input_tokens,
        output_tokens=line.output_tokens,
        pages=line.pages,
    )


def _validate(lines: list[EstimateLine], peak_rps: int) -> None:
    for line in lines:
        if min(line.input_tokens, line.output_tokens, line.pages) < 0:
            raise InvalidEstimate("Volumes cannot be negative.")
        if max(line.input_tokens, line.output_tokens) > MAX_TOKENS or line.pages > MAX_PAGES:
            raise InvalidEstimate("That volume is beyond self-serve; contact us for Enterprise.")
    if not 0 <= peak_rps <= MAX_PEAK_RPS:
        raise InvalidEstimate(f"Peak requests per second must be between 0 and {MAX_PEAK_RPS}.")


def _plan(*, period: str, purchase_cents: int) -> PlanOption:
    return PlanOption(
        period=period,
        purchase_cents=purchase_cents,
        tier=tier_for_amount(kind=period, purchased_cents=purchase_cents),
        bonus=bonus_for_amount(amount_cents=purchase_cents),
    )


def _rps_by_model(tier: str, model_ids: list[int]) -> dict[int, int]:
    return dict(
        RateLimit.objects.filter(
            tier=TIER_LIMIT_COLUMN[Tier(tier)], api_model_id__in=model_ids
        ).values_list("api_model_id", "requests_per_second")
    )


def _tier_for_peak(model_ids: list[int], peak_rps: int) -> str:
    for tier in SELF_SERVE_TIERS:
        rps = _rps_by_model(tier, model_ids)
        if all(rps.get(pk, 0) >= peak_rps for pk in model_ids):
            return tier
    return Tier.ENTERPRISE


def estimate_costs(*, lines: list[EstimateLine], peak_rps: int) -> Estimate:
    """Price a month of the given usage and say which tier and plan fit it.

    The plan rule: the monthly plan buys the month's cost every month and is judged against
    the monthly thresholds; the yearly plan buys twelve months' cost at once and is judged
    against the yearly thresholds. We suggest the yearly plan only when it reaches a higher
    tier than the monthly one. On a tie we suggest monthly: the limits are the same, and
    paying a year ahead ties up money for a larger bonus the page shows beside it, a trade
    the customer should choose knowingly rather than be steered into.
    """
    _validate(lines, peak_rps)
    costs = [LineCost(line, line_cost_micros(line)) for line in lines]
    monthly_micros = sum(cost.cost_micros for cost in costs)
    # Credits are bought in whole cents, so a month costing $99.994 needs $100.00 bought.
    monthly_cents = micros_to_cents_ceil(monthly_micros)
    monthly = _plan(period=TierThreshold.Period.MONTHLY, purchase_cents=monthly_cents)
    yearly = _plan(period=TierThreshold.Period.YEARLY, purchase_cents=monthly_cents * 12)
    suggested = yearly if TIER_RANK[Tier(yearly.tier)] > TIER_RANK[Tier(monthly.tier)] else monthly

    used = [line for line in lines if line.input_tokens or line.output_tokens or line.pages]
    model_ids = [line.api_model.pk for line in used]
    rps = _rps_by_model(suggested.tier, model_ids)
    checks = [
        LimitCheck(
            model_name=line.api_model.name,
            requests_per_second=rps.get(line.api_model.pk),
            covers_peak=rps.get(line.api_model.pk, 0) >= peak_rps,
        )
        for line in used
    ]
    tier_for_peak = _tier_for_peak(model_ids, peak_rps)
    monthly_cents_for_peak = None
    if TIER_RANK[Tier(tier_for_peak)] > TIER_RANK[Tier(suggested.tier)]:
        threshold = TierThreshold.objects.filter(
            tier=tier_for_peak, period=TierThreshold.Period.MONTHLY
        ).first()
        monthly_cents_for_peak = threshold.min_amount_cents if threshold else None
    return Estimate(
        lines=costs,
        monthly_micros=monthly_micros,
        peak_rps=peak_rps,
        monthly=monthly,
        yearly=yearly,
        suggested=suggested,
        limit_checks=checks,
        tier_for_peak=tier_for_peak,
        monthly_cents_for_peak=monthly_cents_for_peak,
    )
