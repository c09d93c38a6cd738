"""Who may see what: every organization page, every object URL, every billing action.

Later features add their URLs to the tables here so the matrix stays complete.
"""

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from tests.factories import MembershipFactory, PaymentMethodFactory, paid_purchase

pytestmark = pytest.mark.django_db

# Pages that show the current organization's data.
ORGANIZATION_PAGES = [
    "credits:credit",
    "credits:usage",
    "credits:usage_ledger_csv",
    "credits:payment_methods",
    "credits:refunds",
    "accounts:members",
    "credits:auto_recharge",
    "credits:billing_history",
    "credits:billing_history_csv",
]

# Actions a plain member may not take (owners or billing members only).
BILLING_ACTIONS: list[tuple[str, dict]] = [
    ("accounts:invite", {"email": "x@example.com", "role": "member"}),
    (
        "credits:auto_recharge",
        {"amount": "100", "frequency": "monthly", "billing_date": "2099-01-01", "save": "1"},
    ),
    ("credits:auto_recharge_terminate", {}),
    ("credits:request_refund", {"purchase": 1, "reason": "x"}),
    ("credits:buy", {"amount": "500", "payment_method": 1, "token": "t", "accept_refund_policy": "on"}),
    ("credits:card_add_finish", {"setup_intent": "seti_1"}),
    ("credits:payment_contact", {"method": "invoice", "message": "x"}),
    ("credits:billing_settings", {"legal_name": "x", "address": "x", "country": "x", "save_details": "1"}),
    ("credits:billing_settings", {"alerts-low_balance_mode": "off", "save_alerts": "1"}),
]

# Pages only owners and billing members may even open (they start a payment or a card).
BILLING_PAGES = ["credits:buy", "credits:card_add", "credits:billing_settings"]


def _foreign_object_urls(foreign) -> list[tuple[str, str]]:
    """(method, url) of objects that belong to another organization."""
    purchase = paid_purchase(foreign.organization, 1_000, timezone.now())
    card = PaymentMethodFactory(customer__organization=foreign.organization)
    return [
        ("post", reverse("accounts:change_role", args=[foreign.pk])),
        ("post", reverse("accounts:remove_member", args=[foreign.pk])),
        ("get", reverse("credits:receipt", args=[purchase.pk])),
        ("get", reverse("credits:receipt_pdf", args=[purchase.pk])),
        ("post", reverse("credits:buy_confirm", args=[purchase.pk])),
        ("post", reverse("credits:card_default", args=[card.pk])),
        ("post", reverse("credits:card_remove", args=[card.pk])),
    ]


@pytest.mark.parametrize("name", ORGANIZATION_PAGES + BILLING_PAGES)
def test_anonymous_is_sent_to_login(client, name):
    url = reverse(name)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={url}"


@pytest.mark.parametrize("name", ORGANIZATION_PAGES)
def test_every_role_reads_its_organization_pages(client, name):
    membership = MembershipFactory(role=Role.MEMBER, organization__name="Readable Org")
    client.force_login(membership.user)

    response = client.get(reverse(name))

    assert response.status_code == 200


def test_objects_of_another_organization_are_404(client):
    mine = MembershipFactory(role=Role.OWNER)
    foreign = MembershipFactory(role=Role.MEMBER)
    client.force_login(mine.user)

    for method, url in _foreign_object_urls(foreign):
        response = getattr(client, method)(url, {"role": "owner"})
        assert response.status_code == 404, url
    foreign.refresh_from_db()
    assert foreign.role == Role.MEMBER


@pytest.mark.parametrize(("name", "data"), BILLING_ACTIONS)
def test_member_cannot_take_billing_actions(client, name, data):
    membership = MembershipFactory(role=Role.MEMBER)
    client.force_login(membership.user)

    response = client.post(reverse(name), data)

    assert response.status_code == 403
    assert "can do this" in response.content.decode()


@pytest.mark.parametrize("name", BILLING_PAGES)
def test_member_cannot_open_paying_pages(client, name):
    membership = MembershipFactory(role=Role.MEMBER)
    client.force_login(membership.user)

    response = client.get(reverse(name))

    assert response.status_code == 403


def test_member_reads_receipts_of_its_organization(client):
    membership = MembershipFactory(role=Role.MEMBER)
    purchase = paid_purchase(membership.organization, 1_000, timezone.now())
    client.force_login(membership.user)

    assert client.get(reverse("credits:receipt", args=[purchase.pk])).status_code == 200
    assert client.get(reverse("credits:receipt_pdf", args=[purchase.pk])).status_code == 200
