"""ledger.draw_many writes exactly the entries successive ledger.draw calls would."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from credits.exceptions import InvalidAmount
from credits.models import CreditAccount, EntryKind, LotKind
from credits.services import ledger
from tests.factories import OrganizationFactory


def _funded_organization(now):
    organization = OrganizationFactory()
    with transaction.atomic():
        account = ledger.lock_account(organization=organization)
        ledger.grant_lot(
            account=account, kind=LotKind.PAID, amount_micros=700, entry_kind=EntryKind.PURCHASE, now=now
        )
        ledger.grant_lot(
            account=account, kind=LotKind.BONUS, amount_micros=300, entry_kind=EntryKind.BONUS, now=now,
            expires_at=now + timedelta(days=5),
        )
        ledger.grant_lot(
            account=account, kind=LotKind.GRANT, amount_micros=250, entry_kind=EntryKind.GRANT, now=now,
            expires_at=now + timedelta(days=50),
        )
        ledger.grant_lot(
            account=account, kind=LotKind.BONUS, amount_micros=999, entry_kind=EntryKind.BONUS,
            now=now - timedelta(days=40), expires_at=now - timedelta(days=1),
        )
    return organization


def _history(organization):
    account = CreditAccount.objects.get(organization=organization)
    entries = [
        (e.lot.kind, e.amount_micros, e.balance_after_micros, e.reference)
        for e in account.entries.filter(kind=EntryKind.USAGE).order_by("pk")
    ]
    lots = sorted((lot.kind, lot.original_micros, lot.remaining_micros) for lot in account.lots.all())
    return entries, lots, account.balance_micros


class DrawManyMatchesDraw(TestCase):
    @settings(max_examples=25, deadline=None)
    @given(st.lists(st.integers(min_value=1, max_value=600), min_size=1, max_size=12))
    def test_same_entries_as_one_draw_at_a_time(self, amounts):
        now = timezone.now()
        one_by_one, at_once = _funded_organization(now), _funded_organization(now)
        with transaction.atomic():
            account = ledger.lock_account(organization=one_by_one)
            for n, amount in enumerate(amounts):
                ledger.draw(
                    account=account, amount_micros=amount, kind=EntryKind.USAGE, now=now, reference=f"e{n}"
                )
        with transaction.atomic():
            account = ledger.lock_account(organization=at_once)
            ledger.draw_many(
                account=account,
                draws=[(amount, {"reference": f"e{n}"}) for n, amount in enumerate(amounts)],
                kind=EntryKind.USAGE,
                now=now,
            )

        assert _history(one_by_one) == _history(at_once)
        account = CreditAccount.objects.get(organization=at_once)
        assert account.balance_micros == sum(account.entries.values_list("amount_micros", flat=True))


@pytest.mark.django_db
def test_draw_many_refuses_non_positive_amounts():
    now = timezone.now()
    with pytest.raises(InvalidAmount), transaction.atomic():
        account = ledger.lock_account(organization=OrganizationFactory())
        ledger.draw_many(account=account, draws=[(5, {}), (0, {})], kind=EntryKind.USAGE, now=now)
