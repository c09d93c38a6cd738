from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.management import call_command

from accounts.models import Role
from credits.models import BonusExpiryNotice, EntryKind, LedgerEntry
from credits.services.reminders import send_bonus_expiry_reminders
from tests.factories import MembershipFactory, paid_purchase

pytestmark = pytest.mark.django_db

BOUGHT = datetime(2026, 3, 10, 9, tzinfo=UTC)  # bonus expires 2026-04-10 00:00 UTC
EXPIRES = datetime(2026, 4, 10, tzinfo=UTC)


@pytest.fixture
def organization():
    owner = MembershipFactory(role=Role.OWNER, user__email="boss@example.com")
    MembershipFactory(organization=owner.organization, role=Role.MEMBER, user__email="dev@example.com")
    paid_purchase(owner.organization, 10_000, BOUGHT)
    return owner.organization


def test_owners_are_reminded_seven_days_and_one_day_before_once_each(
    organization, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert send_bonus_expiry_reminders(now=EXPIRES - timedelta(days=8)) == 0
        assert send_bonus_expiry_reminders(now=EXPIRES - timedelta(days=7)) == 1
        assert send_bonus_expiry_reminders(now=EXPIRES - timedelta(days=6)) == 0
        assert send_bonus_expiry_reminders(now=EXPIRES - timedelta(hours=23)) == 1
        assert send_bonus_expiry_reminders(now=EXPIRES - timedelta(hours=1)) == 0

    assert [m.subject for m in mail.outbox] == [
        "Bonus credits expire in 7 days",
        "Bonus credits expire in 1 day",
    ]
    assert all(m.to == ["boss@example.com"] for m in mail.outbox)
    assert "$3.00 of bonus credits" in mail.outbox[0].body
    assert BonusExpiryNotice.objects.count() == 2


def test_spent_bonus_gets_no_reminder(organization, django_capture_on_commit_callbacks):
    from credits.services.ledger import debit_usage

    debit_usage(organization=organization, cost_micros=3_000_000, now=BOUGHT)

    with django_capture_on_commit_callbacks(execute=True):
        assert send_bonus_expiry_reminders(now=EXPIRES - timedelta(days=7)) == 0
    assert mail.outbox == []


def test_run_billing_jobs_twice_expires_once(organization, capsys):
    at = (EXPIRES + timedelta(minutes=1)).isoformat()

    call_command("run_billing_jobs", "--now", at)
    call_command("run_billing_jobs", "--now", at)

    assert LedgerEntry.objects.filter(kind=EntryKind.EXPIRY).count() == 1
    assert "expire_bonus_lots: 3000000" in capsys.readouterr().out
