"""Support reads and answers; finance also moves money and edits prices."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from credits.models import BonusRate, CreditAccount, LedgerEntry, RefundRequest, RefundStatus
from credits.services import refunds
from tests import fake_stripe
from tests.factories import MembershipFactory, UserFactory, paid_purchase

pytestmark = pytest.mark.django_db


def _staff(client, group: str):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return user


@pytest.fixture
def refund_request(monkeypatch):
    fake_stripe.ScriptedStripe(monkeypatch)
    owner = MembershipFactory()
    purchase = paid_purchase(owner.organization, 10_000, timezone.now())
    return refunds.refund_request(
        organization=owner.organization,
        purchase_id=purchase.pk,
        reason="x",
        user=owner.user,
        now=timezone.now(),
    )


@pytest.mark.parametrize("group", ["support", "finance"])
def test_both_groups_read_everything(client, group):
    _staff(client, group)
    for name in ["credits_ledgerentry", "credits_purchase", "credits_refundrequest", "accounts_organization",
                 "credits_programapplication", "accounts_auditentry", "credits_apimodel"]:
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == 200, name


def test_support_cannot_approve_refunds_or_adjust_or_edit_prices(client, refund_request):
    _staff(client, "support")
    account = CreditAccount.objects.get(organization=refund_request.organization)

    client.post(reverse("admin:credits_refundrequest_changelist"),
                {"action": "approve_selected", "_selected_action": [refund_request.pk]})
    client.post(
        reverse("admin:credits_creditaccount_adjust", args=[account.pk]), {"amount": "5", "reason": "x"}
    )
    rate = BonusRate.objects.get(min_amount_cents=10_000)
    price = client.post(reverse("admin:credits_bonusrate_change", args=[rate.pk]),
                        {"min_amount_cents": 10_000, "percent": "9"})

    refund_request.refresh_from_db()
    assert refund_request.status == RefundStatus.PENDING
    assert LedgerEntry.objects.filter(kind="adjustment").count() == 0
    assert price.status_code == 403


def test_finance_approves_refunds_and_adjusts_credits(client, refund_request):
    _staff(client, "finance")
    account = CreditAccount.objects.get(organization=refund_request.organization)

    client.post(
        reverse("admin:credits_refundrequest_changelist"),
        {"action": "approve_selected", "_selected_action": [refund_request.pk]},
    )
    client.post(
        reverse("admin:credits_creditaccount_adjust", args=[account.pk]),
        {"amount": "5", "reason": "goodwill"},
    )

    assert RefundRequest.objects.get().status == RefundStatus.REFUNDED
    assert LedgerEntry.objects.filter(kind="adjustment").count() == 1


def test_support_cannot_revoke_the_gateways_api_keys(client):
    """Support only views API keys; revoking one cuts the API platform off (its usage posts
    and rate-limit reads answer 401), so the action needs the change permission."""
    from credits.models import ApiKey
    from credits.services.api_keys import api_key_issue

    api_key_issue(api_key=ApiKey(name="gateway eu-1"), created_by=None, now=timezone.now())
    key = ApiKey.objects.get()
    _staff(client, "support")

    listed = client.get(reverse("admin:credits_apikey_changelist"))
    client.post(
        reverse("admin:credits_apikey_changelist"), {"action": "revoke", "_selected_action": [key.pk]}
    )

    key.refresh_from_db()
    assert key.revoked_at is None
    assert 'value="revoke"' not in listed.content.decode()
