import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from credits.models import CreditAccount
from credits.services.ledger import debit_usage
from tests.factories import OrganizationFactory, paid_purchase

pytestmark = pytest.mark.django_db


def test_consistent_books_pass(capsys):
    organization = OrganizationFactory()
    paid_purchase(organization, 10_000, timezone.now())
    debit_usage(organization=organization, cost_micros=200_000_000, now=timezone.now())

    call_command("check_ledger")

    assert "Ledger consistent" in capsys.readouterr().out


def test_a_tampered_balance_is_reported():
    organization = OrganizationFactory()
    paid_purchase(organization, 10_000, timezone.now())
    CreditAccount.objects.filter(organization=organization).update(balance_micros=1)

    with pytest.raises(CommandError):
        call_command("check_ledger")
