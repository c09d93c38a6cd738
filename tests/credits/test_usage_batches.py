"""Usage debited per batch (SPEC "Money"): one entry per lot drawn and per model, carrying the
calls and units; every event points at its entry; replays write nothing; rollups match."""

from datetime import timedelta

import pytest
from django.utils import timezone

from credits.models import (
    ApiModel,
    CreditAccount,
    CreditLot,
    EntryKind,
    LedgerEntry,
    LotKind,
    ProgramGrant,
    UsageEvent,
    UsageRollup,
)
from credits.selectors.ledger import ledger_invariant_violations
from credits.selectors.usage import usage_rollup_violations
from credits.services.usage import record_usage_batch, validate_usage_batch
from tests.credits.scenarios import buy, event, grant

pytestmark = pytest.mark.django_db


def record(events, now):
    return record_usage_batch(events=validate_usage_batch(payload={"events": events}), api_key=None, now=now)


def _three_lots(organization, now):
    """$3 bonus (expires at period end), a $1 grant (300 days), $100 paid: drawn in that order."""
    buy(organization, amount_cents=10_000, now=now)
    grant(organization, amount_micros=1_000_000, now=now, expires_at=now + timedelta(days=300))


def _usage_entries():
    return [
        (
            e.lot.kind,
            e.api_model.slug,
            e.amount_micros,
            e.calls,
            e.pages,
            e.input_tokens,
            e.balance_after_micros,
        )
        for e in LedgerEntry.objects.filter(kind=EntryKind.USAGE)
        .select_related("lot", "api_model")
        .order_by("pk")
    ]


def test_a_batch_across_three_lots_writes_three_entries(organization):
    now = timezone.now()
    _three_lots(organization, now)
    # 110 one-page Information Extract calls at $0.04: $3 from the bonus (75 calls), $1 from
    # the grant (25 calls), $0.40 from the paid lot (10 calls).
    events = [
        event(f"ie-{n}", organization, model="information-extract", pages=1, at=now) for n in range(110)
    ]

    result = record(events, now)

    assert _usage_entries() == [
        (LotKind.BONUS, "information-extract", -3_000_000, 75, 75, 0, 101_000_000),
        (LotKind.GRANT, "information-extract", -1_000_000, 25, 25, 0, 100_000_000),
        (LotKind.PAID, "information-extract", -400_000, 10, 10, 0, 99_600_000),
    ]
    assert result.balances == {organization.pk: 99_600_000}
    entries = list(LedgerEntry.objects.filter(kind=EntryKind.USAGE).order_by("pk"))
    assert [e.description for e in entries] == [
        "Information Extract usage, 75 calls",
        "Information Extract usage, 25 calls",
        "Information Extract usage, 10 calls",
    ]
    # Each event points at the entry that debited it, in the batch's (draw) order. (By event
    # id: PostgreSQL may insert the rows of one statement in any order.)
    linked = dict(UsageEvent.objects.values_list("event_id", "ledger_entry"))
    assert [linked[f"ie-{n}"] for n in range(110)] == (
        [entries[0].pk] * 75 + [entries[1].pk] * 25 + [entries[2].pk] * 10
    )
    assert ledger_invariant_violations() == []


def test_each_model_gets_its_own_entries_per_lot(organization):
    now = timezone.now()
    _three_lots(organization, now)
    # Interleaved in the batch; drawn model by model in order of first appearance.
    events = []
    for n in range(110):
        events.append(event(f"ie-{n}", organization, model="information-extract", pages=1, at=now))
        if n < 10:
            events.append(event(f"llm-{n}", organization, input_tokens=1_000, at=now))

    record(events, now)

    assert _usage_entries() == [
        (LotKind.BONUS, "information-extract", -3_000_000, 75, 75, 0, 101_000_000),
        (LotKind.GRANT, "information-extract", -1_000_000, 25, 25, 0, 100_000_000),
        (LotKind.PAID, "information-extract", -400_000, 10, 10, 0, 99_600_000),
        (LotKind.PAID, "solar-pro-2", -1_500, 10, 0, 10_000, 99_598_500),
    ]


def test_a_call_spanning_two_lots_counts_on_the_first(organization):
    now = timezone.now()
    grant(organization, amount_micros=100_000, now=now, expires_at=now + timedelta(days=1))
    grant(organization, amount_micros=100_000, now=now, expires_at=now + timedelta(days=2))
    # Three Document Parse calls of 4 pages ($0.04 each): the third spans the two grants.
    record([event(f"d{n}", organization, model="document-parse", pages=4, at=now) for n in range(3)], now)

    entries = list(LedgerEntry.objects.filter(kind=EntryKind.USAGE).order_by("pk"))
    assert [(e.amount_micros, e.calls, e.pages) for e in entries] == [(-100_000, 3, 12), (-20_000, 0, 0)]
    assert entries[0].description == "Document Parse usage, 3 calls"
    assert UsageEvent.objects.get(event_id="d2").ledger_entry == entries[0]
    record([event("d3", organization, model="document-parse", pages=10, at=now)], now)
    last = LedgerEntry.objects.filter(kind=EntryKind.USAGE).order_by("pk")
    # $0.10 more: the $0.08 left on the second grant, $0.02 owed on the overage lot.
    assert [(e.lot.kind, e.amount_micros, e.calls) for e in last][2:] == [
        (LotKind.GRANT, -80_000, 1),
        (LotKind.OVERAGE, -20_000, 0),
    ]
    assert last.last().description == "Document Parse usage, rest of a call begun on another lot"
    assert CreditLot.objects.get(kind=LotKind.OVERAGE).remaining_micros == -20_000


def test_replays_write_nothing(organization):
    now = timezone.now()
    _three_lots(organization, now)
    events = [
        event(f"ie-{n}", organization, model="information-extract", pages=1, at=now) for n in range(110)
    ]
    record(events, now)
    before = (
        list(LedgerEntry.objects.values_list("pk", "amount_micros")),
        list(UsageRollup.objects.values_list("pk", "calls", "pages", "cost_micros")),
        list(CreditLot.objects.values_list("pk", "remaining_micros")),
    )

    replay = record(events, now + timedelta(minutes=5))
    partial = record(events[:50], now + timedelta(minutes=6))

    assert replay.accepted == [] and partial.accepted == []
    assert len(replay.duplicates) == 110
    after = (
        list(LedgerEntry.objects.values_list("pk", "amount_micros")),
        list(UsageRollup.objects.values_list("pk", "calls", "pages", "cost_micros")),
        list(CreditLot.objects.values_list("pk", "remaining_micros")),
    )
    assert after == before
    assert UsageEvent.objects.count() == 110


def test_a_batch_mixing_recorded_and_new_ids_debits_only_the_new_ones(organization):
    # The first attempt does not look ids up: it draws for all 60, the insert skips the 20
    # recorded ones, and the attempt is rolled back and made again with them looked up.
    now = timezone.now()
    _three_lots(organization, now)
    first = [event(f"mix-{n}", organization, model="information-extract", pages=1, at=now) for n in range(20)]
    start = CreditAccount.objects.get(organization=organization).balance_micros
    record(first, now)
    entries_before = LedgerEntry.objects.count()
    balance_before = CreditAccount.objects.get(organization=organization).balance_micros
    per_page = (start - balance_before) // 20

    result = record(
        first + [event(f"mix-{n}", organization, model="information-extract", pages=1, at=now)
                 for n in range(20, 60)],
        now,
    )

    assert result.duplicates == [f"mix-{n}" for n in range(20)]
    assert result.accepted == [f"mix-{n}" for n in range(20, 60)]
    assert per_page > 0
    balance = CreditAccount.objects.get(organization=organization).balance_micros
    assert balance == balance_before - 40 * per_page
    new_entries = LedgerEntry.objects.order_by("pk")[entries_before:]
    assert sum(entry.calls for entry in new_entries) == 40
    assert UsageEvent.objects.filter(ledger_entry__in=new_entries).count() == 40
    assert UsageEvent.objects.count() == 60
    assert ledger_invariant_violations() == [] and usage_rollup_violations() == []


@pytest.mark.postgres
def test_a_batch_is_priced_before_its_accounts_are_locked(organization, statements_sent):
    # Batches of one organization take turns over its account's lock: the pricing (with its
    # read of the program grants), the rows and the rollups' statement are made before it,
    # so only the lots' read and the one write follow the lock.
    now = timezone.now()
    _three_lots(organization, now)
    program = ProgramGrant.objects.create(
        organization=organization, starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1)
    )
    program.api_models.set(ApiModel.objects.filter(slug="document-parse"))
    events = validate_usage_batch(
        payload={
            "events": [
                event("p1", organization, model="document-parse", pages=2, at=now),
                event("p2", organization, model="information-extract", pages=1, at=now),
            ]
        }
    )
    statements_sent.clear()

    result = record_usage_batch(events=events, api_key=None, now=now)

    # (Inside the test's transaction, the batch's own is a savepoint.)
    sent = [sql for sql, _pipelined in statements_sent if "SAVEPOINT" not in sql]
    lock = next(n for n, sql in enumerate(sent) if "FOR NO KEY UPDATE" in sql)
    assert any("credits_programgrant" in sql for sql in sent[:lock])
    assert len(sent[lock + 1 :]) == 2, sent[lock + 1 :]
    assert result.accepted == ["p1", "p2"]
    assert UsageEvent.objects.get(event_id="p1").free
    assert not UsageEvent.objects.get(event_id="p2").free
    assert ledger_invariant_violations() == [] and usage_rollup_violations() == []


def test_rollups_sum_each_utc_day_and_model_including_free_calls(organization):
    now = timezone.now().replace(hour=12)
    yesterday = now - timedelta(days=1)
    record(
        [
            event("a", organization, at=now, input_tokens=1_000, output_tokens=10),
            event("b", organization, at=now, input_tokens=2_000),
            event("c", organization, at=yesterday, input_tokens=0),
            event("d", organization, at=now, model="document-parse", pages=3),
        ],
        now,
    )

    rows = sorted(
        UsageRollup.objects.values_list(
            "day", "api_model__slug", "calls", "input_tokens", "output_tokens", "pages", "cost_micros"
        )
    )
    assert rows == [
        (yesterday.date(), "solar-pro-2", 1, 0, 0, 0, 0),
        (now.date(), "document-parse", 1, 0, 0, 3, 30_000),
        (now.date(), "solar-pro-2", 2, 3_000, 10, 0, 456),
    ]
    assert usage_rollup_violations() == []


def test_check_ledger_reports_a_rollup_that_differs_from_its_events(organization):
    now = timezone.now()
    record([event("a", organization, at=now)], now)
    UsageRollup.objects.update(calls=2)

    problems = usage_rollup_violations()

    assert len(problems) == 1
    assert "usage rollup of organization" in problems[0] and "'calls': 2" in problems[0]


def test_usage_of_an_organization_without_a_credit_account_makes_one_and_is_debited():
    """Only a shell makes an organization without its account: the batch is rolled back,
    the account made on its own, and the batch recorded on the second attempt."""
    from tests.factories import OrganizationFactory

    now = timezone.now()
    organization = OrganizationFactory()
    CreditAccount.objects.filter(organization=organization).delete()

    result = record([event("shell-made", organization, at=now)], now)

    assert result.accepted == ["shell-made"]
    account = CreditAccount.objects.get(organization=organization)
    assert account.balance_micros == -UsageEvent.objects.get().cost_micros < 0
    assert ledger_invariant_violations() == []
