"""The commitment-period timeline: named examples with frozen time (SPEC: Commitment periods)."""

import html
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from credits.exceptions import TimelineError
from credits.models import (
    CommitmentPeriod,
    CommitmentSchedule,
    CreditAccount,
    CreditLot,
    LotKind,
    PeriodKind,
    ScheduleSource,
    Tier,
)
from credits.selectors.credit import credit_summary
from credits.selectors.ledger import ledger_invariant_violations
from credits.selectors.periods import describe_termination, period_on
from credits.selectors.tiers import current_tier
from credits.services import locks, periods, recharge_jobs
from credits.services.purchases import preview_purchase, reverse_purchase
from credits.services.recharge import (
    RechargeSettings,
    preview_recharge,
    recharge_save,
    recharge_terminate,
)
from tests import fake_stripe
from tests.factories import MembershipFactory, OrganizationFactory, paid_purchase

pytestmark = pytest.mark.django_db


def at(year, month, day, hour=12):
    return datetime(year, month, day, hour, tzinfo=UTC)


@pytest.fixture
def card(monkeypatch):
    """Stripe, scripted: every charge is paid unless the test says otherwise."""
    return fake_stripe.ScriptedStripe(monkeypatch)


def timeline(organization):
    return [
        (p.kind, p.starts_on, p.ends_on, p.purchased_cents)
        for p in CommitmentPeriod.objects.filter(account__organization=organization).order_by("starts_on")
    ]


def save_plan(organization, now, *, billing, frequency="monthly", amount=10_000):
    fake_stripe.default_card(organization)
    return recharge_save(
        organization=organization,
        settings=RechargeSettings(amount_cents=amount, frequency=frequency, billing_date=billing),
        user=None,
        now=now,
        refund_policy_accepted=True,
    )


def bonus_expiries(organization):
    return [
        lot.expires_at.date()
        for lot in CreditLot.objects.filter(account__organization=organization, kind=LotKind.BONUS).order_by(
            "pk"
        )
    ]


def account_of(organization):
    return CreditAccount.objects.get(organization=organization)


def test_the_first_purchase_opens_monthly_periods_from_its_day():
    organization = OrganizationFactory()

    paid_purchase(organization, 10_000, at(2026, 11, 15))

    assert timeline(organization) == [("monthly", date(2026, 11, 15), date(2026, 12, 15), 10_000)]
    [schedule] = CommitmentSchedule.objects.all()
    assert (schedule.source, schedule.effective_from) == (ScheduleSource.FIRST_PURCHASE, date(2026, 11, 15))
    assert bonus_expiries(organization) == [date(2026, 12, 15)]


def test_a_purchase_between_saving_a_plan_and_its_first_charge_stays_in_the_running_period(card):
    organization = OrganizationFactory()
    paid_purchase(organization, 10_000, at(2026, 11, 15))
    preview = preview_recharge(
        organization=organization,
        amount_cents=10_000,
        frequency="monthly",
        billing_date=date(2026, 12, 1),
        now=at(2026, 11, 20),
    )
    assert preview.periods_sentence == (
        "Your current period (Nov 15 - Dec 15) ends on Dec 1; "
        "from Dec 1 your periods are monthly from the 1st."
    )
    assert preview.purchase.bonus_expires_at == datetime(2027, 1, 1, tzinfo=UTC)

    save_plan(organization, at(2026, 11, 20), billing=date(2026, 12, 1))
    shown = preview_purchase(organization=organization, amount_cents=50_000, now=at(2026, 11, 25))
    paid_purchase(organization, 50_000, at(2026, 11, 25))

    # One period holds the month's purchases; it now ends where the plan takes effect.
    assert timeline(organization) == [("monthly", date(2026, 11, 15), date(2026, 12, 1), 60_000)]
    # The first bonus keeps the expiry shown when it was bought; the second its own.
    assert bonus_expiries(organization) == [date(2026, 12, 15), date(2026, 12, 1)]
    assert shown.bonus_expires_at.date() == date(2026, 12, 1)
    summary = credit_summary(organization=organization, now=at(2026, 11, 25))
    assert (summary.tier.purchased_cents, summary.tier.tier) == (60_000, Tier.BUILD)

    recharge_jobs.run_recharges(now=at(2026, 12, 1, 8))

    assert timeline(organization) == [
        ("monthly", date(2026, 11, 15), date(2026, 12, 1), 60_000),
        ("monthly", date(2026, 12, 1), date(2027, 1, 1), 10_000),
    ]
    assert bonus_expiries(organization)[-1] == date(2027, 1, 1)
    # Build earned Nov 15 - Dec 1 holds through the next period, and never less than the
    # hold date shown before the plan cut the period short (the end of Dec 15 - Jan 15);
    # then the Explore of the first charge's period (Dec 1 - Jan 1) holds until Feb 1.
    assert current_tier(account=account_of(organization), today=date(2027, 1, 14)) == Tier.BUILD
    assert current_tier(account=account_of(organization), today=date(2027, 1, 15)) == Tier.EXPLORE
    assert current_tier(account=account_of(organization), today=date(2027, 2, 1)) == Tier.NONE
    assert ledger_invariant_violations() == []


def test_a_plan_saved_and_edited_twice_before_its_first_charge(card):
    organization = OrganizationFactory()
    paid_purchase(organization, 10_000, at(2026, 11, 15))

    save_plan(organization, at(2026, 11, 16), billing=date(2026, 12, 1))
    save_plan(organization, at(2026, 11, 17), billing=date(2026, 12, 5))
    # Only the amount: no period changes.
    save_plan(organization, at(2026, 11, 17), billing=date(2026, 12, 5), amount=20_000)
    assert CommitmentSchedule.objects.filter(replaced_at__isnull=True).count() == 2
    plan = save_plan(
        organization, at(2026, 11, 18), billing=date(2026, 12, 10), frequency="yearly", amount=120_000
    )

    schedules = list(
        CommitmentSchedule.objects.order_by("pk").values_list("source", "effective_from", "replaced_at")
    )
    assert schedules == [
        (ScheduleSource.FIRST_PURCHASE, date(2026, 11, 15), None),
        (ScheduleSource.PLAN, date(2026, 12, 1), at(2026, 11, 17)),
        (ScheduleSource.PLAN, date(2026, 12, 5), at(2026, 11, 18)),
        (ScheduleSource.PLAN, date(2026, 12, 10), None),
    ]
    assert plan.next_charge_on == date(2026, 12, 10)
    assert timeline(organization) == [("monthly", date(2026, 11, 15), date(2026, 12, 10), 10_000)]
    # Nothing happens on the abandoned dates.
    recharge_jobs.run_recharges(now=at(2026, 12, 1, 8))
    recharge_jobs.run_recharges(now=at(2026, 12, 5, 8))
    assert len(card.charges) == 0

    recharge_jobs.run_recharges(now=at(2026, 12, 10, 8))

    assert timeline(organization) == [
        ("monthly", date(2026, 11, 15), date(2026, 12, 10), 10_000),
        ("yearly", date(2026, 12, 10), date(2027, 12, 10), 120_000),
    ]
    assert current_tier(account=account_of(organization), today=date(2026, 12, 10)) == Tier.EXPLORE
    assert ledger_invariant_violations() == []


def test_monthly_then_yearly_then_terminated_goes_back_to_monthly_thresholds(card):
    organization = OrganizationFactory()
    paid_purchase(organization, 10_000, at(2026, 1, 10))
    save_plan(organization, at(2026, 1, 12), billing=date(2026, 1, 20))
    recharge_jobs.run_recharges(now=at(2026, 1, 20, 8))
    recharge_jobs.run_recharges(now=at(2026, 2, 20, 8))
    save_plan(organization, at(2026, 3, 5), billing=date(2026, 3, 20), frequency="yearly", amount=120_000)
    recharge_jobs.run_recharges(now=at(2026, 3, 20, 8))
    # The terminate page says beforehand what the service then does.
    assert describe_termination(account=account_of(organization), today=date(2026, 6, 1)) == (
        "Your current period (Mar 20 - Mar 20, 2027) runs to its end; "
        "from Mar 20, 2027 your periods are monthly from the 20th."
    )

    recharge_terminate(organization=organization, now=at(2026, 6, 1))

    [termination] = CommitmentSchedule.objects.filter(source=ScheduleSource.TERMINATION)
    assert (termination.kind, termination.effective_from, termination.anchor_on.day) == (
        PeriodKind.MONTHLY,
        date(2027, 3, 20),
        20,
    )
    # The yearly period runs to its end as it is.
    assert period_on(account=account_of(organization), day=date(2027, 3, 19)) == period_on(
        account=account_of(organization), day=date(2026, 6, 1)
    )
    paid_purchase(organization, 10_000, at(2027, 3, 25))

    assert timeline(organization) == [
        ("monthly", date(2026, 1, 10), date(2026, 1, 20), 10_000),
        ("monthly", date(2026, 1, 20), date(2026, 2, 20), 10_000),
        ("monthly", date(2026, 2, 20), date(2026, 3, 20), 10_000),
        ("yearly", date(2026, 3, 20), date(2027, 3, 20), 120_000),
        ("monthly", date(2027, 3, 20), date(2027, 4, 20), 10_000),
    ]
    # $100 in a monthly period earns Explore again (a yearly period would need $1,200).
    assert current_tier(account=account_of(organization), today=date(2027, 3, 25)) == Tier.EXPLORE
    assert ledger_invariant_violations() == []


def test_terminating_a_plan_not_yet_in_force_says_its_change_is_dropped(owner_client, owner, card):
    organization = owner.organization
    paid_purchase(organization, 10_000, at(2026, 11, 15))
    fake_stripe.default_card(organization)
    save_plan(organization, at(2026, 11, 20), billing=date(2026, 12, 1), frequency="yearly")

    sentence = describe_termination(account=account_of(organization), today=date(2026, 11, 20))

    assert sentence == (
        "Your current period (Nov 15 - Dec 15) runs to its end and your periods stay monthly "
        "from the 15th; the change planned for Dec 1 is dropped."
    )



def test_terminating_a_plan_that_never_charged_leaves_no_period_behind(card):
    """No purchase yet and the plan's first (yearly) charge not made: terminating sets its
    schedule aside, so the first purchase starts monthly periods from its own day."""
    organization = OrganizationFactory()
    save_plan(organization, at(2026, 11, 20), billing=date(2026, 11, 22), frequency="yearly")
    card.otherwise = fake_stripe.DECLINED
    recharge_jobs.run_recharges(now=at(2026, 11, 22, 8))  # the first charge is declined

    assert describe_termination(account=account_of(organization), today=date(2026, 11, 23)) == (
        "You have no commitment period yet: your first purchase starts monthly periods from its day."
    )
    recharge_terminate(organization=organization, now=at(2026, 11, 23))
    paid_purchase(organization, 10_000, at(2026, 11, 25))

    assert timeline(organization) == [("monthly", date(2026, 11, 25), date(2026, 12, 25), 10_000)]
    assert ledger_invariant_violations() == []


def test_a_plan_starting_today_terminated_before_any_charge_leaves_no_period_behind(card):
    """The same with a plan whose first billing date is the day it is saved: saving it opened
    a yearly period with no purchase, which termination then let run for a year."""
    organization = OrganizationFactory()
    save_plan(organization, at(2026, 11, 20, 8), billing=date(2026, 11, 20), frequency="yearly")
    assert timeline(organization) == []
    card.otherwise = fake_stripe.DECLINED
    recharge_jobs.run_recharges(now=at(2026, 11, 20, 9))  # the first charge is declined
    recharge_terminate(organization=organization, now=at(2026, 11, 21))
    paid_purchase(organization, 10_000, at(2026, 11, 25))

    assert timeline(organization) == [("monthly", date(2026, 11, 25), date(2026, 12, 25), 10_000)]
    assert current_tier(account=account_of(organization), today=date(2026, 11, 25)) == Tier.EXPLORE
    assert ledger_invariant_violations() == []


def test_a_plan_starting_today_opens_its_first_period_with_its_first_charge(card):
    organization = OrganizationFactory()
    save_plan(
        organization, at(2026, 11, 20, 8), billing=date(2026, 11, 20), frequency="yearly", amount=120_000
    )

    recharge_jobs.run_recharges(now=at(2026, 11, 20, 9))

    assert timeline(organization) == [("yearly", date(2026, 11, 20), date(2027, 11, 20), 120_000)]
    assert current_tier(account=account_of(organization), today=date(2026, 11, 20)) == Tier.EXPLORE


def test_the_terminate_page_says_what_happens_to_the_periods(owner_client, owner):
    today = timezone.now().date()
    paid_purchase(owner.organization, 10_000, timezone.now())
    save_plan(owner.organization, timezone.now(), billing=today + timedelta(days=3))

    page = owner_client.get(reverse("credits:auto_recharge_terminate")).content.decode()

    sentence = describe_termination(account=account_of(owner.organization), today=today)
    assert sentence and "runs to its end" in sentence
    assert f'<p id="terminate-periods">{sentence}</p>' in html.unescape(page)


def test_a_plan_whose_first_billing_date_is_the_running_periods_start_takes_its_place(card):
    organization = OrganizationFactory()
    paid_purchase(organization, 50_000, at(2026, 12, 1, 9))
    preview = preview_recharge(
        organization=organization,
        amount_cents=120_000,
        frequency="yearly",
        billing_date=date(2026, 12, 1),
        now=at(2026, 12, 1, 10),
    )
    assert preview.periods_sentence == (
        "Your current period (Dec 1 - Jan 1, 2027) becomes a yearly period (Dec 1 - Dec 1, 2027) "
        "and keeps its purchases; from Dec 1 your periods are yearly from Dec 1."
    )

    save_plan(
        organization, at(2026, 12, 1, 10), billing=date(2026, 12, 1), frequency="yearly", amount=120_000
    )

    assert timeline(organization) == [("yearly", date(2026, 12, 1), date(2027, 12, 1), 50_000)]
    # $500 is under the yearly Explore threshold, but the Build it reached this morning stays.
    assert current_tier(account=account_of(organization), today=date(2026, 12, 1)) == Tier.BUILD
    recharge_jobs.run_recharges(now=at(2026, 12, 1, 11))
    assert timeline(organization) == [("yearly", date(2026, 12, 1), date(2027, 12, 1), 170_000)]
    # The morning's bonus keeps the expiry it was bought with.
    assert bonus_expiries(organization) == [date(2027, 1, 1), date(2027, 12, 1)]
    assert ledger_invariant_violations() == []


def test_a_plan_starting_today_takes_what_was_bought_earlier_today():
    """Found by the period machine: the running period ends today, so a purchase made this
    morning belongs to the plan's first period (the day's), not to the one that ended."""
    organization = OrganizationFactory()
    paid_purchase(organization, 10_000, at(2026, 11, 15))
    this_morning = paid_purchase(organization, 50_000, at(2026, 11, 20, 9))

    save_plan(organization, at(2026, 11, 20, 10), billing=date(2026, 11, 20))

    assert timeline(organization) == [
        ("monthly", date(2026, 11, 15), date(2026, 11, 20), 10_000),
        ("monthly", date(2026, 11, 20), date(2026, 12, 20), 50_000),
    ]
    this_morning.refresh_from_db()
    period = this_morning.period
    assert (period.starts_on, period.tier_earned) == (date(2026, 11, 20), Tier.BUILD)
    # The bonus keeps the expiry shown when it was bought (the cut period's end then).
    assert bonus_expiries(organization) == [date(2026, 12, 15), date(2026, 12, 15)]
    assert ledger_invariant_violations() == []


def test_a_purchase_refunded_this_morning_stays_out_of_both_periods(card):
    from credits.services import refunds

    owner = MembershipFactory()
    organization = owner.organization
    paid_purchase(organization, 10_000, at(2026, 11, 15))
    this_morning = paid_purchase(organization, 50_000, at(2026, 11, 20, 9))
    request = refunds.refund_request(
        organization=organization, purchase_id=this_morning.pk, reason="mistake", user=owner.user,
        now=at(2026, 11, 20, 9),
    )
    refunds.refund_approve(request_id=request.pk, staff=None, now=at(2026, 11, 20, 10))

    save_plan(organization, at(2026, 11, 20, 11), billing=date(2026, 11, 20))

    assert timeline(organization) == [
        ("monthly", date(2026, 11, 15), date(2026, 11, 20), 10_000),
        ("monthly", date(2026, 11, 20), date(2026, 12, 20), 0),
    ]
    assert ledger_invariant_violations() == []


def test_a_plan_on_the_running_periods_billing_day_changes_nothing():
    organization = OrganizationFactory()
    paid_purchase(organization, 10_000, at(2026, 11, 15))

    preview = preview_recharge(
        organization=organization,
        amount_cents=10_000,
        frequency="monthly",
        billing_date=date(2026, 12, 15),
        now=at(2026, 11, 20),
    )
    save_plan(organization, at(2026, 11, 20), billing=date(2026, 12, 15))

    assert preview.periods_sentence == (
        "Your current period (Nov 15 - Dec 15) runs to its end and your periods stay monthly from the 15th."
    )
    assert timeline(organization) == [("monthly", date(2026, 11, 15), date(2026, 12, 15), 10_000)]


def test_billing_day_31_through_february_and_a_leap_year(card):
    organization = OrganizationFactory()
    save_plan(organization, at(2027, 12, 20), billing=date(2027, 12, 31))

    for day in (
        date(2027, 12, 31),
        date(2028, 1, 31),
        date(2028, 2, 29),
        date(2028, 3, 31),
        date(2028, 4, 30),
        date(2029, 1, 31),
        date(2029, 2, 28),
        date(2029, 3, 31),
    ):
        recharge_jobs.run_recharges(now=datetime(day.year, day.month, day.day, 8, tzinfo=UTC))

    starts = [row[1] for row in timeline(organization)]
    assert starts[:5] == [
        date(2027, 12, 31),
        date(2028, 1, 31),
        date(2028, 2, 29),
        date(2028, 3, 31),
        date(2028, 4, 30),
    ]
    assert (date(2029, 2, 28), date(2029, 3, 31)) in [row[1:3] for row in timeline(organization)]
    # Every period holds exactly its own charge; the months in between were opened empty.
    assert [row[3] for row in timeline(organization) if row[3]] == [10_000] * 8
    assert len(timeline(organization)) == 16
    assert ledger_invariant_violations() == []


def test_a_yearly_plan_started_on_feb_29(card):
    organization = OrganizationFactory()
    save_plan(organization, at(2028, 2, 29, 6), billing=date(2028, 2, 29), frequency="yearly", amount=120_000)

    for year in (2028, 2029, 2030, 2031, 2032):
        day = 29 if year % 4 == 0 else 28
        recharge_jobs.run_recharges(now=datetime(year, 2, day, 8, tzinfo=UTC))

    assert [(row[1], row[2]) for row in timeline(organization)] == [
        (date(2028, 2, 29), date(2029, 2, 28)),
        (date(2029, 2, 28), date(2030, 2, 28)),
        (date(2030, 2, 28), date(2031, 2, 28)),
        (date(2031, 2, 28), date(2032, 2, 29)),
        (date(2032, 2, 29), date(2033, 2, 28)),
    ]
    assert len(card.charges) == 5
    assert ledger_invariant_violations() == []


def test_a_refund_leaves_the_purchase_in_its_period_but_not_in_its_total():
    organization = OrganizationFactory()
    purchase = paid_purchase(organization, 50_000, at(2026, 3, 1))

    reverse_purchase(purchase_id=purchase.pk, now=at(2026, 3, 2))

    purchase.refresh_from_db()
    assert purchase.period.purchased_cents == 0
    assert current_tier(account=account_of(organization), today=date(2026, 3, 2)) == Tier.NONE
    assert ledger_invariant_violations() == []


def test_credit_page_shows_the_hold_date_and_what_keeps_the_tier():
    organization = OrganizationFactory()
    paid_purchase(organization, 50_000, at(2026, 10, 15))

    # Build earned Oct 15 - Nov 15 holds to Dec 15; buying $500 before then keeps it.
    hold = credit_summary(organization=organization, now=at(2026, 11, 20)).tier.hold
    assert (hold.tier, hold.held_until, hold.keep_cents, hold.keep_before, hold.keep_from) == (
        Tier.BUILD,
        date(2026, 12, 15),
        50_000,
        date(2026, 12, 15),
        None,
    )
    paid_purchase(organization, 20_000, at(2026, 11, 21))
    hold = credit_summary(organization=organization, now=at(2026, 11, 21)).tier.hold
    assert (hold.keep_cents, hold.keep_before) == (30_000, date(2026, 12, 15))
    # Earned in the current period: it holds through the next, from which buying keeps it.
    hold = credit_summary(organization=organization, now=at(2026, 10, 20)).tier.hold
    assert (hold.held_until, hold.keep_cents, hold.keep_from) == (date(2026, 12, 15), 0, date(2026, 11, 15))


def test_the_credit_page_says_it(owner_client, owner):
    from django.urls import reverse
    from django.utils import timezone

    today = timezone.now().date()
    paid_purchase(owner.organization, 50_000, timezone.now())
    current = period_on(account=account_of(owner.organization), day=today)
    # Earned this period: held through the next one.
    held = period_on(account=account_of(owner.organization), day=current.ends_on).ends_on

    page = owner_client.get(reverse("credits:credit")).content.decode()

    assert f"Build until {held:%b} {held.day}, {held.year}" in " ".join(page.split())
    assert 'id="bought-this-period">$500.00<' in page


def test_the_service_refuses_a_period_that_would_overlap():
    organization = OrganizationFactory()
    paid_purchase(organization, 10_000, at(2026, 3, 10))
    account = account_of(organization)
    CommitmentPeriod.objects.filter(account=account).update(ends_on=date(2026, 3, 20))

    with pytest.raises(TimelineError):
        with transaction.atomic():
            locks.lock_account(organization=organization)
            # The schedules say the next period starts Apr 10: a gap after Mar 20.
            periods.open_periods(account=account, through=date(2026, 4, 15))


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("starts_on", "ends_on", "follows_on"),
    [
        (date(2026, 3, 20), date(2026, 4, 20), date(2026, 3, 20)),  # overlaps Mar 10 - Apr 10
        (date(2026, 4, 15), date(2026, 5, 15), date(2026, 4, 15)),  # gap after Apr 10
        (date(2026, 2, 1), date(2026, 3, 1), None),  # a second first period
    ],
)
def test_postgres_refuses_overlapping_or_gapped_periods(starts_on, ends_on, follows_on):
    organization = OrganizationFactory()
    paid_purchase(organization, 10_000, at(2026, 3, 10))

    with pytest.raises(IntegrityError), transaction.atomic():
        CommitmentPeriod.objects.create(
            account=account_of(organization),
            kind="monthly",
            starts_on=starts_on,
            ends_on=ends_on,
            follows_on=follows_on,
            tier_held_until=ends_on,
        )
