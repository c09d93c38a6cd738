"""Every kind of charge gets exactly one receipt and one e-mail with its PDF, however often
the charge is confirmed; numbers have no gaps; billing details are frozen at issue."""

import hashlib
import hmac
import json
import time
from datetime import UTC, date, datetime, timedelta
from smtplib import SMTPException

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from credits.models import (
    BillingKind,
    BillingPolicy,
    ChargeKind,
    Purchase,
    Receipt,
    RechargeCharge,
)
from credits.services import ledger, recharge_jobs
from credits.services.billing_settings import BillingDetailsInput, billing_details_save
from credits.services.overage import charge_overage
from credits.services.purchases import purchase_create, record_purchase
from credits.services.receipts import send_receipt, send_unsent_receipts
from credits.services.recharge import RechargeSettings, recharge_save
from tests import fake_stripe, localstripe
from tests.credits.receipt_helpers import only_pdf, pdf_text, receipt_mails
from tests.factories import MembershipFactory, paid_purchase, saved_card

pytestmark = pytest.mark.django_db

START = datetime(2026, 1, 31, 8, tzinfo=UTC)
WEBHOOK_SECRET = "whsec_receipts"


@pytest.fixture
def owner(db):
    membership = MembershipFactory(role=Role.OWNER, user__email="owner@acme.example")
    organization = membership.organization
    MembershipFactory(organization=organization, role=Role.BILLING, user__email="billing@acme.example")
    # A plain member gets no receipts.
    MembershipFactory(organization=organization, role=Role.MEMBER, user__email="dev@acme.example")
    billing_details_save(
        organization=organization,
        details=BillingDetailsInput(
            legal_name="Acme Research GmbH",
            address="Hauptstrasse 5\n10115 Berlin",
            country="Germany",
            tax_id="DE123456789",
            billing_email="finance@acme.example",
        ),
        user=membership.user,
        now=START,
    )
    return membership


def _assert_one_receipt_mail(purchase: Purchase, *, amount: str, kind: str) -> str:
    receipt = Receipt.objects.get(purchase=purchase)
    assert receipt.kind == kind
    [message] = receipt_mails()
    assert message.subject.startswith(f"Receipt {receipt.display_number}")
    assert sorted(message.to) == ["billing@acme.example", "finance@acme.example", "owner@acme.example"]
    assert "/billing/history/" in message.body
    text = pdf_text(only_pdf(message))
    for expected in (amount, "Acme Research GmbH", "Hauptstrasse 5", "Germany", "DE123456789",
                     receipt.display_number, BillingPolicy.current().seller_name):
        assert expected in text, expected
    return text


def _signed_webhook(client, intent: dict, event_id: str):
    payload = json.dumps({
        "id": event_id, "object": "event", "api_version": "2025-01-27.acacia",
        "created": int(time.time()), "livemode": False, "type": "payment_intent.succeeded",
        "data": {"object": intent},
    }).encode()
    timestamp = int(time.time())
    signature = hmac.new(WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return client.post(
        reverse("credits:stripe_webhook"), payload, content_type="application/json",
        HTTP_STRIPE_SIGNATURE=f"t={timestamp},v1={signature.hexdigest()}",
    )


def test_purchase_confirmed_by_page_redirect_and_webhook_sends_one_receipt(
    client, owner, stripe_server, settings, django_capture_on_commit_callbacks
):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    card = saved_card(owner.organization, localstripe.VISA, stripe_server)
    client.force_login(owner.user)
    data = {"amount": "500", "payment_method": card.pk, "token": "t-1", "accept_refund_policy": "on"}

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("credits:buy"), data).status_code == 302
    purchase = Purchase.objects.get()
    text = _assert_one_receipt_mail(purchase, amount="$500.00", kind=BillingKind.PURCHASE)
    assert "$25.00" in text and "Visa ending 4242" in text
    assert f"Version {purchase.refund_policy_version}" in text

    # The page asks again, the form is sent again, and Stripe's webhook arrives: nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("credits:buy_confirm", args=[purchase.pk]))
        client.post(reverse("credits:buy"), data)
        intent = {
            "id": purchase.stripe_payment_intent_id, "object": "payment_intent", "amount": 50_000,
            "currency": "usd", "status": "succeeded", "payment_method": card.stripe_id,
            "metadata": {"purchase_id": str(purchase.pk)},
        }
        assert _signed_webhook(client, intent, "evt_receipt_1").status_code == 200
    assert Receipt.objects.count() == 1
    assert len(receipt_mails()) == 1


def _stripe(monkeypatch, organization):
    """Stripe scripted at stripe_client; the organization pays with its saved Mastercard."""
    fake_stripe.default_card(organization, brand="mastercard", last4="4444")
    return fake_stripe.ScriptedStripe(monkeypatch)


def _plan(owner, **extra):
    return recharge_save(
        organization=owner.organization,
        settings=RechargeSettings(
            amount_cents=10_000, frequency="monthly", billing_date=date(2026, 1, 31), **extra
        ),
        user=owner.user,
        now=START - timedelta(days=1),
        refund_policy_accepted=True,
    )


def test_auto_recharge_sends_one_receipt_carrying_the_plans_policy_acceptance(
    owner, monkeypatch, django_capture_on_commit_callbacks
):
    _stripe(monkeypatch, owner.organization)
    plan = _plan(owner)

    with django_capture_on_commit_callbacks(execute=True):
        recharge_jobs.run_recharges(now=START)
        recharge_jobs.run_recharges(now=START + timedelta(minutes=5))

    purchase = Purchase.objects.get()
    assert purchase.refund_policy_version == BillingPolicy.current().refund_policy_version
    assert purchase.refund_policy_accepted_at == plan.refund_policy_accepted_at == START - timedelta(days=1)
    assert plan.refund_policy_accepted_by == owner.user
    text = _assert_one_receipt_mail(purchase, amount="$100.00", kind=BillingKind.AUTO_RECHARGE)
    assert "Auto-recharge" in text and "Mastercard ending 4444" in text


def test_low_balance_top_up_sends_one_receipt(owner, monkeypatch, django_capture_on_commit_callbacks):
    _stripe(monkeypatch, owner.organization)
    paid_purchase(owner.organization, 10_000, START - timedelta(days=2))
    recharge_save(
        organization=owner.organization,
        settings=RechargeSettings(
            amount_cents=10_000, frequency="monthly", billing_date=date(2026, 2, 20),
            threshold_enabled=True, threshold_micros=50_000_000, max_threshold_recharges=3,
            max_threshold_cents=30_000,
        ),
        user=owner.user,
        now=START - timedelta(days=1),
        refund_policy_accepted=True,
    )
    ledger.debit_usage(organization=owner.organization, cost_micros=90_000_000, now=START, reference="u1")

    with django_capture_on_commit_callbacks(execute=True):
        recharge_jobs.run_recharges(now=START + timedelta(hours=1))
        recharge_jobs.run_recharges(now=START + timedelta(hours=2))

    top_up = RechargeCharge.objects.get(kind=ChargeKind.THRESHOLD).purchase
    _assert_one_receipt_mail(top_up, amount="$100.00", kind=BillingKind.TOP_UP)


def test_overage_charge_sends_one_receipt(owner, monkeypatch, django_capture_on_commit_callbacks):
    fake_stripe.ScriptedStripe(monkeypatch)
    organization = owner.organization
    fake_stripe.default_card(organization)
    organization.created_at = datetime(2026, 1, 1, tzinfo=UTC)
    organization.save()
    ledger.debit_usage(
        organization=organization, cost_micros=12_345_678, now=START - timedelta(days=20), reference="u"
    )

    with django_capture_on_commit_callbacks(execute=True):
        charge = charge_overage(organization=organization, now=datetime(2026, 2, 2, tzinfo=UTC))
        assert charge_overage(organization=organization, now=datetime(2026, 2, 3, tzinfo=UTC)) is None

    text = _assert_one_receipt_mail(charge.purchase, amount="$12.35", kind=BillingKind.OVERAGE)
    assert "Overage" in text


def test_numbers_have_no_gaps_even_when_a_grant_rolls_back(owner):
    now = timezone.now()
    first = paid_purchase(owner.organization, 1_000, now)
    doomed = purchase_create(
        organization=owner.organization, amount_cents=2_000, key="doomed", created_by=None,
        refund_policy_version="v", refund_policy_accepted_at=now, now=now,
    )
    with pytest.raises(RuntimeError), transaction.atomic():
        record_purchase(purchase_id=doomed.pk, now=now)
        raise RuntimeError("the grant's transaction fails after the number was taken")
    second = paid_purchase(owner.organization, 3_000, now)
    record_purchase(purchase_id=doomed.pk, now=now)

    numbers = [Receipt.objects.get(purchase=p).number for p in (first, second, doomed)]
    assert numbers == [numbers[0], numbers[0] + 1, numbers[0] + 2]


def test_receipts_keep_the_details_they_were_issued_with(owner, client):
    old = paid_purchase(owner.organization, 1_000, timezone.now())
    billing_details_save(
        organization=owner.organization,
        details=BillingDetailsInput(legal_name="Acme Holdings Ltd", address="1 New Road", country="Ireland"),
        user=owner.user,
        now=timezone.now(),
    )
    new = paid_purchase(owner.organization, 2_000, timezone.now())
    client.force_login(owner.user)

    old_text = pdf_text(client.get(reverse("credits:receipt_pdf", args=[old.pk])).content)
    new_text = pdf_text(client.get(reverse("credits:receipt_pdf", args=[new.pk])).content)
    old_page = client.get(reverse("credits:receipt", args=[old.pk])).content.decode()

    assert "Acme Research GmbH" in old_text and "Acme Holdings Ltd" not in old_text
    assert "Acme Holdings Ltd" in new_text and "Ireland" in new_text and "$20.00" in new_text
    assert "Acme Research GmbH" in old_page and "DE123456789" in old_page


# A mail server's refusal, or anything else failing after the send is claimed (a bug, a
# header Django refuses): the receipt is left for the job, never marked as sent.
@pytest.mark.parametrize("failure", [SMTPException("mail server down"), ValueError("something unexpected")])
def test_a_receipt_is_mailed_once_and_a_refused_mail_is_retried_by_the_job(owner, monkeypatch, failure):
    purchase = paid_purchase(owner.organization, 1_000, START)
    receipt = Receipt.objects.get(purchase=purchase)
    real_send = EmailMessage.send

    def refuse(self, *args, **kwargs):
        raise failure

    monkeypatch.setattr(EmailMessage, "send", refuse)
    assert send_receipt(receipt_id=receipt.pk, now=START) is False
    receipt.refresh_from_db()
    assert receipt.emailed_at is None

    monkeypatch.setattr(EmailMessage, "send", real_send)
    assert send_unsent_receipts(now=START + timedelta(minutes=1)) == 0  # too early to retry
    assert send_unsent_receipts(now=START + timedelta(minutes=10)) == 1
    assert send_unsent_receipts(now=START + timedelta(minutes=20)) == 0
    assert send_receipt(receipt_id=receipt.pk, now=START) is False
    assert len(receipt_mails()) == 1


def test_refund_sends_a_confirmation_and_marks_the_receipt(
    owner, monkeypatch, django_capture_on_commit_callbacks
):
    from credits.services import refunds

    fake_stripe.ScriptedStripe(monkeypatch)
    purchase = paid_purchase(owner.organization, 5_000, START)
    request = refunds.refund_request(
        organization=owner.organization, purchase_id=purchase.pk, reason="Bought twice", user=owner.user,
        now=START,
    )
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        refunds.refund_approve(request_id=request.pk, staff=None, now=START + timedelta(days=1))

    [message] = mail.outbox
    receipt = Receipt.objects.get(purchase=purchase)
    assert message.subject == "Your refund was approved"
    assert "This confirms your refund" in message.body
    assert receipt.display_number in message.body and "$50.00" in message.body
    assert "/billing/history/" in message.body
    assert sorted(message.to) == ["billing@acme.example", "owner@acme.example"]


def test_an_organization_name_with_a_line_break_still_gets_its_receipt(
    owner, django_capture_on_commit_callbacks
):
    organization = owner.organization
    organization.name = "Acme\nLabs"  # a name typed with a line break (a form keeps an inner one)
    organization.save()

    with django_capture_on_commit_callbacks(execute=True):
        paid_purchase(organization, 5_000, START)

    [sent] = receipt_mails()
    assert sent.subject.endswith("for Acme Labs")
    assert Receipt.objects.get().emailed_at is not None
