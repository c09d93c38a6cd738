"""billing_portal/compiled_queries.py: a queryset compiled once per shape reads what the queryset
itself reads, for any later values."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import DateTimeField, F, Value
from django.db.models.expressions import RawSQL
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Membership, Organization
from billing_portal import compiled_queries
from credits.models import CreditAccount, CreditLot, LotKind
from credits.selectors.ledger import _usage_lots_query, usage_lots
from credits.services import ledger, locks
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def _lot(account, *, kind, remaining, expires_at=None, now):
    return CreditLot.objects.create(
        account=account,
        kind=kind,
        original_micros=max(remaining, 0),
        remaining_micros=remaining,
        expires_at=expires_at,
        created_at=now,
    )


def _fields(lots):
    return [(lot.pk, lot.account_id, lot.kind, lot.remaining_micros, lot.expires_at) for lot in lots]


def test_compiled_rows_read_what_the_queryset_reads_for_every_later_value():
    now = timezone.now()
    first, second = OrganizationFactory(), OrganizationFactory()
    accounts = [CreditAccount.objects.get(organization=o) for o in (first, second)]
    for account in accounts:
        _lot(account, kind=LotKind.PAID, remaining=5_000_000, now=now)
        _lot(account, kind=LotKind.BONUS, remaining=1_000_000, expires_at=now + timedelta(days=3), now=now)
        _lot(account, kind=LotKind.GRANT, remaining=2_000_000, expires_at=now + timedelta(hours=1), now=now)
        _lot(account, kind=LotKind.GRANT, remaining=0, now=now)
    ids = [account.pk for account in accounts]
    # The same shape (two accounts) at three moments: the expiry filter moves with `now`,
    # and the moments come back as datetimes (SQLite stores them as text).
    for at in (now, now + timedelta(hours=2), now + timedelta(days=4)):
        expected = list(_usage_lots_query(account_ids=ids, now=at))
        got = compiled_queries.compiled_rows(CreditLot, _usage_lots_query, account_ids=ids, now=at)
        assert _fields(got) == _fields(expected)
        assert len(got) == {now: 6, now + timedelta(hours=2): 4, now + timedelta(days=4): 2}[at]
    # Another shape (one account) is compiled apart and reads only that account.
    alone = compiled_queries.compiled_rows(CreditLot, _usage_lots_query, account_ids=ids[1:], now=now)
    assert {lot.account_id for lot in alone} == {ids[1]}
    assert _fields(alone) == _fields(_usage_lots_query(account_ids=ids[1:], now=now))


def test_the_compiled_lots_keep_the_spend_order_of_draws_one_at_a_time():
    """usage_lots (compiled) hands the batch draw the lots in the order `draw` spends them."""
    now = timezone.now()
    organization = OrganizationFactory()
    account = CreditAccount.objects.get(organization=organization)
    _lot(account, kind=LotKind.PAID, remaining=5_000_000, now=now)
    _lot(account, kind=LotKind.GRANT, remaining=2_000_000, now=now)
    _lot(account, kind=LotKind.BONUS, remaining=1_000_000, expires_at=now + timedelta(days=3), now=now)
    spent = usage_lots(account_ids=[account.pk], now=now)[account.pk].spendable
    assert [lot.kind for lot in spent] == [LotKind.BONUS, LotKind.GRANT, LotKind.PAID]
    assert [lot.pk for lot in spent] == [lot.pk for lot in ledger.spendable_lots(account=account, now=now)]


def test_compiled_rows_are_counted_as_queries_and_compile_once_per_shape():
    now = timezone.now()
    organization = OrganizationFactory()
    account = CreditAccount.objects.get(organization=organization)
    compiled_queries._compiled.clear()
    with CaptureQueriesContext(transaction.get_connection()) as queries:
        for _ in range(3):
            compiled_queries.compiled_rows(CreditLot, _usage_lots_query, account_ids=[account.pk], now=now)
    assert len(queries) == 3
    assert len(compiled_queries._compiled) == 1
    two = [account.pk, account.pk + 1]
    compiled_queries.compiled_rows(CreditLot, _usage_lots_query, account_ids=two, now=now)
    assert len(compiled_queries._compiled) == 2


def test_the_compiled_account_lock_locks_and_names_missing_accounts_without_making_them():
    # Making one there would lock it after rows that come later in organization order: the
    # caller makes it outside its transaction (test_usage_concurrency has the race).
    organization, without = OrganizationFactory(), OrganizationFactory()
    CreditAccount.objects.filter(organization=without).delete()
    with transaction.atomic():
        accounts = locks.lock_accounts(organization_ids=[organization.pk])
        with pytest.raises(locks.AccountsMissing) as missing:
            locks.lock_accounts(organization_ids=[without.pk, organization.pk])
    assert list(accounts) == [organization.pk]
    assert accounts[organization.pk].balance_micros == 0
    assert missing.value.organization_ids == [without.pk]
    assert not CreditAccount.objects.filter(organization=without).exists()


def test_compiled_rows_populate_what_select_related_joins(django_assert_num_queries):
    """The memberships every page reads (with their organizations, by name), the same with
    each organization's account and plan joined (as the credit page reads them), and the
    credit page's account with its organization and plan, or no plan: as the queryset has
    them, for one user and then another, and nothing more read when the joined rows are used."""
    from accounts.selectors import _memberships_query, _memberships_query_with
    from credits.models import AutoRecharge
    from credits.selectors.credit import READ_WITH_ORGANIZATION, _account_and_plan_query

    first, second = UserFactory(), UserFactory()
    beta, acme, other = (OrganizationFactory(name=name) for name in ("Beta", "Acme", "Other"))
    for user, organization in ((first, beta), (first, acme), (second, other)):
        MembershipFactory(user=user, organization=organization)
    now = timezone.now()
    AutoRecharge.objects.create(
        organization=acme, amount_cents=50_000, frequency="monthly", billing_date=now.date(),
        next_charge_on=now.date(), created_at=now, updated_at=now,
    )

    def described(memberships):
        return [(m.pk, m.role, m.organization.pk, m.organization.name) for m in memberships]

    for user in (first, second):
        got = compiled_queries.compiled_rows(Membership, _memberships_query, user_id=user.pk)
        with django_assert_num_queries(0):
            seen = described(got)
        assert seen == described(_memberships_query(user_id=user.pk))
    got = compiled_queries.compiled_rows(Membership, _memberships_query, user_id=first.pk)
    assert [m.organization.name for m in got] == ["Acme", "Beta"]

    def every_field(instance):
        # Each concrete column's value and type (SQLite hands moments and days back as text
        # unless Django's converters run on the joined columns too).
        return [
            (field.attname, getattr(instance, field.attname), type(getattr(instance, field.attname)))
            for field in instance._meta.concrete_fields
        ]

    for organization, has_plan in ((acme, True), (beta, False)):
        (account,) = compiled_queries.compiled_rows(
            CreditAccount, _account_and_plan_query, organization_id=organization.pk
        )
        (expected,) = _account_and_plan_query(organization_id=organization.pk)
        with django_assert_num_queries(0):
            assert every_field(account) == every_field(expected)
            assert every_field(account.organization) == every_field(expected.organization)
            assert hasattr(account.organization, "auto_recharge") is has_plan
            if has_plan:
                plan = account.organization.auto_recharge
                assert every_field(plan) == every_field(expected.organization.auto_recharge)
                assert plan.amount_cents == 50_000

    # The memberships with what the credit page reads of each organization joined in (one
    # build per set of relations, reverse one-to-ones): the same rows, a missing plan as none.
    joined_build = _memberships_query_with(READ_WITH_ORGANIZATION)
    assert _memberships_query_with(READ_WITH_ORGANIZATION) is joined_build
    joined = compiled_queries.compiled_rows(Membership, joined_build, user_id=first.pk)
    expected_joined = list(joined_build(user_id=first.pk))
    with django_assert_num_queries(0):
        assert [m.organization.name for m in joined] == ["Acme", "Beta"]
        for membership, expected_membership in zip(joined, expected_joined, strict=True):
            organization, expected = membership.organization, expected_membership.organization
            assert every_field(organization.credit_account) == every_field(expected.credit_account)
            assert hasattr(organization, "auto_recharge") is (organization == acme)
        plan = joined[0].organization.auto_recharge
        assert every_field(plan) == every_field(expected_joined[0].organization.auto_recharge)
        assert plan.amount_cents == 50_000


def test_what_fills_in_the_joined_rows_is_made_once_per_compiled_query(monkeypatch):
    # Django's populators keep nothing of a row: made with the compiled query, not per read
    # (the test above has each read of them fill in its own rows).
    from accounts.selectors import _memberships_query

    made = []
    real = compiled_queries.get_related_populators
    monkeypatch.setattr(compiled_queries, "_compiled", {})
    monkeypatch.setattr(
        compiled_queries, "get_related_populators", lambda *args: made.append(1) or real(*args)
    )
    first, second = MembershipFactory(), MembershipFactory()

    read = [
        compiled_queries.compiled_rows(Membership, _memberships_query, user_id=membership.user_id)
        for membership in (first, second, first)
    ]

    assert [[m.organization for m in memberships] for memberships in read] == [
        [first.organization], [second.organization], [first.organization]
    ]
    assert read[0][0].organization is not read[2][0].organization
    assert len(made) == 1


def test_what_a_compiled_query_would_not_do_is_refused():
    def prefetching(*, organization_id):
        return CreditAccount.objects.filter(organization_id=organization_id).prefetch_related("lots")

    with pytest.raises(ValueError, match="prefetch_related"):
        compiled_queries.compiled_rows(CreditAccount, prefetching, organization_id=1)

    def accounts(*, organization_id):
        return CreditAccount.objects.filter(organization_id=organization_id)

    with pytest.raises(ValueError, match="reads"):
        compiled_queries.compiled_rows(CreditLot, accounts, organization_id=1)


def test_a_build_that_ignores_a_value_is_refused():
    def ignores_now(*, account_ids, now):
        return CreditLot.objects.filter(account_id__in=account_ids)

    with pytest.raises(ValueError, match="'now'"):
        compiled_queries.compiled_rows(CreditLot, ignores_now, account_ids=[1], now=timezone.now())


def test_a_build_that_computes_from_a_value_is_refused():
    """A day computed from a moment inside the build would be frozen at the first markers'."""

    def derives(*, organization_ids, now):
        return CreditLot.objects.filter(
            account__organization_id__in=organization_ids,
            expires_at__gt=now,
            created_at__gt=now - timedelta(days=1),
        )

    with pytest.raises(ValueError, match="other than as a query value"):
        compiled_queries.compiled_rows(CreditLot, derives, organization_ids=[1], now=timezone.now())


def test_compiled_values_read_what_the_values_query_reads():
    """The forecast's aggregate read (a total, a day, a count) at two different windows, and
    for an organization without usage."""
    from credits.selectors.usage import _charged_usage
    from tests.credits.scenarios import grant, record_usage

    organization, idle = OrganizationFactory(), OrganizationFactory()
    now = timezone.now()
    grant(organization, amount_micros=50_000_000, now=now - timedelta(days=10))
    for days_ago in (0, 1, 1, 6):
        at = now - timedelta(days=days_ago)
        record_usage(organization, [("solar-pro-2", {"input_tokens": 1_000})], at=at)
    today = now.date()
    for start in (today - timedelta(days=2), today - timedelta(days=29)):
        values = {"organization_id": organization.pk, "start": start, "today": today}
        (got,) = compiled_queries.compiled_values(_charged_usage, **values)
        assert got == tuple(_charged_usage(**values)[0])
        assert type(got[1]) is type(today)
    recent = {"organization_id": organization.pk, "start": today - timedelta(days=2), "today": today}
    ((_used, first_day, days),) = compiled_queries.compiled_values(_charged_usage, **recent)
    assert (first_day, days) == ((now - timedelta(days=1)).date(), 2)
    assert compiled_queries.compiled_values(_charged_usage, **recent | {"organization_id": idle.pk}) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_compiled_account_lock_holds_the_row_against_another_writer():
    """lock_accounts's compiled statement still locks: another transaction cannot take the
    account's row until this one ends."""
    import threading

    from django.db import OperationalError, connection

    organization = OrganizationFactory()
    outcome = {}

    def other_writer():
        try:
            with transaction.atomic():
                CreditAccount.objects.select_for_update(nowait=True).get(organization=organization)
            outcome["locked"] = True
        except OperationalError:
            outcome["refused"] = True
        finally:
            connection.close()

    with transaction.atomic():
        locks.lock_accounts(organization_ids=[organization.pk])
        thread = threading.Thread(target=other_writer)
        thread.start()
        thread.join()
    assert outcome == {"refused": True}
    after = threading.Thread(target=other_writer)
    outcome.clear()
    after.start()
    after.join()
    assert outcome == {"locked": True}


def _transaction_time(*, organization_id):
    # now() is when the transaction began (statement_timestamp() would differ per statement).
    return (
        CreditAccount.objects.filter(organization_id=organization_id)
        .annotate(at=RawSQL("now()", [], output_field=DateTimeField()))
        .values_list("at")
    )


def _divided_by_zero(*, organization_id):
    return (
        CreditAccount.objects.filter(organization_id=organization_id)
        .annotate(bad=F("balance_micros") / Value(0))
        .values_list("bad")
    )


def test_reads_together_mean_what_each_read_alone_means():
    """The credit page's reads, sent together, give what each gives alone, in order; a read
    of an empty list (not a shape) is evaluated in its place."""
    from credits.selectors.credit import used_up_lots_read
    from credits.selectors.ledger import usage_lots_read
    from credits.selectors.tiers import timeline_view_read
    from credits.selectors.usage import usage_forecast_read
    from tests.credits.scenarios import buy, grant, record_usage

    organization = OrganizationFactory()
    now = timezone.now()
    buy(organization, amount_cents=60_000, now=now - timedelta(days=3))
    expired = now - timedelta(days=4)
    grant(organization, amount_micros=1_000_000, now=now - timedelta(days=5), expires_at=expired)
    record_usage(organization, [("solar-pro-2", {"input_tokens": 5_000})], at=now - timedelta(days=1))
    account = CreditAccount.objects.get(organization=organization)
    reads = (
        usage_lots_read(account_ids=[account.pk], now=now),
        usage_lots_read(account_ids=[], now=now),
        timeline_view_read(account=account, today=now.date()),
        used_up_lots_read(account=account, now=now),
        usage_forecast_read(organization_id=organization.pk, balance_micros=10**9, today=now.date()),
    )
    lots, none, view, used_up, forecast = compiled_queries.read_together(*reads)
    alone = [read.run() for read in reads]
    assert _fields(lots[account.pk].spendable) == _fields(alone[0][account.pk].spendable)
    assert [lot.kind for lot in lots[account.pk].spendable] == [LotKind.BONUS, LotKind.PAID]
    assert none == alone[1] == {}
    assert view == alone[2] and view.purchased_cents == 60_000
    assert used_up == alone[3] and [(lot.kind, lot.expired) for lot in used_up] == [(LotKind.GRANT, True)]
    assert forecast == alone[4] and forecast.used_micros > 0


def test_a_locking_read_is_never_sent_with_others():
    """Its locks would last only until the pipeline's end in autocommit."""
    locking = compiled_queries.Read(locks._accounts_locked, {"organization_ids": [1]}, CreditAccount)
    other = compiled_queries.Read(_transaction_time, {"organization_id": 1})
    with pytest.raises(ValueError, match="without locking"):
        compiled_queries.read_together(other, locking)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_reads_together_are_one_pipeline_in_one_transaction(statements_sent):
    """On PostgreSQL the reads are sent in one pipeline, in one transaction (the same now()
    for all), where the same reads one after another each run in their own. Each is still
    counted as a query."""
    from django.db import connection

    organization = OrganizationFactory()
    reads = [compiled_queries.Read(_transaction_time, {"organization_id": organization.pk}) for _ in range(3)]
    statements_sent.clear()
    with CaptureQueriesContext(connection) as captured:
        together = compiled_queries.read_together(*reads)
    assert len(captured) == 3
    assert [pipelined for _sql, pipelined in statements_sent] == [True, True, True]
    assert len({rows[0][0] for rows in together}) == 1
    apart = [read.run() for read in reads]
    assert len({rows[0][0] for rows in apart}) == 3


def _organization_count(*, organization_id):
    # Used by one test only: its statement is first prepared in the pipeline that fails.
    return Organization.objects.filter(pk=organization_id).values_list("pk")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_failing_read_together_raises_djangos_error_and_leaves_the_connection_usable():
    """The reads after the failing one are skipped, the statements they would have prepared
    are not taken for prepared, and the connection goes on."""
    from django.db import DataError

    organization = OrganizationFactory()
    fine = compiled_queries.Read(_transaction_time, {"organization_id": organization.pk})
    failing = compiled_queries.Read(_divided_by_zero, {"organization_id": organization.pk})
    after = compiled_queries.Read(_organization_count, {"organization_id": organization.pk})
    with pytest.raises(DataError, match="division by zero"):
        compiled_queries.read_together(fine, failing, after)
    assert after.run() == [(organization.pk,)]
    first, second = compiled_queries.read_together(fine, after)
    assert len(first) == 1 and second == [(organization.pk,)]
    assert CreditAccount.objects.filter(organization=organization).count() == 1
