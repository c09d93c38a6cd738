import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from credits.models import CreditAccount, EntryKind, LedgerEntry
from tests.factories import OrganizationFactory, UserFactory, paid_purchase

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_every_admin_changelist_loads_and_searches(staff_client):
    paid_purchase(OrganizationFactory(name="Searchable Org"), 10_000, timezone.now())
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert staff_client.get(url).status_code == 200, url
        assert staff_client.get(url, {"q": "Searchable"}).status_code == 200, url


def test_organization_admin_shows_balance_and_links_to_credits(staff_client):
    organization = OrganizationFactory()
    paid_purchase(organization, 10_000, timezone.now())

    listing = staff_client.get(reverse("admin:accounts_organization_changelist")).content.decode()
    detail = staff_client.get(
        reverse("admin:accounts_organization_change", args=[organization.pk])
    ).content.decode()
    account = staff_client.get(
        reverse("admin:credits_creditaccount_change", args=[organization.credit_account.pk])
    ).content.decode()

    assert "$103.00" in listing
    assert "Balance, tier, period, lots and ledger" in detail
    assert "explore" in account and "$103.000000" in account


def test_staff_adjustment_needs_a_reason_and_is_recorded_with_the_user(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    organization = OrganizationFactory()
    account = CreditAccount.objects.get(organization=organization)
    url = reverse("admin:credits_creditaccount_adjust", args=[account.pk])

    refused = client.post(url, {"amount": "12.50", "reason": "  "})
    assert refused.status_code == 200
    assert LedgerEntry.objects.count() == 0

    client.post(url, {"amount": "12.500001", "reason": "Outage credit"})

    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.amount_micros, entry.created_by, entry.memo) == (
        EntryKind.ADJUSTMENT,
        12_500_001,
        staff,
        "Outage credit",
    )
    account.refresh_from_db()
    assert account.balance_micros == 12_500_001


def test_staff_without_permission_cannot_adjust(client):
    client.force_login(UserFactory(is_staff=True))
    account = CreditAccount.objects.get(organization=OrganizationFactory())

    client.post(
        reverse("admin:credits_creditaccount_adjust", args=[account.pk]),
        {"amount": "5", "reason": "sneaky"},
    )

    assert LedgerEntry.objects.count() == 0


def test_ledger_entries_cannot_be_changed_in_admin(staff_client):
    paid_purchase(OrganizationFactory(), 1_000, timezone.now())
    entry = LedgerEntry.objects.get()

    response = staff_client.post(
        reverse("admin:credits_ledgerentry_change", args=[entry.pk]), {"amount_micros": 1}
    )

    assert response.status_code == 403
    entry.refresh_from_db()
    assert entry.amount_micros == 10_000_000
