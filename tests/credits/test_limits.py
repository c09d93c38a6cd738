from datetime import UTC, date, datetime

import pytest

from credits.models import (
    BillingPolicy,
    CreditAccount,
    EnterpriseRateLimit,
    RateLimit,
    Tier,
)
from credits.selectors.limits import LimitSource, current_limits
from tests.factories import OrganizationFactory, paid_purchase

pytestmark = pytest.mark.django_db


def _by_slug(rows):
    return {row.model_slug: row for row in rows}


def test_seeded_limits_follow_the_pricing_page():
    expected = {"solar-pro-2": (30, 50, 80), "information-extract": (10, 20, 40)}
    for slug, (t1, t2, t3) in expected.items():
        got = dict(
            RateLimit.objects.filter(api_model__slug=slug).values_list("tier", "requests_per_second")
        )
        assert (got["tier1"], got["tier2"], got["tier3"]) == (t1, t2, t3)


def test_every_model_has_a_row_for_every_column():
    from credits.models import ApiModel, LimitTier

    for model in ApiModel.objects.all():
        assert set(model.rate_limits.values_list("tier", flat=True)) == set(LimitTier.values)


def test_tier_limits_after_a_purchase():
    organization = OrganizationFactory(created_at=datetime(2026, 2, 1, tzinfo=UTC))
    now = datetime(2026, 3, 1, tzinfo=UTC)
    paid_purchase(organization, 50_000, now)

    tier, rows = current_limits(organization=organization, now=now)

    assert tier == Tier.BUILD
    assert _by_slug(rows)["solar-pro-2"].requests_per_second == 50
    assert _by_slug(rows)["information-extract"].requests_per_second == 20
    assert _by_slug(rows)["solar-pro-2"].source == LimitSource.TIER


@pytest.mark.parametrize(
    ("created", "now", "legacy"),
    [
        (datetime(2025, 11, 3, 23, 59, tzinfo=UTC), datetime(2026, 1, 5, 23, 59, tzinfo=UTC), True),
        (datetime(2025, 11, 3, 23, 59, tzinfo=UTC), datetime(2026, 1, 6, 0, 0, tzinfo=UTC), False),
        (datetime(2025, 11, 4, 0, 0, tzinfo=UTC), datetime(2025, 12, 1, tzinfo=UTC), False),
        (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 7, tzinfo=UTC), False),
    ],
)
def test_legacy_limits_before_on_and_after_the_dates(created, now, legacy):
    organization = OrganizationFactory(created_at=created)

    _, rows = current_limits(organization=organization, now=now)

    solar = _by_slug(rows)["solar-pro-2"]
    assert (solar.source == LimitSource.LEGACY) is legacy
    assert solar.requests_per_second == (100 if legacy else 10)


def test_legacy_dates_are_editable_policy():
    organization = OrganizationFactory(created_at=datetime(2025, 12, 1, tzinfo=UTC))
    policy = BillingPolicy.current()
    policy.legacy_created_before = date(2026, 1, 1)
    policy.legacy_until = date(2026, 6, 1)
    policy.save()

    _, rows = current_limits(organization=organization, now=datetime(2026, 5, 1, tzinfo=UTC))

    assert _by_slug(rows)["solar-pro-2"].source == LimitSource.LEGACY


def test_a_tier_above_legacy_wins_during_the_legacy_window():
    organization = OrganizationFactory(created_at=datetime(2025, 1, 1, tzinfo=UTC))
    now = datetime(2025, 12, 1, tzinfo=UTC)
    paid_purchase(organization, 500_000, now)  # Scale: Information Extract 40 > Legacy 20

    _, rows = current_limits(organization=organization, now=now)

    by_slug = _by_slug(rows)
    assert (by_slug["information-extract"].requests_per_second, by_slug["information-extract"].source) == (
        40,
        LimitSource.TIER,
    )
    assert (by_slug["solar-pro-2"].requests_per_second, by_slug["solar-pro-2"].source) == (
        100,
        LimitSource.LEGACY,
    )


def test_enterprise_uses_custom_limits_per_model():
    organization = OrganizationFactory()
    CreditAccount.objects.filter(organization=organization).update(enterprise=True)
    from credits.models import ApiModel

    EnterpriseRateLimit.objects.create(
        organization=organization,
        api_model=ApiModel.objects.get(slug="solar-pro-2"),
        requests_per_second=500,
    )

    tier, rows = current_limits(organization=organization, now=datetime(2026, 3, 1, tzinfo=UTC))

    assert tier == Tier.ENTERPRISE
    assert _by_slug(rows)["solar-pro-2"].requests_per_second == 500
    assert _by_slug(rows)["solar-pro-2"].source == LimitSource.ENTERPRISE
    assert _by_slug(rows)["solar-mini"].requests_per_second == 300  # the Enterprise default
