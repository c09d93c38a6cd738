"""estimate_costs: prices to the micro-dollar, the tier and plan at each threshold, limits vs peak."""

from decimal import Decimal

import pytest

from credits.exceptions import InvalidEstimate
from credits.models import ApiModel, Tier, TierThreshold
from credits.selectors.estimator import EstimateLine, estimate_costs

pytestmark = pytest.mark.django_db


def _model(slug: str) -> ApiModel:
    return ApiModel.objects.get(slug=slug)


def _pages(count: int, slug: str = "document-parse") -> EstimateLine:
    return EstimateLine(api_model=_model(slug), pages=count)


def test_llm_tokens_are_priced_half_up_to_the_micro_dollar():
    # Solar Pro 2: $0.15 / $0.60 per 1M tokens.
    # 1,234,567 x 0.15 = 185,185.05 µ$ -> 185,185; 765,432 x 0.60 = 459,259.2 µ$ -> 459,259.
    line = EstimateLine(
        api_model=_model("solar-pro-2"), input_tokens=1_234_567, output_tokens=765_432
    )

    estimate = estimate_costs(lines=[line], peak_rps=0)

    assert estimate.lines[0].cost_micros == 644_444
    assert estimate.monthly_micros == 644_444
    # Credits are bought in whole cents: 64.4444 cents needs 65.
    assert estimate.monthly_cents == 65
    assert estimate.suggested.tier == Tier.NONE
    assert estimate.suggested.bonus.cents == 0


def test_a_half_micro_dollar_rounds_up():
    # 10 tokens x $0.15/1M = 1.5 µ$.
    line = EstimateLine(api_model=_model("solar-pro-2"), input_tokens=10)

    estimate = estimate_costs(lines=[line], peak_rps=0)

    assert estimate.monthly_micros == 2
    assert estimate.monthly_cents == 1


def test_a_mix_of_llm_embedding_and_document_models():
    lines = [
        # $15.00 + $30.00
        EstimateLine(
            api_model=_model("solar-pro-2"), input_tokens=100_000_000, output_tokens=50_000_000
        ),
        # 333,333,333 x $0.10/1M = 33,333,333.3 µ$ -> 33,333,333
        EstimateLine(api_model=_model("solar-embedding"), input_tokens=333_333_333),
        # 1,250 pages x $0.04
        _pages(1_250, "information-extract"),
        # Unused models cost nothing and are not checked against the peak.
        EstimateLine(api_model=_model("solar-mini")),
    ]

    estimate = estimate_costs(lines=lines, peak_rps=5)

    assert [line.cost_micros for line in estimate.lines] == [
        45_000_000,
        33_333_333,
        50_000_000,
        0,
    ]
    assert estimate.monthly_micros == 128_333_333
    assert estimate.monthly_cents == 12_834
    assert estimate.monthly.tier == Tier.EXPLORE
    # 3% of $128.34 = 385.02 cents -> 385.
    assert estimate.monthly.bonus.percent == Decimal("3")
    assert estimate.monthly.bonus.cents == 385
    # Yearly: 12 x $128.34 = $1,540.08 reaches Explore too, 5% bonus = 7,700.4 -> 7,700 cents.
    assert estimate.yearly.purchase_cents == 154_008
    assert estimate.yearly.tier == Tier.EXPLORE
    assert estimate.yearly.bonus.cents == 7_700
    # Same tier either way: monthly is suggested.
    assert estimate.suggested == estimate.monthly
    # Explore limits, in the order of the lines: 30, 50 and 10 requests/s.
    assert [(c.model_name, c.requests_per_second) for c in estimate.limit_checks] == [
        ("Solar Pro 2", 30),
        ("Solar Embedding", 50),
        ("Information Extract", 10),
    ]
    assert estimate.limits_cover_peak


@pytest.mark.parametrize(
    ("pages", "tier"),
    [
        (0, Tier.NONE),
        (9_999, Tier.NONE),  # $99.99
        (10_000, Tier.EXPLORE),  # $100.00
        (49_999, Tier.EXPLORE),  # $499.99
        (50_000, Tier.BUILD),  # $500.00
        (499_999, Tier.BUILD),  # $4,999.99
        (500_000, Tier.SCALE),  # $5,000.00
    ],
)
def test_suggested_tier_at_each_monthly_threshold(pages, tier):
    # Document Parse is $0.01 a page, so pages are cents.
    estimate = estimate_costs(lines=[_pages(pages)], peak_rps=0)

    assert estimate.monthly_cents == pages
    assert estimate.suggested.tier == tier
    assert estimate.suggested.period == TierThreshold.Period.MONTHLY


def test_a_fraction_of_a_cent_over_the_threshold_counts_as_the_next_cent():
    # $99.99 of pages plus 1.5 µ$ of tokens must be bought as $100.00: Explore.
    lines = [_pages(9_999), EstimateLine(api_model=_model("solar-pro-2"), input_tokens=10)]

    estimate = estimate_costs(lines=lines, peak_rps=0)

    assert estimate.monthly_cents == 10_000
    assert estimate.suggested.tier == Tier.EXPLORE


@pytest.mark.parametrize(
    ("yearly_cents", "tier"),
    [(119_988, Tier.NONE), (120_000, Tier.EXPLORE), (600_000, Tier.BUILD), (6_000_000, Tier.SCALE)],
)
def test_yearly_plan_is_twelve_months_against_the_yearly_thresholds(yearly_cents, tier):
    estimate = estimate_costs(lines=[_pages(yearly_cents // 12)], peak_rps=0)

    assert estimate.yearly.purchase_cents == yearly_cents
    assert estimate.yearly.tier == tier


def test_yearly_is_suggested_only_when_it_reaches_a_higher_tier():
    # Staff make the yearly Explore threshold cheaper than 12 monthly ones.
    TierThreshold.objects.filter(tier=Tier.EXPLORE, period="yearly").update(min_amount_cents=60_000)

    estimate = estimate_costs(lines=[_pages(5_000)], peak_rps=0)  # $50.00 a month

    assert estimate.monthly.tier == Tier.NONE
    assert estimate.yearly.tier == Tier.EXPLORE
    assert estimate.suggested == estimate.yearly
    assert estimate.suggested.purchase_cents == 60_000
    assert estimate.suggested.bonus.cents == 3_000  # 5% of $600


def test_peak_within_the_suggested_tier_limits():
    # $100 a month: Explore, whose Solar Pro 2 limit is 30 requests/s.
    lines = [_pages(10_000), EstimateLine(api_model=_model("solar-pro-2"), input_tokens=1)]

    estimate = estimate_costs(lines=lines, peak_rps=10)

    assert estimate.suggested.tier == Tier.EXPLORE
    assert [(c.model_name, c.requests_per_second, c.covers_peak) for c in estimate.limit_checks] == [
        ("Document Parse", 10, True),
        ("Solar Pro 2", 30, True),
    ]
    assert estimate.limits_cover_peak
    assert estimate.monthly_cents_for_peak is None


def test_peak_above_the_suggested_tier_names_the_tier_and_purchase_it_needs():
    lines = [_pages(10_000)]  # Explore: Document Parse 10 requests/s

    estimate = estimate_costs(lines=lines, peak_rps=11)

    assert not estimate.limits_cover_peak
    assert estimate.tier_for_peak == Tier.BUILD
    assert estimate.needs_higher_tier_for_peak
    assert estimate.monthly_cents_for_peak == 50_000


def test_peak_beyond_scale_needs_enterprise():
    estimate = estimate_costs(lines=[_pages(500_000)], peak_rps=41)

    assert estimate.suggested.tier == Tier.SCALE
    assert not estimate.limits_cover_peak
    assert estimate.tier_for_peak == Tier.ENTERPRISE
    assert estimate.monthly_cents_for_peak is None


def test_base_limits_apply_below_explore():
    estimate = estimate_costs(
        lines=[EstimateLine(api_model=_model("solar-pro-2"), input_tokens=1_000)], peak_rps=10
    )

    assert estimate.suggested.tier == Tier.NONE
    assert estimate.limit_checks[0].requests_per_second == 10
    assert estimate.limits_cover_peak


@pytest.mark.parametrize(
    ("line_kwargs", "peak"),
    [({"pages": -1}, 0), ({"input_tokens": 10**12 + 1}, 0), ({}, -1), ({}, 100_001)],
)
def test_out_of_range_input_is_refused(line_kwargs, peak):
    line = EstimateLine(api_model=_model("solar-pro-2"), **line_kwargs)

    with pytest.raises(InvalidEstimate) as caught:
        estimate_costs(lines=[line], peak_rps=peak)

    assert caught.value.code == "invalid_estimate"
