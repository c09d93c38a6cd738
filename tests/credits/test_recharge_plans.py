from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from accounts.models import Role
from credits.exceptions import CreditsError
from credits.models import AutoRecharge, CreditAccount, PeriodKind, RechargeStatus, Tier
from credits.services.recharge import (
    RechargeSettings,
    charge_dates,
    preview_recharge,
    recharge_save,
    recharge_terminate,
)
from tests.factories import (
    MembershipFactory,
    OrganizationFactory,
    PaymentMethodFactory,
    StripeCustomerFactory,
    paid_purchase,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 1, 20, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("billing", "frequency", "after", "expected"),
    [
        (date(2026, 1, 31), "monthly", date(2026, 1, 20),
         [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]),
        (date(2028, 1, 31), "monthly", date(2028, 2, 1),
         [date(2028, 2, 29), date(2028, 3, 31), date(2028, 4, 30), date(2028, 5, 31)]),
        (date(2028, 2, 29), "yearly", date(2028, 1, 1),
         [date(2028, 2, 29), date(2029, 2, 28), date(2030, 2, 28), date(2031, 2, 28)]),
        (date(2026, 3, 15), "monthly", date(2026, 3, 16),
         [date(2026, 4, 15), date(2026, 5, 15), date(2026, 6, 15), date(2026, 7, 15)]),
    ],
)
def test_charge_dates_clamp_to_month_ends(billing, frequency, after, expected):
    assert charge_dates(billing_date=billing, frequency=frequency, on_or_after=after, count=4) == expected


def test_start_sets_the_commitment_period_to_follow_the_plan():
    organization = OrganizationFactory()

    plan = recharge_save(
        organization=organization,
        settings=RechargeSettings(amount_cents=120_000, frequency="yearly", billing_date=date(2026, 1, 31)),
        user=None,
        now=NOW,
        refund_policy_accepted=True,
    )

    account = CreditAccount.objects.get(organization=organization)
    assert (account.period_kind, account.anchor_date) == (PeriodKind.YEARLY, date(2026, 1, 31))
    assert (plan.status, plan.next_charge_on) == (RechargeStatus.ACTIVE, date(2026, 1, 31))


def test_editing_the_date_moves_the_next_charge_and_other_edits_keep_it():
    organization = OrganizationFactory()
    settings = RechargeSettings(amount_cents=10_000, frequency="monthly", billing_date=date(2026, 1, 25))
    recharge_save(
        organization=organization, settings=settings, user=None, now=NOW, refund_policy_accepted=True
    )

    plan = recharge_save(
        organization=organization,
        settings=RechargeSettings(amount_cents=50_000, frequency="monthly", billing_date=date(2026, 1, 25)),
        user=None,
        now=NOW,
        refund_policy_accepted=True,
    )
    assert (plan.amount_cents, plan.next_charge_on) == (50_000, date(2026, 1, 25))

    plan = recharge_save(
        organization=organization,
        settings=RechargeSettings(amount_cents=50_000, frequency="monthly", billing_date=date(2026, 2, 3)),
        user=None,
        now=NOW,
        refund_policy_accepted=True,
    )
    assert plan.next_charge_on == date(2026, 2, 3)


@pytest.mark.parametrize(
    ("plan_settings", "code"),
    [
        (
            RechargeSettings(amount_cents=999, frequency="monthly", billing_date=date(2026, 2, 1)),
            "invalid_amount",
        ),
        (
            RechargeSettings(amount_cents=10_000, frequency="weekly", billing_date=date(2026, 2, 1)),
            "invalid_frequency",
        ),
        (
            RechargeSettings(amount_cents=10_000, frequency="monthly", billing_date=date(2026, 1, 19)),
            "date_in_past",
        ),
        (
            RechargeSettings(
                amount_cents=10_000,
                frequency="monthly",
                billing_date=date(2026, 2, 1),
                threshold_enabled=True,
                threshold_micros=0,
                max_threshold_cents=10_000,
            ),
            "invalid_threshold",
        ),
        (
            RechargeSettings(
                amount_cents=10_000,
                frequency="monthly",
                billing_date=date(2026, 2, 1),
                threshold_enabled=True,
                threshold_micros=5,
                max_threshold_recharges=11,
                max_threshold_cents=10_000,
            ),
            "invalid_cap",
        ),
        (
            RechargeSettings(
                amount_cents=10_000,
                frequency="monthly",
                billing_date=date(2026, 2, 1),
                threshold_enabled=True,
                threshold_micros=5,
                max_threshold_cents=9_999,
            ),
            "invalid_cap",
        ),
    ],
)
def test_bad_settings_are_refused_and_nothing_is_written(plan_settings, code):
    with pytest.raises(CreditsError) as error:
        recharge_save(
            organization=OrganizationFactory(), settings=plan_settings, user=None, now=NOW,
            refund_policy_accepted=True,
        )

    assert error.value.code == code
    assert AutoRecharge.objects.count() == 0


def test_terminate_stops_the_plan_and_keeps_the_balance():
    organization = OrganizationFactory()
    paid_purchase(organization, 10_000, NOW)
    recharge_save(
        organization=organization,
        settings=RechargeSettings(amount_cents=10_000, frequency="monthly", billing_date=date(2026, 2, 1)),
        user=None,
        now=NOW,
        refund_policy_accepted=True,
    )

    plan = recharge_terminate(organization=organization, now=NOW)

    assert (plan.status, plan.terminated_at) == (RechargeStatus.TERMINATED, NOW)
    assert CreditAccount.objects.get(organization=organization).balance_micros == 103_000_000
    with pytest.raises(CreditsError):
        recharge_terminate(organization=organization, now=NOW)


def test_preview_monthly_and_yearly():
    organization = OrganizationFactory()

    monthly = preview_recharge(organization=organization, amount_cents=10_000, frequency="monthly",
                               billing_date=date(2026, 1, 31), now=NOW)
    yearly = preview_recharge(organization=organization, amount_cents=10_000, frequency="yearly",
                              billing_date=date(2026, 1, 31), now=NOW)

    assert (monthly.purchase.bonus_cents, monthly.tier_per_period) == (300, Tier.EXPLORE)
    assert (monthly.yearly_total_cents, monthly.yearly_bonus_cents) == (120_000, 3_600)
    assert monthly.next_charges == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]
    assert yearly.tier_per_period == Tier.NONE  # $100 a year is under the $1,200 yearly threshold
    assert yearly.yearly_total_cents == 10_000


def test_page_preview_is_a_partial_for_htmx(owner_client):
    response = owner_client.get(
        reverse("credits:auto_recharge"),
        {"amount": "500", "frequency": "monthly", "billing_date": "2099-01-31"},
        headers={"HX-Request": "true"},
    )

    body = response.content.decode()
    assert body.lstrip().startswith('<section class="card" aria-labelledby="preview-heading"')
    assert '<dd id="preview-tier">Build</dd>' in body
    assert "$25.00 (5%)" in body


def test_start_edit_and_terminate_through_the_page(owner_client, owner):
    PaymentMethodFactory(customer=StripeCustomerFactory(organization=owner.organization), is_default=True)
    data = {"amount": "100", "frequency": "monthly", "billing_date": "2099-01-31", "save": "1"}
    assert owner_client.post(reverse("credits:auto_recharge"), data).status_code == 400
    accepted = {**data, "accept_refund_policy": "on"}
    started = owner_client.post(reverse("credits:auto_recharge"), accepted, follow=True).content.decode()
    assert "Auto-recharge started: $100.00 monthly, first charge on Jan 31, 2099." in started
    assert "Changes apply" not in started

    # Editing under the same policy version does not ask again.
    edited = owner_client.post(reverse("credits:auto_recharge"), {**data, "amount": "500"}, follow=True)
    assert "Auto-recharge updated: $500.00 monthly." in edited.content.decode()
    plan = AutoRecharge.objects.get(organization=owner.organization)
    assert plan.amount_cents == 50_000

    confirm = owner_client.get(reverse("credits:auto_recharge_terminate")).content.decode()
    assert "Credits you already bought stay in your balance" in confirm
    owner_client.post(reverse("credits:auto_recharge_terminate"))
    plan.refresh_from_db()
    assert plan.status == RechargeStatus.TERMINATED
    page = owner_client.get(reverse("credits:credit")).content.decode()
    assert "Terminated" in page


def test_without_a_saved_card_the_plan_cannot_be_saved(owner_client):
    page = owner_client.get(reverse("credits:auto_recharge")).content.decode()
    assert "My default card" not in page
    assert 'id="no-card"' in page
    assert 'name="save" value="1" class="button" disabled' in page

    response = owner_client.post(
        reverse("credits:auto_recharge"),
        {"amount": "100", "frequency": "monthly", "billing_date": "2099-01-31", "save": "1"},
    )
    assert response.status_code == 400
    assert "Add a card under Payment methods first" in response.content.decode()
    assert AutoRecharge.objects.count() == 0


def test_bad_amount_shows_a_clear_message(owner_client):
    response = owner_client.post(
        reverse("credits:auto_recharge"),
        {"amount": "10.001", "frequency": "monthly", "billing_date": "2099-01-31", "save": "1"},
    )

    assert response.status_code == 400
    assert "Use whole cents" in response.content.decode()
    assert AutoRecharge.objects.count() == 0


def test_member_can_view_but_not_change(client):
    member = MembershipFactory(role=Role.MEMBER)
    client.force_login(member.user)

    assert client.get(reverse("credits:auto_recharge")).status_code == 200
    response = client.post(
        reverse("credits:auto_recharge"),
        {"amount": "100", "frequency": "monthly", "billing_date": "2099-01-31", "save": "1"},
    )
    assert response.status_code == 403
    assert client.post(reverse("credits:auto_recharge_terminate")).status_code == 403
    assert AutoRecharge.objects.count() == 0


def test_preview_lists_the_limits_of_the_models_staff_feature(owner_client):
    from credits.models import ApiModel

    # Featured is staff-edited data, not slugs in the template.
    ApiModel.objects.filter(slug="information-extract").update(featured=False)
    ApiModel.objects.filter(slug="solar-mini").update(featured=True)
    body = owner_client.get(
        reverse("credits:auto_recharge"),
        {"amount": "500", "frequency": "monthly", "billing_date": "2099-01-31"},
        headers={"HX-Request": "true"},
    ).content.decode()

    assert "<li>Solar Mini: 80 req/s</li>" in body
    assert "Information Extract:" not in body
    assert "Solar Pro 2: 50 req/s" in body


def test_the_legacy_note_follows_the_table_flag(client):
    from credits.models import BillingPolicy

    note = "keep Legacy limits until"
    BillingPolicy.objects.update(legacy_until="2099-01-01")
    assert note in client.get(reverse("credits:rate_limits")).content.decode()
    BillingPolicy.objects.update(legacy_until="2000-01-01")
    assert note not in client.get(reverse("credits:rate_limits")).content.decode()
