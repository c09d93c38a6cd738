from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.selectors import SESSION_KEY
from credits.models import ApiModel, AutoRecharge, CreditAccount, CreditLot, LotKind
from credits.selectors.process_cache import forget_process_cache
from credits.services import ledger
from tests.credits.query_plans import fill_ledger, ledger_entries_read
from tests.credits.scenarios import record_usage
from tests.factories import MembershipFactory, ProgramGrantFactory, paid_purchase

pytestmark = pytest.mark.django_db


def test_new_organization_sees_empty_states(owner_client):
    page = owner_client.get(reverse("credits:credit")).content.decode()

    assert '<dd id="paid-balance">$0.00</dd>' in page
    assert '<span id="current-tier">No tier</span>' in page
    assert "No credits yet" in page
    assert "$100.00 more this period for Explore" in page
    assert "No usage in the last 30 days" in page


def test_credit_page_shows_parts_tier_progress_limits_and_forecast(owner_client, owner):
    now = timezone.now()
    paid_purchase(owner.organization, 50_000, now - timedelta(days=3))
    # $10 of Document Parse (1,000 pages) on each of three days.
    for day in range(3):
        record_usage(owner.organization, [("document-parse", {"pages": 1_000})], at=now - timedelta(days=day))

    page = owner_client.get(reverse("credits:credit")).content.decode()

    # $30 of usage comes out of the $25 bonus first, then $5 of paid credits.
    assert '<dd id="paid-balance">$495.00</dd>' in page
    assert '<span id="bonus-balance">$0.00</span>' in page
    assert '<span id="current-tier">Build</span>' in page
    assert "$4,500.00 more this period for Scale" in page
    assert "Solar Pro 2</strong>: 50 req/s" in page
    # $495 left at $10 a day over three days: about 49 days.
    assert "balance lasts <strong>about 49 days</strong>, until about" in page


def test_credit_page_query_count_does_not_grow_with_the_ledger(owner_client, owner):
    paid_purchase(owner.organization, 10_000, timezone.now())
    account = CreditAccount.objects.get(organization=owner.organization)
    owner_client.get(reverse("credits:credit"))  # warm the session

    fill_ledger(account, 10)
    with CaptureQueriesContext(connection) as small:
        assert owner_client.get(reverse("credits:credit")).status_code == 200
    fill_ledger(account, 10_000)
    with CaptureQueriesContext(connection) as large:
        assert owner_client.get(reverse("credits:credit")).status_code == 200

    assert len(large.captured_queries) == len(small.captured_queries)


def test_credit_page_reads_program_grants_only_for_an_organization_holding_one(owner_client, owner, settings):
    settings.PROCESS_CACHE_SECONDS = 3_600  # a running worker's warm cache
    paid_purchase(owner.organization, 10_000, timezone.now())
    owner_client.get(reverse("credits:credit"))  # warm the session and the caches
    with CaptureQueriesContext(connection) as without_grant:
        page = owner_client.get(reverse("credits:credit")).content.decode()
    assert 'id="grants-heading"' not in page

    grant = ProgramGrantFactory(organization=owner.organization)
    grant.api_models.set(ApiModel.objects.filter(slug="solar-pro"))
    forget_process_cache()  # as approving a grant does on commit
    owner_client.get(reverse("credits:credit"))
    with CaptureQueriesContext(connection) as with_grant:
        page = owner_client.get(reverse("credits:credit")).content.decode()
    assert 'id="grants-heading"' in page

    # Session, user, the memberships with the account and its auto-recharge plan, lots,
    # periods, used-up lots, forecast; the grants' models once the organization holds a grant.
    assert len(without_grant.captured_queries) == 7
    assert len(with_grant.captured_queries) == 8


def test_each_organizations_account_and_plan_come_with_the_memberships(client):
    """A member of two organizations sees the one chosen: its balance and its plan, read in
    the memberships' query (no read of the account or the plan of its own)."""
    now = timezone.now()
    first = MembershipFactory(role="owner")
    second = MembershipFactory(user=first.user, role="owner")
    paid_purchase(first.organization, 10_000, now)
    paid_purchase(second.organization, 20_000, now)
    AutoRecharge.objects.create(
        organization=second.organization, amount_cents=50_000, frequency="monthly",
        billing_date=now.date(), next_charge_on=now.date(), created_at=now, updated_at=now,
    )
    client.force_login(first.user)

    for membership, paid, plan_action in ((first, "$100.00", "Start"), (second, "$200.00", "Edit")):
        session = client.session
        session[SESSION_KEY] = membership.organization_id
        session.save()
        with CaptureQueriesContext(connection) as read:
            page = client.get(reverse("credits:credit")).content.decode()

        assert f'<dd id="paid-balance">{paid}</dd>' in page
        assert f"{plan_action} auto-recharge</a>" in page
        tables = [query["sql"].split(" FROM ", 1)[1].split()[0].strip('"') for query in read.captured_queries]
        assert tables[2] == "accounts_membership"
        assert 'JOIN "credits_creditaccount"' in read.captured_queries[2]["sql"]
        assert 'JOIN "credits_autorecharge"' in read.captured_queries[2]["sql"]
        assert "credits_creditaccount" not in tables and "credits_autorecharge" not in tables


def test_rate_limit_table_is_public_and_marks_the_organizations_column(owner_client, owner):
    public = Client().get(reverse("credits:rate_limits")).content.decode()
    assert "Solar Pro 2" in public and "yours" not in public

    paid_purchase(owner.organization, 10_000, timezone.now())
    mine = owner_client.get(reverse("credits:rate_limits")).content.decode()

    assert 'class="num highlight">Tier 1 <span class="badge">yours</span>' in mine


def test_forecast_uses_the_days_with_usage_and_says_nothing_with_too_little(owner_client, owner):
    from credits.selectors.usage import usage_forecast

    now = timezone.now()
    organization = owner.organization
    paid_purchase(organization, 10_000, now - timedelta(days=20))
    # $1 of Document Parse (100 pages) on each of two days: too little to tell.
    for day in (5, 6):
        record_usage(organization, [("document-parse", {"pages": 100})], at=now - timedelta(days=day))

    forecast = usage_forecast(organization_id=organization.pk, balance_micros=100_000_000, today=now.date())
    page = owner_client.get(reverse("credits:credit")).content.decode()

    assert (forecast.days_left, forecast.runs_out_on, forecast.used_micros) == (None, None, 2_000_000)
    assert "Too little usage yet" in page and "until about" not in page

    # A third day: the rate is $3 over the 7 days from the first day with usage to today.
    record_usage(organization, [("document-parse", {"pages": 100})], at=now)
    forecast = usage_forecast(organization_id=organization.pk, balance_micros=100_000_000, today=now.date())

    assert (forecast.used_micros, forecast.days_counted) == (3_000_000, 7)
    assert forecast.days_left == 100_000_000 * 7 // 3_000_000 == 233
    assert forecast.runs_out_on == now.date() + timedelta(days=233)


def test_used_up_and_expired_lots_stay_listed_with_when_they_ran_out(owner, owner_client):
    from credits.selectors.credit import credit_summary

    now = timezone.now()
    bought = now - timedelta(days=40)
    paid_purchase(owner.organization, 50_000, bought)  # $500 paid + $25 bonus, bonus expires at period end
    bonus = CreditLot.objects.get(account__organization=owner.organization, kind=LotKind.BONUS)
    spent_at = bought + timedelta(days=1)
    ledger.debit_usage(organization=owner.organization, cost_micros=10_000_000, now=spent_at)
    ledger.expire_bonus_lots(now=bonus.expires_at + timedelta(minutes=5))
    paid_purchase(owner.organization, 2_000, now)  # $20, no bonus

    summary = credit_summary(organization=owner.organization, now=now)

    assert [(lot.kind, lot.expired) for lot in summary.used_up_lots] == [(LotKind.BONUS, True)]
    assert summary.used_up_lots[0].ran_out_at == bonus.expires_at + timedelta(minutes=5)
    assert summary.last_bonus == summary.used_up_lots[0]
    page = owner_client.get(reverse("credits:credit")).content.decode()
    assert f"your last bonus expired {summary.used_up_lots[0].ran_out_at:%b %-d, %Y}" in page
    assert '<summary>Used up or expired (1)</summary>' in page


@pytest.mark.postgres
def test_used_up_lots_read_one_ledger_row_per_lot_however_many_entries_it_has(owner):
    """The page reads every used-up lot's last entry on each load: one probe of the (lot,
    created_at) index per lot, never all of its entries (a lot drawn for a year has millions;
    an aggregate over them made the page take 250 ms at a million)."""
    from credits.selectors.credit import _used_up_lots_query, used_up_lots_read

    now = timezone.now()
    paid_purchase(owner.organization, 2_000, now - timedelta(days=10))  # $20, no bonus
    last_draw = now - timedelta(days=9) + timedelta(minutes=199)
    for n in range(200):
        ledger.debit_usage(
            organization=owner.organization, cost_micros=100_000, now=now - timedelta(days=9, minutes=-n)
        )
    account = CreditAccount.objects.get(organization=owner.organization)
    assert CreditLot.objects.get(account=account, kind=LotKind.PAID).remaining_micros == 0

    assert ledger_entries_read(_used_up_lots_query(account_id=account.pk, now=now)) == 1
    ((lot),) = used_up_lots_read(account=account, now=now).run()
    assert (lot.kind, lot.expired, lot.ran_out_at) == (LotKind.PAID, False, last_draw)


@pytest.mark.postgres
def test_the_reads_that_follow_from_the_account_are_one_round_trip(owner, owner_client, statements_sent):
    """Lots, periods, used-up lots and the forecast's rollups go to PostgreSQL in one
    pipeline; the session, user and membership (with the account) reads before them do not."""
    paid_purchase(owner.organization, 10_000, timezone.now())
    owner_client.get(reverse("credits:credit"))  # warm the session and the process caches
    statements_sent.clear()

    assert owner_client.get(reverse("credits:credit")).status_code == 200

    # (The last FROM: the used-up lots read their last entry in a subquery of the select list.)
    tables = [sql.rsplit(" FROM ", 1)[1].split()[0].strip('"') for sql, _pipelined in statements_sent]
    pipelined = [table for (_sql, pipelined), table in zip(statements_sent, tables, strict=True) if pipelined]
    assert sorted(pipelined) == [
        "credits_commitmentperiod", "credits_creditlot", "credits_creditlot", "credits_usagerollup"
    ]
    assert tables[:3] == ["django_session", "accounts_user", "accounts_membership"]
    assert "credits_creditaccount" not in tables


def test_a_bonus_spent_before_paid_credits_says_so(owner, owner_client):
    from credits.selectors.credit import credit_summary

    now = timezone.now()
    paid_purchase(owner.organization, 50_000, now - timedelta(hours=2))
    ledger.debit_usage(organization=owner.organization, cost_micros=30_000_000, now=now - timedelta(hours=1))

    summary = credit_summary(organization=owner.organization, now=now)

    assert summary.bonus_micros == 0
    assert summary.last_bonus is not None and not summary.last_bonus.expired
    assert summary.last_bonus.ran_out_at == now - timedelta(hours=1)
    page = owner_client.get(reverse("credits:credit")).content.decode()
    assert "used first, all spent by" in page
