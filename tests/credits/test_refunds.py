from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import Role
from credits.exceptions import CreditsError
from credits.models import (
    CreditAccount,
    CreditLot,
    LotKind,
    PurchaseStatus,
    RefundRequest,
    RefundStatus,
    Tier,
)
from credits.selectors.history import all_history_rows
from credits.selectors.ledger import ledger_invariant_violations
from credits.selectors.refunds import purchases_refundability
from credits.selectors.tiers import current_tier
from credits.services import refunds
from credits.services.jobs import run_due_jobs
from credits.services.ledger import adjust_credits, debit_usage
from tests import fake_stripe
from tests.factories import MembershipFactory, UserFactory, paid_purchase

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 9, tzinfo=UTC)


@pytest.fixture
def stripe(monkeypatch):
    """Stripe scripted at stripe_client; `stripe.refunds` records each refund it made."""
    return fake_stripe.ScriptedStripe(monkeypatch)


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
    owner, purchase, stripe, django_capture_on_commit_callbacks
):
    request = refunds.refund_request(
        organization=owner.organization, purchase_id=purchase.pk, reason="mistake", user=owner.user, now=NOW
    )
    staff = UserFactory(is_staff=True)

    with django_capture_on_commit_callbacks(execute=True):
        refunds.refund_approve(request_id=request.pk, staff=staff, now=NOW)
        refunds.refund_approve(request_id=request.pk, staff=staff, now=NOW)

    assert len(stripe.refunds) == 1
    assert stripe.refunds[0]["amount_cents"] == 50_000
    request.refresh_from_db()
    purchase.refresh_from_db()
    account = CreditAccount.objects.get(organization=owner.organization)
    assert (request.status, request.stripe_refund_id, purchase.status) == (
        RefundStatus.REFUNDED, "re_fake1", PurchaseStatus.REFUNDED,
    )
    assert account.balance_micros == 0
    assert current_tier(account=account, today=NOW.date()) == Tier.NONE
    assert [m.subject for m in mail.outbox] == ["Your refund was approved"]


def test_a_refund_of_a_purchase_that_paid_off_a_debt_puts_the_debt_back(
    owner, stripe, django_capture_on_commit_callbacks
):
    """A staff correction left the balance at -$20 (no API usage, so purchases stay
    refundable); the next $100 purchase paid it off first. Refunding the purchase returns
    all $100 to the card, so the $20 is owed again rather than forgotten."""
    organization = owner.organization
    adjust_credits(
        organization=organization, amount_micros=-20_000_000, reason="correction", created_by=None, now=NOW
    )
    purchase = paid_purchase(organization, 10_000, NOW + timedelta(hours=1))
    assert CreditAccount.objects.get(organization=organization).balance_micros == 83_000_000
    request = refunds.refund_request(
        organization=organization, purchase_id=purchase.pk, reason="mistake", user=owner.user, now=NOW
    )

    with django_capture_on_commit_callbacks(execute=True):
        refunds.refund_approve(request_id=request.pk, staff=None, now=NOW + timedelta(hours=2))

    assert [refund["amount_cents"] for refund in stripe.refunds] == [10_000]
    assert CreditAccount.objects.get(organization=organization).balance_micros == -20_000_000
    overage = CreditLot.objects.get(account__organization=organization, kind=LotKind.OVERAGE)
    assert overage.remaining_micros == -20_000_000
    assert ledger_invariant_violations() == []


def test_stripe_failure_leaves_it_approved_with_the_credits_taken_back_and_retryable(
    owner, purchase, stripe, django_capture_on_commit_callbacks
):
    """The credits are taken back before Stripe is asked (so usage cannot spend them while
    the refund is in flight); Stripe failing leaves the money owed, not the credits back."""
    request = refunds.refund_request(
        organization=owner.organization, purchase_id=purchase.pk, reason="mistake", user=owner.user, now=NOW
    )
    stripe.refund_script = [fake_stripe.UNAVAILABLE]

    with django_capture_on_commit_callbacks(execute=True):
        refunds.refund_approve(request_id=request.pk, staff=None, now=NOW)

    request.refresh_from_db()
    purchase.refresh_from_db()
    assert (request.status, request.last_error) == (RefundStatus.APPROVED_UNPAID, "Stripe is unavailable")
    # Not "Refunded" until the money has moved: the customer sees it on its way.
    assert purchase.status == PurchaseStatus.REFUNDING
    [row] = all_history_rows(organization=owner.organization)
    assert (row.status, row.reason) == ("paid", "Refund approved; it is on its way to your card.")
    assert CreditAccount.objects.get(organization=owner.organization).balance_micros == 0
    assert mail.outbox == []  # the customer hears of it once it is paid
    # The money is owed now: the request cannot be rejected any more, only paid.
    with pytest.raises(CreditsError) as refused:
        refunds.refund_reject(request_id=request.pk, staff=None, note="changed our mind", now=NOW)
    assert refused.value.code == "not_open"

    with django_capture_on_commit_callbacks(execute=True):
        refunds.refund_approve(request_id=request.pk, staff=None, now=NOW)
    request.refresh_from_db()
    purchase.refresh_from_db()
    assert (request.status, request.stripe_refund_id, request.last_error, purchase.status) == (
        RefundStatus.REFUNDED, "re_fake1", "", PurchaseStatus.REFUNDED
    )
    assert len(stripe.refunds) == 1
    assert [m.subject for m in mail.outbox] == ["Your refund was approved"]
    assert CreditAccount.objects.get(organization=owner.organization).balance_micros == 0


def test_the_job_pays_an_approved_refund_that_stripe_did_not(owner, purchase, stripe):
    request = refunds.refund_request(
        organization=owner.organization, purchase_id=purchase.pk, reason="mistake", user=owner.user, now=NOW
    )
    stripe.refund_script = [fake_stripe.UNAVAILABLE]
    refunds.refund_approve(request_id=request.pk, staff=None, now=NOW)

    # Not while the approval may still be in flight, nor right after Stripe failed again.
    assert run_due_jobs(now=NOW + timedelta(minutes=1), only=["unpaid_refunds"]) == {"unpaid_refunds": 0}
    stripe.refund_script = [fake_stripe.UNAVAILABLE]
    assert run_due_jobs(now=NOW + timedelta(minutes=11), only=["unpaid_refunds"]) == {"unpaid_refunds": 0}
    assert run_due_jobs(now=NOW + timedelta(minutes=12), only=["unpaid_refunds"]) == {"unpaid_refunds": 0}
    assert run_due_jobs(now=NOW + timedelta(minutes=22), only=["unpaid_refunds"]) == {"unpaid_refunds": 1}
    assert run_due_jobs(now=NOW + timedelta(minutes=40), only=["unpaid_refunds"]) == {"unpaid_refunds": 0}

    request.refresh_from_db()
    assert request.status == RefundStatus.REFUNDED
    assert len(stripe.refunds) == 1


def test_usage_during_the_stripe_call_is_owed_not_served_from_the_refunded_credits(
    owner, purchase, stripe, monkeypatch
):
    """No account lock is held while Stripe is asked: usage that lands then is debited, and
    with the purchase's credits already taken back it is owed (a negative balance)."""
    from credits import stripe_client

    request = refunds.refund_request(
        organization=owner.organization, purchase_id=purchase.pk, reason="mistake", user=owner.user, now=NOW
    )
    real_refund = stripe_client.refund_create

    def usage_lands_meanwhile(**kwargs):
        debit_usage(organization=owner.organization, cost_micros=7_000_000, now=NOW)
        return real_refund(**kwargs)

    monkeypatch.setattr(stripe_client, "refund_create", usage_lands_meanwhile)
    refunds.refund_approve(request_id=request.pk, staff=None, now=NOW)

    request.refresh_from_db()
    assert request.status == RefundStatus.REFUNDED
    assert CreditAccount.objects.get(organization=owner.organization).balance_micros == -7_000_000


def test_usage_while_pending_makes_it_ineligible(owner, purchase, stripe):
    request = refunds.refund_request(
        organization=owner.organization, purchase_id=purchase.pk, reason="mistake", user=owner.user, now=NOW
    )
    debit_usage(organization=owner.organization, cost_micros=5, now=NOW)

    with pytest.raises(CreditsError) as error:
        refunds.refund_approve(request_id=request.pk, staff=None, now=NOW)

    assert error.value.code == "ineligible"
    assert stripe.refunds == []
    request.refresh_from_db()
    assert request.status == RefundStatus.PENDING


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


def test_staff_approve_and_reject_in_admin(client, owner, purchase, stripe):
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
