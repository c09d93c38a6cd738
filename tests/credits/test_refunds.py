from datetime import UTC, datetime

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import Role
from credits.exceptions import CreditsError
from credits.models import (
    CreditAccount,
    PurchaseStatus,
    RefundRequest,
    RefundStatus,
    Tier,
)
from credits.selectors.refunds import purchases_refundability
from credits.selectors.tiers import current_tier
from credits.services import refunds
from credits.services.ledger import debit_usage
from tests.factories import MembershipFactory, UserFactory, paid_purchase

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 9, tzinfo=UTC)


@pytest.fixture
def stripe_refunds(monkeypatch):
    """Stands in for Stripe's refund call; records each call."""
    calls = []

    def fake(**kwargs):
        calls.append(kwargs)
        return f"re_{len(calls)}"

    monkeypatch.setattr(refunds, "refund_payment", fake)
    return calls


@pytest.fixture
def purchase(owner):
    return paid_purchase(owner.organization, 50_000, NOW)


def test_eligibility_before_and_after_the_first_usage(owner, purchase):
    [row] = purchases_refundability(organization=owner.organization)
    assert row.refundable

    debit_usage(organization=owner.organization, cost_micros=1, now=NOW)

    [row] = purchases_refundability(organization=owner.organization)
    assert not row.refundable
    assert "API has been used" in row.why
    with pytest.raises(CreditsError):
        refunds.refund_request(
            organization=owner.organization, purchase_id=purchase.pk, reason="x", user=owner.user, now=NOW
        )


def test_page_states_the_rule_and_a_second_request_is_refused(owner_client, purchase):
    page = owner_client.get(reverse("credits:refunds")).content.decode()
    assert "no API usage history at all" in page
    assert "Refundable" in page

    owner_client.post(
        reverse("credits:request_refund"), {"purchase": purchase.pk, "reason": "Bought by mistake"}
    )
    second = owner_client.post(
        reverse("credits:request_refund"), {"purchase": purchase.pk, "reason": "Again"}, follow=True
    )

    assert RefundRequest.objects.count() == 1
    assert "A request is pending review." in second.content.decode()


def test_approval_refunds_once_reverses_lots_and_drops_tier(
    owner, purchase, stripe_refunds, django_capture_on_commit_callbacks
):
    request = refunds.refund_request(
        organization=owner.organization, purchase_id=purchase.pk, reason="mistake", user=owner.user, now=NOW
    )
    staff = UserFactory(is_staff=True)

    with django_capture_on_commit_callbacks(execute=True):
        refunds.refund_approve(request_id=request.pk, staff=staff, now=NOW)
        refunds.refund_approve(request_id=request.pk, staff=staff, now=NOW)

    assert len(stripe_refunds) == 1
    assert stripe_refunds[0]["amount_cents"] == 50_000
    request.refresh_from_db()
    purchase.refresh_from_db()
    account = CreditAccount.objects.get(organization=owner.organization)
    assert (request.status, request.stripe_refund_id, purchase.status) == (
        RefundStatus.REFUNDED, "re_1", PurchaseStatus.REFUNDED,
    )
    assert account.balance_micros == 0
    assert current_tier(account=account, today=NOW.date()) == Tier.NONE
    assert [m.subject for m in mail.outbox] == ["Your refund was approved"]


def test_stripe_failure_leaves_it_approved_unpaid_and_retryable(owner, purchase, monkeypatch):
    request = refunds.refund_request(
        organization=owner.organization, purchase_id=purchase.pk, reason="mistake", user=owner.user, now=NOW
    )

    def down(**kwargs):
        raise CreditsError("Stripe is unavailable", code="stripe_unavailable")

    monkeypatch.setattr(refunds, "refund_payment", down)
    refunds.refund_approve(request_id=request.pk, staff=None, now=NOW)

    request.refresh_from_db()
    assert (request.status, request.last_error) == (RefundStatus.APPROVED_UNPAID, "Stripe is unavailable")
    assert CreditAccount.objects.get(organization=owner.organization).balance_micros == 525_000_000

    monkeypatch.setattr(refunds, "refund_payment", lambda **kwargs: "re_ok")
    refunds.refund_approve(request_id=request.pk, staff=None, now=NOW)
    request.refresh_from_db()
    assert request.status == RefundStatus.REFUNDED


def test_usage_while_pending_makes_it_ineligible(owner, purchase, stripe_refunds):
    request = refunds.refund_request(
        organization=owner.organization, purchase_id=purchase.pk, reason="mistake", user=owner.user, now=NOW
    )
    debit_usage(organization=owner.organization, cost_micros=5, now=NOW)

    with pytest.raises(CreditsError) as error:
        refunds.refund_approve(request_id=request.pk, staff=None, now=NOW)

    assert error.value.code == "ineligible"
    assert stripe_refunds == []


def test_reject_with_reason_emails_the_customer(owner, purchase, django_capture_on_commit_callbacks):
    request = refunds.refund_request(
        organization=owner.organization, purchase_id=purchase.pk, reason="mistake", user=owner.user, now=NOW
    )

    with pytest.raises(CreditsError):
        refunds.refund_reject(request_id=request.pk, staff=None, note=" ", now=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        refunds.refund_reject(request_id=request.pk, staff=None, note="Used for production", now=NOW)

    request.refresh_from_db()
    assert (request.status, request.decision_note) == (RefundStatus.REJECTED, "Used for production")
    assert "Used for production" in mail.outbox[0].body


def test_staff_approve_and_reject_in_admin(client, owner, purchase, stripe_refunds):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    request = refunds.refund_request(
        organization=owner.organization, purchase_id=purchase.pk, reason="mistake", user=owner.user, now=NOW
    )

    listing = client.get(reverse("admin:credits_refundrequest_changelist"))
    assert listing.status_code == 200
    client.post(
        reverse("admin:credits_refundrequest_changelist"),
        {"action": "approve_selected", "_selected_action": [request.pk]},
    )

    request.refresh_from_db()
    assert request.status == RefundStatus.REFUNDED
    assert request.reviewed_by == staff


def test_member_cannot_request_refunds(client, purchase, owner):
    member = MembershipFactory(organization=owner.organization, role=Role.MEMBER)
    client.force_login(member.user)

    response = client.post(reverse("credits:request_refund"), {"purchase": purchase.pk, "reason": "x"})

    assert response.status_code == 403
    assert RefundRequest.objects.count() == 0


def test_purchase_of_another_organization_cannot_be_requested(client, purchase):
    stranger = MembershipFactory(role=Role.OWNER)
    client.force_login(stranger.user)

    client.post(reverse("credits:request_refund"), {"purchase": purchase.pk, "reason": "x"})

    assert RefundRequest.objects.count() == 0


def test_admin_list_shows_a_request_made_ineligible_by_later_usage(client, owner, purchase):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    refunds.refund_request(
        organization=owner.organization, purchase_id=purchase.pk, reason="mistake", user=owner.user, now=NOW
    )
    listing = lambda: client.get(reverse("admin:credits_refundrequest_changelist")).content.decode()  # noqa: E731
    assert 'alt="True"' in listing()

    debit_usage(organization=owner.organization, cost_micros=5, now=NOW)

    assert 'alt="False"' in listing()
