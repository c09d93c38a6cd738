from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Sum

from credits.exceptions import CreditsError
from credits.models import (
    CommitmentPeriod,
    CreditAccount,
    CreditLot,
    EntryKind,
    LedgerEntry,
    LotKind,
    Purchase,
    PurchaseStatus,
    Tier,
)
from credits.selectors.tiers import current_tier
from credits.services import ledger
from credits.services.purchases import (
    purchase_create,
    purchase_mark_failed,
    record_purchase,
    reverse_purchase,
)
from tests.factories import OrganizationFactory, UserFactory, paid_purchase

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 9, tzinfo=UTC)
DOLLAR = 1_000_000


def _lots(organization):
    return {
        lot.kind: lot
        for lot in CreditLot.objects.filter(account__organization=organization).order_by("pk")
    }


def assert_consistent(organization):
    account = CreditAccount.objects.get(organization=organization)
    entries = LedgerEntry.objects.filter(account=account).aggregate(s=Sum("amount_micros"))["s"] or 0
    lots = CreditLot.objects.filter(account=account).aggregate(s=Sum("remaining_micros"))["s"] or 0
    assert account.balance_micros == entries == lots
    for lot in CreditLot.objects.filter(account=account):
        assert lot.remaining_micros == (lot.entries.aggregate(s=Sum("amount_micros"))["s"] or 0)


def test_purchase_grants_paid_and_bonus_lots_once():
    organization = OrganizationFactory()
    purchase = purchase_create(
        organization=organization,
        amount_cents=50_000,
        key="k1",
        created_by=None,
        refund_policy_version="v1",
        refund_policy_accepted_at=NOW,
        now=NOW,
    )
    assert purchase.bonus_cents == 2_500

    record_purchase(purchase_id=purchase.pk, now=NOW, payment_intent_id="pi_1")
    record_purchase(purchase_id=purchase.pk, now=NOW + timedelta(minutes=1))

    lots = _lots(organization)
    assert lots[LotKind.PAID].remaining_micros == 500 * DOLLAR
    assert lots[LotKind.PAID].expires_at is None
    assert lots[LotKind.BONUS].remaining_micros == 25 * DOLLAR
    assert lots[LotKind.BONUS].expires_at == datetime(2026, 4, 10, tzinfo=UTC)
    assert LedgerEntry.objects.count() == 2
    purchase.refresh_from_db()
    assert (purchase.status, purchase.granted_at, purchase.stripe_payment_intent_id) == (
        PurchaseStatus.SUCCEEDED,
        NOW,
        "pi_1",
    )
    assert_consistent(organization)


def test_same_key_returns_the_same_purchase_and_other_amount_conflicts():
    organization = OrganizationFactory()
    kwargs = dict(
        organization=organization,
        key="form-token-1",
        created_by=None,
        refund_policy_version="v1",
        refund_policy_accepted_at=NOW,
        now=NOW,
    )
    first = purchase_create(amount_cents=2_000, **kwargs)
    again = purchase_create(amount_cents=2_000, **kwargs)

    assert first.pk == again.pk
    assert Purchase.objects.count() == 1
    with pytest.raises(CreditsError):
        purchase_create(amount_cents=3_000, **kwargs)


def test_failed_purchase_grants_nothing_and_a_paid_one_is_never_marked_failed():
    organization = OrganizationFactory()
    paid = paid_purchase(organization, 2_000, NOW)

    purchase_mark_failed(purchase_id=paid.pk, message="late decline")

    paid.refresh_from_db()
    assert paid.status == PurchaseStatus.SUCCEEDED
    assert CreditAccount.objects.get(organization=organization).balance_micros == 20 * DOLLAR


def test_usage_draws_bonus_expiring_first_and_paid_last():
    organization = OrganizationFactory()
    paid_purchase(organization, 10_000, NOW)  # $100 paid + $3 bonus
    ledger.adjust_credits(
        organization=organization,
        amount_micros=5 * DOLLAR,
        reason="goodwill",
        created_by=UserFactory(),
        now=NOW,
    )

    ledger.debit_usage(organization=organization, cost_micros=4 * DOLLAR, now=NOW, reference="e1")

    lots = _lots(organization)
    assert lots[LotKind.BONUS].remaining_micros == 0
    assert lots[LotKind.GRANT].remaining_micros == 4 * DOLLAR  # grant before paid
    assert lots[LotKind.PAID].remaining_micros == 100 * DOLLAR
    assert_consistent(organization)


def test_expired_bonus_is_never_spent_even_before_the_expiry_job():
    organization = OrganizationFactory()
    paid_purchase(organization, 10_000, NOW)
    after_period = datetime(2026, 4, 10, 0, 0, 1, tzinfo=UTC)

    ledger.debit_usage(organization=organization, cost_micros=DOLLAR, now=after_period)

    lots = _lots(organization)
    assert lots[LotKind.BONUS].remaining_micros == 3 * DOLLAR
    assert lots[LotKind.PAID].remaining_micros == 99 * DOLLAR


def test_usage_past_zero_goes_negative_and_next_purchase_settles_it():
    organization = OrganizationFactory()
    paid_purchase(organization, 1_000, NOW)  # $10, no bonus

    ledger.debit_usage(organization=organization, cost_micros=12_345_678, now=NOW)

    account = CreditAccount.objects.get(organization=organization)
    assert account.balance_micros == -2_345_678
    assert _lots(organization)[LotKind.OVERAGE].remaining_micros == -2_345_678

    paid_purchase(organization, 2_000, NOW + timedelta(days=1))

    account.refresh_from_db()
    lots = _lots(organization)
    assert account.balance_micros == 20 * DOLLAR - 2_345_678
    assert lots[LotKind.OVERAGE].remaining_micros == 0
    assert LedgerEntry.objects.filter(kind=EntryKind.SETTLEMENT).count() == 2
    assert_consistent(organization)


def test_expiry_writes_off_unused_bonus_once():
    organization = OrganizationFactory()
    paid_purchase(organization, 50_000, NOW)
    ledger.debit_usage(organization=organization, cost_micros=10 * DOLLAR, now=NOW)
    end = datetime(2026, 4, 10, tzinfo=UTC)

    assert ledger.expire_bonus_lots(now=end - timedelta(seconds=1)) == 0
    assert ledger.expire_bonus_lots(now=end) == 15 * DOLLAR
    assert ledger.expire_bonus_lots(now=end + timedelta(hours=1)) == 0

    expiry = LedgerEntry.objects.get(kind=EntryKind.EXPIRY)
    assert expiry.amount_micros == -15 * DOLLAR
    assert CreditAccount.objects.get(organization=organization).balance_micros == 500 * DOLLAR
    assert_consistent(organization)


def test_negative_adjustment_needs_reason_and_draws_like_usage():
    organization = OrganizationFactory()
    staff = UserFactory(is_staff=True)
    paid_purchase(organization, 1_000, NOW)

    with pytest.raises(CreditsError):
        ledger.adjust_credits(
            organization=organization, amount_micros=-DOLLAR, reason=" ", created_by=staff, now=NOW
        )
    entries = ledger.adjust_credits(
        organization=organization,
        amount_micros=-3 * DOLLAR,
        reason="duplicate grant",
        created_by=staff,
        now=NOW,
    )

    assert [(e.kind, e.amount_micros, e.created_by) for e in entries] == [
        (EntryKind.ADJUSTMENT, -3 * DOLLAR, staff)
    ]
    assert_consistent(organization)


def test_reversal_removes_paid_and_bonus_and_drops_the_tier():
    organization = OrganizationFactory()
    purchase = paid_purchase(organization, 50_000, NOW)
    account = CreditAccount.objects.get(organization=organization)
    assert current_tier(account=account, today=NOW.date()) == Tier.BUILD

    reverse_purchase(purchase_id=purchase.pk, now=NOW)
    reverse_purchase(purchase_id=purchase.pk, now=NOW)

    account.refresh_from_db()
    assert account.balance_micros == 0
    assert LedgerEntry.objects.filter(kind=EntryKind.REVERSAL).count() == 2
    assert current_tier(account=account, today=NOW.date()) == Tier.NONE
    assert CommitmentPeriod.objects.get().purchased_cents == 0
    assert_consistent(organization)


def test_entries_are_append_only():
    organization = OrganizationFactory()
    paid_purchase(organization, 1_000, NOW)
    entry = LedgerEntry.objects.get()

    entry.amount_micros = 1
    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()

