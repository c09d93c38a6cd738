"""Buying credits through the buy page against localstripe: one charge, one grant."""

import threading
from unittest import mock

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from credits import stripe_client
from credits.exceptions import PaymentProviderUnavailable
from credits.models import (
    CreditLot,
    LedgerEntry,
    LotKind,
    PaymentAttempt,
    Purchase,
    PurchaseStatus,
)
from credits.services.checkout import Outcome, purchase_pay
from tests import localstripe
from tests.factories import MembershipFactory, saved_card

pytestmark = pytest.mark.django_db


def _buy(client, card, *, amount="500", token="token-1", accept=True):
    data = {"amount": amount, "payment_method": card.pk, "token": token}
    if accept:
        data["accept_refund_policy"] = "on"
    return client.post(reverse("credits:buy"), data)


def _lots(organization):
    return CreditLot.objects.filter(account__organization=organization)


def test_purchase_succeeds_and_grants_paid_and_bonus_once(owner_client, owner, stripe_server):
    card = saved_card(owner.organization, localstripe.VISA, stripe_server)

    response = _buy(owner_client, card)

    purchase = Purchase.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("credits:receipt", args=[purchase.pk])
    assert purchase.status == PurchaseStatus.SUCCEEDED
    assert (purchase.amount_cents, purchase.bonus_cents) == (50_000, 2_500)
    assert (purchase.card_brand, purchase.card_last4) == ("visa", "4242")
    assert purchase.refund_policy_accepted_at is not None and purchase.refund_policy_version
    lots = {lot.kind: lot.original_micros for lot in _lots(owner.organization)}
    assert lots == {LotKind.PAID: 500_000_000, LotKind.BONUS: 25_000_000}
    assert LedgerEntry.objects.count() == 2
    intents = stripe_server.payment_intents()
    assert [(i["id"], i["amount"], i["status"]) for i in intents] == [
        (purchase.stripe_payment_intent_id, 50_000, "succeeded")
    ]
    assert intents[0]["metadata"]["purchase_id"] == str(purchase.pk)


def test_receipt_after_purchase_shows_new_balance(owner_client, owner, stripe_server):
    card = saved_card(owner.organization, localstripe.VISA, stripe_server)

    response = owner_client.get(_buy(owner_client, card)["Location"])

    page = response.content.decode()
    assert "Payment received" in page
    assert '<p class="big" id="receipt-balance">$525.00</p>' in page


def test_double_submit_of_one_form_charges_once(owner_client, owner, stripe_server):
    card = saved_card(owner.organization, localstripe.VISA, stripe_server)

    first = _buy(owner_client, card, token="same")
    second = _buy(owner_client, card, token="same")

    purchase = Purchase.objects.get()
    assert first["Location"] == second["Location"] == reverse("credits:receipt", args=[purchase.pk])
    assert len(stripe_server.payment_intents()) == 1
    assert _lots(owner.organization).count() == 2
    assert LedgerEntry.objects.count() == 2


def test_two_forms_are_two_purchases(owner_client, owner, stripe_server):
    card = saved_card(owner.organization, localstripe.VISA, stripe_server)

    _buy(owner_client, card, amount="100", token="a")
    _buy(owner_client, card, amount="100", token="b")

    assert Purchase.objects.filter(status=PurchaseStatus.SUCCEEDED).count() == 2
    assert len(stripe_server.payment_intents()) == 2


def test_declined_charge_stays_on_form_with_bank_message_and_grants_nothing(
    owner_client, owner, stripe_server
):
    card = saved_card(owner.organization, localstripe.CHARGE_DECLINED, stripe_server)

    response = _buy(owner_client, card)

    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="payment-error"' in page and "Your card was declined." in page
    assert 'value="500"' in page
    purchase = Purchase.objects.get()
    assert purchase.status == PurchaseStatus.FAILED
    assert purchase.failure_message == "Your card was declined."
    assert purchase.granted_at is None
    assert not _lots(owner.organization).exists()
    assert LedgerEntry.objects.count() == 0


def test_resubmitting_a_declined_form_does_not_charge_again(owner_client, owner, stripe_server):
    card = saved_card(owner.organization, localstripe.CHARGE_DECLINED, stripe_server)

    _buy(owner_client, card, token="declined")
    again = _buy(owner_client, card, token="declined")

    assert "Your card was declined." in again.content.decode()
    assert len(stripe_server.payment_intents()) == 1


def test_three_d_secure_completes_after_authentication(owner_client, owner, stripe_server):
    card = saved_card(owner.organization, localstripe.THREE_D_SECURE, stripe_server)

    page = _buy(owner_client, card)

    purchase = Purchase.objects.get()
    assert page.status_code == 200
    assert purchase.status == PurchaseStatus.REQUIRES_ACTION
    assert not _lots(owner.organization).exists()
    client_secret = page.context["client_secret"]
    assert f'data-client-secret="{client_secret}"' in page.content.decode()
    stripe_server.authenticate(client_secret, success=True)

    response = owner_client.post(reverse("credits:buy_confirm", args=[purchase.pk]))

    assert response["Location"] == reverse("credits:receipt", args=[purchase.pk])
    purchase.refresh_from_db()
    assert purchase.status == PurchaseStatus.SUCCEEDED
    assert _lots(owner.organization).count() == 2
    assert len(stripe_server.payment_intents()) == 1


def test_failed_authentication_grants_nothing(owner_client, owner, stripe_server):
    card = saved_card(owner.organization, localstripe.THREE_D_SECURE, stripe_server)
    page = _buy(owner_client, card)
    stripe_server.authenticate(page.context["client_secret"], success=False)
    purchase = Purchase.objects.get()

    response = owner_client.post(reverse("credits:buy_confirm", args=[purchase.pk]), follow=True)

    purchase.refresh_from_db()
    assert purchase.status == PurchaseStatus.FAILED
    html = response.content.decode()
    # Stripe's developer wording is replaced by what happened and what to do next.
    assert "failed authentication" not in html
    assert "Your bank did not confirm this payment, so nothing was charged." in html
    assert purchase.failure_message == stripe_client.AUTHENTICATION_FAILED_MESSAGE
    assert response.redirect_chain[-1][0] == f"{reverse('credits:buy')}?amount=500.00"
    assert not _lots(owner.organization).exists()


def test_confirm_without_authenticating_grants_nothing(owner_client, owner, stripe_server):
    """The browser cannot claim success: the server asks Stripe, which still waits."""
    card = saved_card(owner.organization, localstripe.THREE_D_SECURE, stripe_server)
    _buy(owner_client, card)
    purchase = Purchase.objects.get()

    response = owner_client.post(reverse("credits:buy_confirm", args=[purchase.pk]))

    assert response.status_code == 200  # the authentication page again
    assert not _lots(owner.organization).exists()


def test_unchecked_refund_policy_is_refused(owner_client, owner, stripe_server):
    card = saved_card(owner.organization, localstripe.VISA, stripe_server)

    response = _buy(owner_client, card, accept=False)

    assert response.status_code == 400
    assert "Please accept the refund policy" in response.content.decode()
    assert not Purchase.objects.exists()
    assert stripe_server.payment_intents() == []


def test_refund_policy_is_enforced_by_the_service_too(owner, stripe_server):
    card = saved_card(owner.organization, localstripe.VISA, stripe_server)

    with pytest.raises(Exception, match="refund policy") as error:
        purchase_pay(
            organization=owner.organization, user=owner.user, amount_cents=50_000,
            payment_method_id=card.pk, token="t", refund_policy_accepted=False, now=timezone.now(),
        )

    assert error.value.code == "refund_policy_not_accepted"
    assert not Purchase.objects.exists()


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("9.99", "The minimum is $10.00."),
        ("100000.01", "The maximum is $100,000.00."),
        ("12.345", "Use whole cents"),
        ("ten", "Enter an amount in dollars"),
        ("", "Enter an amount between $10 and $100,000."),
    ],
)
def test_amounts_out_of_range_are_refused_with_a_clear_message(
    owner_client, owner, stripe_server, amount, message
):
    card = saved_card(owner.organization, localstripe.VISA, stripe_server)

    response = _buy(owner_client, card, amount=amount)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Purchase.objects.exists()


def test_limits_are_accepted(owner_client, owner, stripe_server):
    card = saved_card(owner.organization, localstripe.VISA, stripe_server)

    _buy(owner_client, card, amount="10", token="min")
    _buy(owner_client, card, amount="100000.00", token="max")

    assert sorted(Purchase.objects.values_list("amount_cents", flat=True)) == [1_000, 10_000_000]


def test_another_organizations_card_cannot_be_used(owner_client, owner, stripe_server):
    stranger = MembershipFactory()
    card = saved_card(stranger.organization, localstripe.VISA, stripe_server)

    response = _buy(owner_client, card)

    assert response.status_code == 400
    assert not Purchase.objects.exists()


def test_provider_outage_leaves_purchase_pending_and_the_same_form_can_retry(owner, stripe_server):
    card = saved_card(owner.organization, localstripe.VISA, stripe_server)
    pay = dict(
        organization=owner.organization, user=owner.user, amount_cents=50_000,
        payment_method_id=card.pk, token="retry", refund_policy_accepted=True,
    )
    outage = PaymentProviderUnavailable("We could not reach our payment provider.")
    with mock.patch(
        "credits.stripe_client.payment_intent_create_and_confirm", side_effect=outage
    ), pytest.raises(PaymentProviderUnavailable):
        purchase_pay(**pay, now=timezone.now())

    purchase = Purchase.objects.get()
    assert purchase.status == PurchaseStatus.PENDING
    assert not PaymentAttempt.objects.exists()
    assert not _lots(owner.organization).exists()

    result = purchase_pay(**pay, now=timezone.now())

    assert result.outcome == Outcome.SUCCEEDED
    assert Purchase.objects.get().pk == purchase.pk
    assert _lots(owner.organization).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_submits_of_one_form_charge_once(owner, stripe_server):
    card = saved_card(owner.organization, localstripe.VISA, stripe_server)
    barrier = threading.Barrier(4)
    outcomes, errors = [], []

    def submit():
        try:
            barrier.wait()
            result = purchase_pay(
                organization=owner.organization, user=owner.user, amount_cents=50_000,
                payment_method_id=card.pk, token="raced", refund_policy_accepted=True,
                now=timezone.now(),
            )
            outcomes.append(result.outcome)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Outcome.SUCCEEDED in outcomes
    assert set(outcomes) <= {Outcome.SUCCEEDED, Outcome.PROCESSING}
    assert Purchase.objects.count() == 1
    assert len(stripe_server.payment_intents()) == 1
    assert _lots(owner.organization).count() == 2
