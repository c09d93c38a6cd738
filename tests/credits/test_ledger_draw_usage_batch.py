"""ledger.draw_usage_batch takes from each lot exactly what successive ledger.draw calls would,
writing one entry per lot and model instead of one per call."""

from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from credits.exceptions import InvalidAmount
from credits.models import ApiModel, CreditAccount, EntryKind, LotKind
from credits.services import ledger, locks
from tests.factories import OrganizationFactory


def _funded_organization(now):
    organization = OrganizationFactory()
    with transaction.atomic():
        account = locks.lock_account(organization=organization)
        ledger.grant_lot(
            account=account, kind=LotKind.PAID, amount_micros=700, entry_kind=EntryKind.PURCHASE, now=now
        )
        ledger.grant_lot(
            account=account,
            kind=LotKind.BONUS,
            amount_micros=300,
            entry_kind=EntryKind.BONUS,
            now=now,
            expires_at=now + timedelta(days=5),
        )
        ledger.grant_lot(
            account=account,
            kind=LotKind.GRANT,
            amount_micros=250,
            entry_kind=EntryKind.GRANT,
            now=now,
            expires_at=now + timedelta(days=50),
        )
        ledger.grant_lot(
            account=account,
            kind=LotKind.BONUS,
            amount_micros=999,
            entry_kind=EntryKind.BONUS,
            now=now - timedelta(days=40),
            expires_at=now - timedelta(days=1),
        )
    return organization


def _lots(organization):
    account = CreditAccount.objects.get(organization=organization)
    lots = sorted((lot.kind, lot.original_micros, lot.remaining_micros) for lot in account.lots.all())
    taken = defaultdict(int)
    for entry in account.entries.filter(kind=EntryKind.USAGE):
        taken[(entry.lot.kind, entry.lot.original_micros)] += entry.amount_micros
    return lots, dict(taken), account.balance_micros


class DrawUsageBatchMatchesDraw(TestCase):
    @settings(max_examples=25, deadline=None)
    @given(
        st.lists(st.tuples(st.integers(min_value=0, max_value=600), st.booleans()), min_size=1, max_size=12)
    )
    def test_same_lots_as_one_draw_at_a_time(self, calls):
        now = timezone.now()
        first, second = ApiModel.objects.order_by("pk")[:2]
        one_by_one, at_once = _funded_organization(now), _funded_organization(now)
        # draw_usage_batch goes model by model (in order of first appearance): so does this.
        models = list(dict.fromkeys(first if use_first else second for _, use_first in calls))
        with transaction.atomic():
            account = locks.lock_account(organization=one_by_one)
            for model in models:
                for amount, use_first in calls:
                    if amount and (first if use_first else second) == model:
                        ledger.draw(account=account, amount_micros=amount, kind=EntryKind.USAGE, now=now)
        with transaction.atomic():
            accounts = locks.lock_accounts(organization_ids=[at_once.pk])
            charges = [
                ledger.UsageCharge(at_once.pk, first if use_first else second, amount, input_tokens=10)
                for amount, use_first in calls
            ]
            draw = ledger.draw_usage_batch(accounts=accounts, charges=charges, reference="b", now=now)
            ledger.save_usage_draw(draw)
            charged_on = draw.charged_on

        assert _lots(one_by_one) == _lots(at_once)
        account = CreditAccount.objects.get(organization=at_once)
        entries = list(account.entries.filter(kind=EntryKind.USAGE))
        assert account.balance_micros == sum(account.entries.values_list("amount_micros", flat=True))
        # One entry per (lot, model); every charged call counted once, on the entry it began on.
        assert len({(e.lot_id, e.api_model_id) for e in entries}) == len(entries)
        assert sum(e.calls for e in entries) == sum(1 for amount, _ in calls if amount)
        assert Counter(e.pk for e in charged_on if e) == Counter({e.pk: e.calls for e in entries if e.calls})
        assert all(e.input_tokens == 10 * e.calls for e in entries)
        assert [e is None for e in charged_on] == [amount == 0 for amount, _ in calls]


@pytest.mark.django_db
def test_draw_usage_batch_refuses_negative_amounts():
    now = timezone.now()
    organization = OrganizationFactory()
    with pytest.raises(InvalidAmount), transaction.atomic():
        accounts = locks.lock_accounts(organization_ids=[organization.pk])
        ledger.draw_usage_batch(
            accounts=accounts,
            charges=[ledger.UsageCharge(organization.pk, ApiModel.objects.first(), -5)],
            reference="b",
            now=now,
        )
