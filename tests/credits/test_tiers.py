from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from credits.models import BonusRate, CreditAccount, PeriodKind, Tier
from credits.selectors.periods import period_bounds
from credits.selectors.tiers import bonus_for_amount, current_tier, tier_for_amount
from tests.factories import OrganizationFactory, paid_purchase

pytestmark = pytest.mark.django_db


def at(year, month, day, hour=12):
    return datetime(year, month, day, hour, tzinfo=UTC)


@pytest.mark.parametrize(
    ("anchor", "on", "starts", "ends"),
    [
        # Billing day 31 in February: clamps to the 28th, and to the 29th in a leap year.
        (date(2026, 1, 31), date(2026, 2, 15), date(2026, 1, 31), date(2026, 2, 28)),
        (date(2026, 1, 31), date(2026, 2, 28), date(2026, 2, 28), date(2026, 3, 31)),
        (date(2028, 1, 31), date(2028, 2, 28), date(2028, 1, 31), date(2028, 2, 29)),
        (date(2028, 1, 31), date(2028, 2, 29), date(2028, 2, 29), date(2028, 3, 31)),
        (date(2026, 1, 30), date(2026, 4, 30), date(2026, 4, 30), date(2026, 5, 30)),
        (date(2026, 1, 29), date(2026, 3, 1), date(2026, 2, 28), date(2026, 3, 29)),
        (date(2026, 3, 15), date(2026, 3, 14), date(2026, 2, 15), date(2026, 3, 15)),
        (date(2026, 12, 31), date(2027, 1, 5), date(2026, 12, 31), date(2027, 1, 31)),
    ],
)
def test_monthly_period_bounds(anchor, on, starts, ends):
    bounds = period_bounds(anchor=anchor, kind=PeriodKind.MONTHLY, on=on)

    assert (bounds.starts_on, bounds.ends_on) == (starts, ends)


def test_yearly_period_from_leap_day():
    bounds = period_bounds(anchor=date(2028, 2, 29), kind=PeriodKind.YEARLY, on=date(2029, 3, 1))

    assert (bounds.starts_on, bounds.ends_on) == (date(2029, 2, 28), date(2030, 2, 28))


@pytest.mark.parametrize(
    ("kind", "cents", "tier"),
    [
        (PeriodKind.MONTHLY, 9_999, Tier.NONE),
        (PeriodKind.MONTHLY, 10_000, Tier.EXPLORE),
        (PeriodKind.MONTHLY, 49_999, Tier.EXPLORE),
        (PeriodKind.MONTHLY, 50_000, Tier.BUILD),
        (PeriodKind.MONTHLY, 499_999, Tier.BUILD),
        (PeriodKind.MONTHLY, 500_000, Tier.SCALE),
        (PeriodKind.YEARLY, 119_999, Tier.NONE),
        (PeriodKind.YEARLY, 120_000, Tier.EXPLORE),
        (PeriodKind.YEARLY, 600_000, Tier.BUILD),
        (PeriodKind.YEARLY, 5_999_999, Tier.BUILD),
        (PeriodKind.YEARLY, 6_000_000, Tier.SCALE),
    ],
)
def test_tier_thresholds_at_the_edges(kind, cents, tier):
    assert tier_for_amount(kind=kind, purchased_cents=cents) == tier


@pytest.mark.parametrize(
    ("cents", "percent", "bonus"),
    [
        (9_999, Decimal("0"), 0),
        (10_000, Decimal("3"), 300),
        (10_050, Decimal("3"), 302),  # 301.5 cents rounds half-up to 302
        (10_017, Decimal("3"), 301),  # 300.51 -> 301
        (49_999, Decimal("3"), 1_500),  # 1499.97 -> 1500
        (50_000, Decimal("5"), 2_500),
        (499_999, Decimal("5"), 25_000),  # 24999.95 -> 25000
        (500_000, Decimal("10"), 50_000),
    ],
)
def test_bonus_by_purchase_size_rounded_to_the_cent(cents, percent, bonus):
    result = bonus_for_amount(amount_cents=cents)

    assert (result.percent, result.cents) == (percent, bonus)


def test_bonus_schedule_is_data():
    BonusRate.objects.filter(min_amount_cents=10_000).update(percent=Decimal("4"))

    assert bonus_for_amount(amount_cents=10_000).cents == 400


def test_tier_rises_on_the_purchase_that_crosses_and_adds_up_in_the_period():
    organization = OrganizationFactory()
    paid_purchase(organization, 6_000, at(2026, 3, 10))
    account = CreditAccount.objects.get(organization=organization)
    assert current_tier(account=account, today=date(2026, 3, 10)) == Tier.NONE

    paid_purchase(organization, 4_000, at(2026, 3, 20))

    assert current_tier(account=account, today=date(2026, 3, 20)) == Tier.EXPLORE


def test_tier_held_through_the_next_period_then_dropped():
    organization = OrganizationFactory()
    paid_purchase(organization, 50_000, at(2026, 1, 31))  # anchor: the 31st
    account = CreditAccount.objects.get(organization=organization)

    # Period 1: Jan 31 - Feb 28. Period 2: Feb 28 - Mar 31 (no purchase): Build still held.
    assert current_tier(account=account, today=date(2026, 2, 27)) == Tier.BUILD
    assert current_tier(account=account, today=date(2026, 3, 30)) == Tier.BUILD
    # Period 3 starts Mar 31: nothing bought in period 2, so the tier drops.
    assert current_tier(account=account, today=date(2026, 3, 31)) == Tier.NONE


def test_a_late_renewal_keeps_the_tier_all_along():
    organization = OrganizationFactory()
    paid_purchase(organization, 10_000, at(2026, 1, 10))
    paid_purchase(organization, 10_000, at(2026, 2, 25))  # late in period 2
    account = CreditAccount.objects.get(organization=organization)

    for day in (date(2026, 2, 10), date(2026, 3, 9), date(2026, 3, 10), date(2026, 4, 9)):
        assert current_tier(account=account, today=day) == Tier.EXPLORE
    assert current_tier(account=account, today=date(2026, 4, 10)) == Tier.NONE


def test_enterprise_is_set_by_staff():
    organization = OrganizationFactory()
    CreditAccount.objects.filter(organization=organization).update(enterprise=True)
    account = CreditAccount.objects.get(organization=organization)

    assert current_tier(account=account, today=date(2026, 5, 1)) == Tier.ENTERPRISE
