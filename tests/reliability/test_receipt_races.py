"""Receipts under concurrency (PostgreSQL): grants racing in different organizations take
consecutive numbers without gaps or duplicates; one purchase confirmed twice at once gets
one receipt and one e-mail; concurrent usage batches crossing an alert send one."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import Role
from credits.models import AlertSent, Receipt
from credits.services import purchases, usage
from credits.services.billing_settings import AlertsInput, alert_settings_save
from tests.credits.scenarios import event
from tests.factories import MembershipFactory, paid_purchase
from tests.reliability.books import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _pending(organization, key, now):
    return purchases.purchase_create(
        organization=organization, amount_cents=1_000, key=key, created_by=None,
        refund_policy_version="test", refund_policy_accepted_at=now, now=now,
    )


def test_racing_grants_take_consecutive_numbers():
    now = timezone.now()
    pending = [
        _pending(MembershipFactory(role=Role.OWNER).organization, f"race-{n}", now) for n in range(6)
    ]

    results = race(*[
        (lambda p=p: purchases.record_purchase(purchase_id=p.pk, now=now)) for p in pending
    ])

    assert not [r for r in results if isinstance(r, BaseException)]
    numbers = sorted(Receipt.objects.values_list("number", flat=True))
    assert numbers == list(range(numbers[0], numbers[0] + 6))


def test_one_purchase_confirmed_twice_at_once_has_one_receipt_and_one_mail():
    owner = MembershipFactory(role=Role.OWNER)
    now = timezone.now()
    purchase = _pending(owner.organization, "twice", now)

    race(*[lambda: purchases.record_purchase(purchase_id=purchase.pk, now=now)] * 4)

    assert Receipt.objects.filter(purchase=purchase).count() == 1
    assert len([m for m in mail.outbox if m.subject.startswith("Receipt ")]) == 1


def test_concurrent_batches_crossing_the_threshold_send_one_alert():
    owner = MembershipFactory(role=Role.OWNER)
    organization = owner.organization
    now = timezone.now()
    paid_purchase(organization, 1_000, now - timedelta(days=1))  # $10
    alert_settings_save(
        organization=organization,
        alerts=AlertsInput(low_balance_mode="amount", low_balance_threshold_micros=9_999_000),
        user=None,
        now=now,
    )
    batches = [
        usage.validate_usage_batch(
            payload={"events": [event(f"c{n}-{i}", organization, at=now) for i in range(50)]}
        )
        for n in range(4)
    ]

    race(*[(lambda b=b: usage.record_usage_batch(events=b, api_key=None, now=now)) for b in batches])

    assert AlertSent.objects.filter(organization=organization).count() == 1
    assert len([m for m in mail.outbox if m.subject.startswith("Low balance")]) == 1
