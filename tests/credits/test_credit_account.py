"""One credit account per organization, made with the organization; reads never write it."""

import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organization
from accounts.services import organization_create, user_signup
from credits.models import CreditAccount
from credits.selectors.credit import credit_summary
from credits.selectors.limits import current_limits
from credits.services.purchases import preview_purchase
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def _writes(queries) -> list[str]:
    return [
        q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]


def test_signup_makes_the_organization_with_its_empty_account():
    user = user_signup(email="ann@example.com", password="a-long-pass-123", organization_name="Ann's")

    account = CreditAccount.objects.get(organization__memberships__user=user)
    assert (account.balance_micros, account.anchor_date, account.enterprise) == (0, None, False)


def test_every_organization_made_through_the_service_has_one_account():
    organization = organization_create(name="Second", owner=UserFactory())

    assert CreditAccount.objects.filter(organization=organization).count() == 1


def test_an_organization_added_in_admin_gets_its_account(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.post(
        reverse("admin:accounts_organization_add"),
        {"name": "Made by staff", "created_at_0": "2026-01-05", "created_at_1": "10:00:00",
         "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert CreditAccount.objects.filter(organization__name="Made by staff").count() == 1


READS = {
    "credit_summary": lambda organization, now: credit_summary(organization=organization, now=now),
    "current_limits": lambda organization, now: current_limits(organization=organization, now=now),
    "preview_purchase": lambda organization, now: preview_purchase(
        organization=organization, amount_cents=10_000, now=now
    ),
}


@pytest.mark.parametrize("read", sorted(READS))
def test_reads_never_write(read):
    organization = OrganizationFactory()
    with CaptureQueriesContext(connection) as queries:
        READS[read](organization, timezone.now())
    assert _writes(queries.captured_queries) == []


@pytest.mark.parametrize("read", sorted(READS))
def test_a_read_does_not_make_a_missing_account(read):
    # (Only a shell could leave an organization without one; a read must not paper over it.)
    organization = OrganizationFactory()
    CreditAccount.objects.filter(organization=organization).delete()

    with pytest.raises(CreditAccount.DoesNotExist):
        READS[read](organization, timezone.now())
    assert not CreditAccount.objects.filter(organization=organization).exists()


def test_the_gateway_rate_limit_read_writes_nothing(client, api_key, organization):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(
            reverse("credits:api_rate_limits", args=[organization.pk]),
            headers={"Authorization": f"Bearer {api_key}"},
        )
    assert response.status_code == 200
    # The key's last use is not recorded on this path, so the only writes would be the account.
    assert [sql for sql in _writes(queries.captured_queries) if "credit" in sql.lower()] == []


def test_the_data_migration_makes_accounts_for_organizations_without_one():
    with_account = OrganizationFactory()
    without = [OrganizationFactory(), OrganizationFactory()]
    CreditAccount.objects.filter(organization__in=without).delete()
    migration = importlib.import_module("credits.migrations.0015_credit_account_per_organization")

    migration.create_missing_accounts(apps, None)
    migration.create_missing_accounts(apps, None)  # again: nothing more

    assert CreditAccount.objects.count() == Organization.objects.count() == 3
    assert CreditAccount.objects.filter(organization=with_account).count() == 1
