"""Billing history: exactly the organization's charges and refunds, newest first, with the
right status after a decline, a retry and a refund; the CSV holds the same rows."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from credits.exceptions import CardDeclined
from credits.models import HistoryStatus
from credits.selectors.history import all_history_rows, history_keys, history_rows
from credits.services import ledger, recharge_jobs, refunds
from credits.services.overage import charge_overage
from credits.services.purchases import purchase_create, purchase_mark_failed
from credits.services.recharge import RechargeSettings, recharge_save
from tests import fake_stripe
from tests.factories import MembershipFactory, paid_purchase

pytestmark = pytest.mark.django_db

START = datetime(2026, 1, 31, 8, tzinfo=UTC)


def _rows(organization):
    return list(all_history_rows(organization=organization))


def _statuses(organization):
    return [(row.kind, row.status) for row in _rows(organization)]


def test_history_lists_only_this_organizations_charges_newest_first(owner_client, owner):
    mine_old = paid_purchase(owner.organization, 1_000, START)
    mine_new = paid_purchase(owner.organization, 2_000, START + timedelta(days=1))
    stranger = MembershipFactory()
    theirs = paid_purchase(stranger.organization, 3_000, START + timedelta(days=2))

    rows = _rows(owner.organization)
    page = owner_client.get(reverse("credits:billing_history")).content.decode()

    assert [row.purchase_id for row in rows] == [mine_new.pk, mine_old.pk]
    assert [(row.kind, row.status, row.amount_cents) for row in rows] == [
        ("purchase", "paid", 2_000), ("purchase", "paid", 1_000),
    ]
    assert reverse("credits:receipt_pdf", args=[mine_new.pk]) in page
    assert reverse("credits:receipt", args=[theirs.pk]) not in page
    assert theirs.receipt_number not in page
    for name in ("credits:receipt", "credits:receipt_pdf"):
        assert owner_client.get(reverse(name, args=[theirs.pk])).status_code == 404


def test_declined_purchase_shows_the_banks_reason_and_no_receipt(owner_client, owner):
    now = timezone.now()
    declined = purchase_create(
        organization=owner.organization, amount_cents=5_000, key="d", created_by=None,
        refund_policy_version="v", refund_policy_accepted_at=now, now=now,
    )
    purchase_mark_failed(purchase_id=declined.pk, message="Your card has insufficient funds.")

    [row] = _rows(owner.organization)
    page = owner_client.get(reverse("credits:billing_history")).content.decode()

    assert (row.status, row.reason, row.has_receipt) == (
        HistoryStatus.FAILED, "Your card has insufficient funds.", False
    )
    assert "Your card has insufficient funds." in page
    assert owner_client.get(reverse("credits:receipt_pdf", args=[declined.pk])).status_code == 404


def test_auto_recharge_decline_then_retry_then_paid(owner, monkeypatch):
    stripe = fake_stripe.ScriptedStripe(monkeypatch)
    stripe.script = [fake_stripe.DECLINED, fake_stripe.SUCCEEDED]
    fake_stripe.default_card(owner.organization, brand="mastercard", last4="4444")
    recharge_save(
        organization=owner.organization,
        settings=RechargeSettings(amount_cents=10_000, frequency="monthly", billing_date=date(2026, 1, 31)),
        user=None, now=START, refund_policy_accepted=True,
    )

    recharge_jobs.run_recharges(now=START)
    [row] = _rows(owner.organization)
    assert (row.kind, row.status, row.has_receipt) == ("auto_recharge", "failed", False)
    assert row.reason == "Your card was declined. We try again on Feb 1, 2026."

    recharge_jobs.run_recharges(now=START + timedelta(days=1))
    [row] = _rows(owner.organization)
    assert (row.kind, row.status, row.has_receipt, row.card) == (
        "auto_recharge", "paid", True, "Mastercard ending 4444"
    )


def test_overage_decline_then_paid_retry_are_two_rows(owner, monkeypatch):
    organization = owner.organization
    organization.created_at = datetime(2026, 1, 1, tzinfo=UTC)
    organization.save()
    # Past the overage threshold ($100), so the debt is charged at once and retried daily.
    ledger.debit_usage(organization=organization, cost_micros=150_000_000, now=START, reference="u")
    stripe = fake_stripe.ScriptedStripe(monkeypatch)
    stripe.script = [CardDeclined("Do not honor."), fake_stripe.SUCCEEDED]
    fake_stripe.default_card(organization)
    charge_overage(organization=organization, now=START + timedelta(hours=1))
    assert _statuses(organization) == [("overage", "failed")]
    charge_overage(organization=organization, now=START + timedelta(days=2))

    assert _statuses(organization) == [("overage", "paid"), ("overage", "failed")]
    assert _rows(organization)[1].reason == "Do not honor."


def test_refund_shows_the_refund_and_the_charge_as_refunded(owner_client, owner, monkeypatch):
    fake_stripe.ScriptedStripe(monkeypatch)
    purchase = paid_purchase(owner.organization, 5_000, START)
    request = refunds.refund_request(
        organization=owner.organization, purchase_id=purchase.pk, reason="x", user=owner.user, now=START
    )
    refunds.refund_approve(request_id=request.pk, staff=None, now=START + timedelta(days=1))

    rows = _rows(owner.organization)

    assert [(r.kind, r.status, r.amount_cents, r.purchase_id) for r in rows] == [
        ("refund", "refunded", -5_000, purchase.pk),
        ("purchase", "refunded", 5_000, purchase.pk),
    ]
    pdf = owner_client.get(reverse("credits:receipt_pdf", args=[purchase.pk]))
    assert pdf.status_code == 200
    page = owner_client.get(reverse("credits:receipt", args=[purchase.pk])).content.decode()
    assert 'id="receipt-refunded"' in page


def test_csv_has_the_same_rows(owner_client, owner):
    paid_purchase(owner.organization, 1_000, START)
    paid_purchase(owner.organization, 2_550, START + timedelta(hours=1))
    MembershipFactory()  # another organization, with nothing in this CSV

    response = owner_client.get(reverse("credits:billing_history_csv"))
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))

    assert lines[0] == ["date", "kind", "reference", "amount_usd", "card", "status", "reason"]
    assert [(line[1], line[3], line[5]) for line in lines[1:]] == [
        ("purchase", "25.50", "paid"), ("purchase", "10.00", "paid"),
    ]
    assert [line[2] for line in lines[1:]] == [r.reference for r in _rows(owner.organization)]


def test_history_is_paginated(owner_client, owner):
    for i in range(27):
        paid_purchase(owner.organization, 1_000 + i, START + timedelta(minutes=i))

    first = history_rows(keys=list(history_keys(organization=owner.organization)[:25]))
    page2 = owner_client.get(reverse("credits:billing_history"), {"page": 2}).content.decode()

    assert first[0].amount_cents == 1_026
    assert "Page 2 of 2" in page2
    assert page2.count("<tr>") == 1 + 2


def test_members_read_history_but_are_offered_no_paying_buttons(client):
    member = MembershipFactory(role=Role.MEMBER)
    paid_purchase(member.organization, 1_000, START)
    client.force_login(member.user)

    history = client.get(reverse("credits:billing_history"))
    credit = client.get(reverse("credits:credit")).content.decode()
    cards = client.get(reverse("credits:payment_methods")).content.decode()
    recharge = client.get(reverse("credits:auto_recharge")).content.decode()

    assert history.status_code == 200
    assert reverse("credits:buy") not in credit and "Start auto-recharge" not in credit
    assert 'id="read-only-note"' in credit and reverse("credits:billing_history") in credit
    assert 'id="cards-hidden"' in cards and reverse("credits:card_add") not in cards
    assert 'name="amount"' not in recharge and 'id="read-only-note"' in recharge
    assert reverse("credits:billing_settings") not in credit
