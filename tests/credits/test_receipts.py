"""Receipts: the page and the PDF, for the purchase's own organization only."""

import pytest
from django.urls import reverse
from django.utils import timezone

from credits.services.purchases import purchase_create, record_purchase
from tests.factories import MembershipFactory, paid_purchase

pytestmark = pytest.mark.django_db


def test_receipt_page_shows_amount_bonus_card_and_number(owner_client, owner):
    now = timezone.now()
    pending = purchase_create(
        organization=owner.organization, amount_cents=50_000, key="card", created_by=None,
        refund_policy_version="v", refund_policy_accepted_at=now, now=now,
    )
    purchase = record_purchase(purchase_id=pending.pk, now=now, card_brand="visa", card_last4="4242")

    page = owner_client.get(reverse("credits:receipt", args=[purchase.pk])).content.decode()

    assert purchase.receipt_number in page
    assert '<dd id="receipt-amount">$500.00</dd>' in page
    assert '<dd id="receipt-bonus">$25.00</dd>' in page
    assert "Visa ending 4242" in page
    assert owner.organization.name in page


def test_receipt_pdf_downloads(owner_client, owner):
    purchase = paid_purchase(owner.organization, 50_000, timezone.now())

    response = owner_client.get(reverse("credits:receipt_pdf", args=[purchase.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{purchase.receipt_number}.pdf"'
    assert response.content.startswith(b"%PDF-")


def test_receipt_pdf_survives_names_outside_latin1(owner_client, owner):
    owner.organization.name = "업스테이지 연구소"
    owner.organization.save()
    purchase = paid_purchase(owner.organization, 1_000, timezone.now())

    response = owner_client.get(reverse("credits:receipt_pdf", args=[purchase.pk]))

    assert response.status_code == 200


def test_unpaid_purchase_has_no_pdf(owner_client, owner):
    now = timezone.now()
    pending = purchase_create(
        organization=owner.organization, amount_cents=1_000, key="p", created_by=None,
        refund_policy_version="v", refund_policy_accepted_at=now, now=now,
    )

    assert owner_client.get(reverse("credits:receipt_pdf", args=[pending.pk])).status_code == 404
    page = owner_client.get(reverse("credits:receipt", args=[pending.pk])).content.decode()
    assert "waiting for the payment" in page


def test_receipts_of_another_organization_are_404(owner_client):
    stranger = MembershipFactory()
    purchase = paid_purchase(stranger.organization, 1_000, timezone.now())

    assert owner_client.get(reverse("credits:receipt", args=[purchase.pk])).status_code == 404
    assert owner_client.get(reverse("credits:receipt_pdf", args=[purchase.pk])).status_code == 404
