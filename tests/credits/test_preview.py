from datetime import UTC, date, datetime

import pytest

from credits.exceptions import InvalidAmount
from credits.models import PeriodKind, Tier
from credits.services.purchases import preview_purchase
from credits.services.recharge import preview_recharge
from tests.factories import OrganizationFactory, paid_purchase

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 9, tzinfo=UTC)


def test_preview_for_a_new_organization():
    preview = preview_purchase(organization=OrganizationFactory(), amount_cents=50_000, now=NOW)

    assert (preview.bonus_cents, preview.total_cents, preview.total_micros) == (2_500, 52_500, 525_000_000)
    assert (preview.tier_now, preview.tier_reached, preview.raises_tier) == (Tier.NONE, Tier.BUILD, True)
    assert preview.bonus_expires_at == datetime(2026, 4, 10, tzinfo=UTC)
    assert (preview.period_starts_on, preview.period_ends_on) == (date(2026, 3, 10), date(2026, 4, 10))
    assert (preview.days_left, preview.days_in_period) == (31, 31)
    solar = next(row for row in preview.limits_unlocked if row.model_slug == "solar-pro-2")
    assert solar.requests_per_second == 50
    assert "Apr 10, 2026" in preview.later_in_period_hint


def test_preview_adds_up_the_period_and_shows_less_time_later_in_it():
    organization = OrganizationFactory()
    paid_purchase(organization, 40_000, datetime(2026, 3, 1, tzinfo=UTC))

    preview = preview_purchase(
        organization=organization, amount_cents=10_000, now=datetime(2026, 3, 25, tzinfo=UTC)
    )

    assert (preview.tier_now, preview.tier_reached) == (Tier.EXPLORE, Tier.BUILD)
    assert (preview.days_left, preview.days_in_period) == (7, 31)
    assert preview.bonus_cents == 300


def test_preview_without_bonus_has_no_expiry():
    preview = preview_purchase(organization=OrganizationFactory(), amount_cents=9_999, now=NOW)

    assert (preview.bonus_cents, preview.bonus_expires_at, preview.tier_reached) == (0, None, Tier.NONE)


def test_yearly_plan_preview_uses_yearly_thresholds():
    preview = preview_recharge(
        organization=OrganizationFactory(),
        amount_cents=120_000,
        frequency=PeriodKind.YEARLY,
        billing_date=NOW.date(),
        now=NOW,
    ).purchase

    assert preview.tier_reached == Tier.EXPLORE
    assert preview.period_ends_on == date(2027, 3, 10)
    assert preview.bonus_expires_at == datetime(2027, 3, 10, tzinfo=UTC)


@pytest.mark.parametrize("cents", [999, 10_000_001, 0, -5])
def test_amounts_outside_limits_are_refused(cents):
    with pytest.raises(InvalidAmount):
        preview_purchase(organization=OrganizationFactory(), amount_cents=cents, now=NOW)
