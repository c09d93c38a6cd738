"""Stripe failing under the buy flow and the auto-recharge job: unreachable, answering 500,
or the process dying between the charge and the grant. Nothing is granted without a
charge, a retry grants exactly once, and localstripe holds exactly one PaymentIntent."""

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse
from django.utils import timezone

from credits.exceptions import PaymentProviderUnavailable
from credits.models import ChargeStatus, PaymentAttempt, Purchase, PurchaseStatus, RechargeCharge, StripeEvent
from credits.services import checkout, purchases, recharge_jobs, webhooks
from credits.services.recharge import RechargeSettings, recharge_save
from tests import localstripe
from tests.factories import MembershipFactory, saved_card
from tests.reliability.books import assert_books, balance

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# Nothing listens on the discard port: every connection is refused at once.
UNREACHABLE = "http://127.0.0.1:9"
HUNDRED_WITH_BONUS = 103_000_000


class _Failing(BaseHTTPRequestHandler):
    def _fail(self):
        self.requests.append(self.path)
        body = b'{"error": {"type": "api_error", "message": "Something went wrong on our end."}}'
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = _fail

    def log_message(self, *args):
        pass


@pytest.fixture
def stripe_500():
    """A Stripe that answers 500 to everything; yields (url, paths it was asked for)."""
    requests: list[str] = []
    handler = type("Handler", (_Failing,), {"requests": requests})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def shopper(stripe_server):
    membership = MembershipFactory()
    card = saved_card(membership.organization, localstripe.VISA, stripe_server)
    return membership, card


def _pay(membership, card, now, token="token-1"):
    return checkout.purchase_pay(
        organization=membership.organization,
        user=membership.user,
        amount_cents=5_000,
        payment_method_id=card.pk,
        token=token,
        refund_policy_accepted=True,
        now=now,
    )


def _plan(organization, now):
    return recharge_save(
        organization=organization,
        settings=RechargeSettings(amount_cents=10_000, frequency="monthly", billing_date=now.date()),
        user=None,
        now=now,
        refund_policy_accepted=True,
    )


def _assert_retry_safe(purchase_key_prefix):
    purchase = Purchase.objects.get(key__startswith=purchase_key_prefix)
    assert (purchase.status, purchase.granted_at, purchase.stripe_payment_intent_id) == (
        PurchaseStatus.PENDING,
        None,
        None,
    )
    assert PaymentAttempt.objects.count() == 0
    return purchase


@pytest.mark.parametrize("fault", ["unreachable", "500"])
def test_buy_while_stripe_is_down_grants_nothing_and_the_retry_pays_once(
    fault, shopper, stripe_server, stripe_500, settings
):
    membership, card = shopper
    now = timezone.now()
    settings.STRIPE_API_BASE = UNREACHABLE if fault == "unreachable" else stripe_500[0]

    with pytest.raises(PaymentProviderUnavailable):
        _pay(membership, card, now)

    _assert_retry_safe("checkout:")
    assert balance(membership.organization) == 0
    assert stripe_server.payment_intents() == []
    if fault == "500":
        assert any(path.startswith("/v1/payment_intents") for path in stripe_500[1])

    settings.STRIPE_API_BASE = stripe_server.url
    result = _pay(membership, card, now)
    # The same form sent a third time changes nothing.
    again = _pay(membership, card, now)

    assert result.outcome == again.outcome == checkout.Outcome.SUCCEEDED
    assert Purchase.objects.count() == 1
    assert len(stripe_server.payment_intents()) == 1
    assert_books(membership.organization, expected_micros=50_000_000, stripe_server=stripe_server)


def test_buy_page_shows_a_clear_error_when_stripe_answers_500(
    shopper, stripe_server, stripe_500, settings, client
):
    membership, card = shopper
    client.force_login(membership.user)
    settings.STRIPE_API_BASE = stripe_500[0]

    response = client.post(
        reverse("credits:buy"),
        {"amount": "50.00", "payment_method": card.pk, "accept_refund_policy": "on", "token": "t" * 24},
    )

    assert response.status_code == 400
    assert "We could not reach our payment provider. Nothing was charged" in response.content.decode()
    _assert_retry_safe("checkout:")
    assert balance(membership.organization) == 0
    assert stripe_server.payment_intents() == []


@pytest.mark.parametrize("fault", ["unreachable", "500"])
def test_recharge_while_stripe_is_down_grants_nothing_and_the_next_run_pays_once(
    fault, shopper, stripe_server, stripe_500, settings
):
    membership, _ = shopper
    now = timezone.now()
    _plan(membership.organization, now)
    settings.STRIPE_API_BASE = UNREACHABLE if fault == "unreachable" else stripe_500[0]

    assert recharge_jobs.run_recharges(now=now)["paid"] == 0

    charge = RechargeCharge.objects.get()
    # Shown as delayed (credit page, admin) and retried under the same key.
    assert (charge.status, charge.attempts) == (ChargeStatus.UNREACHABLE, 0)
    assert "could not reach our payment provider" in charge.last_error
    _assert_retry_safe("recharge:")
    assert balance(membership.organization) == 0
    assert stripe_server.payment_intents() == []

    settings.STRIPE_API_BASE = stripe_server.url
    # Retried only when it is due again, and only once.
    assert recharge_jobs.run_recharges(now=now + timedelta(minutes=1))["paid"] == 0
    assert recharge_jobs.run_recharges(now=now + timedelta(minutes=11))["paid"] == 1
    assert recharge_jobs.run_recharges(now=now + timedelta(minutes=30))["paid"] == 0

    charge.refresh_from_db()
    assert charge.status == ChargeStatus.SUCCEEDED
    assert len(stripe_server.payment_intents()) == 1
    assert_books(membership.organization, expected_micros=HUNDRED_WITH_BONUS, stripe_server=stripe_server)


def _die_once(monkeypatch, module, name):
    real = getattr(module, name)
    calls = []

    def dying(*args, **kwargs):
        if not calls:
            calls.append(1)
            raise SystemExit("killed between the charge and the grant")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, dying)


@pytest.mark.parametrize("recovery", ["confirm", "webhook", "resubmit"])
def test_buy_killed_between_charge_and_grant_is_granted_once(recovery, shopper, stripe_server, monkeypatch):
    membership, card = shopper
    now = timezone.now()
    _die_once(monkeypatch, checkout, "record_purchase")

    with pytest.raises(SystemExit):
        _pay(membership, card, now)

    purchase = Purchase.objects.get()
    (intent,) = stripe_server.payment_intents()
    assert intent["status"] == "succeeded"
    assert (purchase.granted_at, purchase.stripe_payment_intent_id) == (None, intent["id"])
    assert balance(membership.organization) == 0

    if recovery == "confirm":
        result = checkout.purchase_confirm(
            organization=membership.organization, purchase_id=purchase.pk, now=now
        )
        assert result.outcome == checkout.Outcome.SUCCEEDED
    elif recovery == "webhook":
        payload = {"id": "evt_reliability_1", "type": "payment_intent.succeeded", "data": {"object": intent}}
        for _ in range(2):
            event = webhooks.stripe_event_store(payload=payload, now=now)
            webhooks.stripe_event_process(event_id=event.pk, now=now)
        assert StripeEvent.objects.get().processed_at is not None
    else:
        # The customer sends the same form again: it is answered from Stripe, not recharged.
        assert _pay(membership, card, now).outcome == checkout.Outcome.SUCCEEDED

    # Every other path arriving late changes nothing.
    purchases.record_purchase(purchase_id=purchase.pk, now=now)
    checkout.purchase_confirm(organization=membership.organization, purchase_id=purchase.pk, now=now)
    assert len(stripe_server.payment_intents()) == 1
    assert_books(membership.organization, expected_micros=50_000_000, stripe_server=stripe_server)


def test_recharge_killed_between_charge_and_grant_is_granted_once_on_the_next_run(
    shopper, stripe_server, monkeypatch
):
    membership, _ = shopper
    now = timezone.now()
    _plan(membership.organization, now)
    # The grant (record_purchase) dies after the charge's outcome has committed.
    _die_once(monkeypatch, recharge_jobs, "record_purchase")

    with pytest.raises(SystemExit):
        recharge_jobs.run_recharges(now=now)

    charge = RechargeCharge.objects.get()
    assert charge.status == ChargeStatus.PENDING and charge.purchase.stripe_payment_intent_id
    assert balance(membership.organization) == 0

    assert recharge_jobs.run_recharges(now=now + timedelta(minutes=1))["paid"] == 1
    assert recharge_jobs.run_recharges(now=now + timedelta(minutes=2))["paid"] == 0

    charge.refresh_from_db()
    assert charge.status == ChargeStatus.SUCCEEDED
    assert len(stripe_server.payment_intents()) == 1
    assert_books(membership.organization, expected_micros=HUNDRED_WITH_BONUS, stripe_server=stripe_server)
