"""In Chromium: buy credits, find the charge in Billing history, open its receipt and
download the PDF; set a low-balance alert and see it e-mailed once usage crosses it."""

import json
import re
from datetime import datetime

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from credits.models import ApiKey, Receipt
from credits.services.api_keys import api_key_issue
from tests import localstripe
from tests.credits.receipt_helpers import only_pdf, pdf_text, receipt_mails
from tests.factories import PASSWORD, MembershipFactory, saved_card

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_buy_then_receipt_from_history_then_low_balance_alert(
    page: Page, live_server, stripe_server, tmp_path
):
    owner = MembershipFactory(role="owner", organization__name="History Labs")
    organization = owner.organization
    saved_card(organization, localstripe.VISA, stripe_server)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(owner.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # Billing details first, so the receipt carries them.
    page.get_by_role("link", name="Billing settings").click()
    page.get_by_label("Legal name").fill("History Labs Pte. Ltd.")
    page.get_by_label("Address").fill("8 Marina View\n018960 Singapore")
    page.get_by_label("Country").fill("Singapore")
    page.get_by_label("Tax ID (optional)").fill("SG-201912345K")
    page.get_by_role("button", name="Save billing details").click()
    expect(page.get_by_text("Billing details saved.")).to_be_visible()

    page.goto(f"{live_server.url}/billing/credit/buy/")
    page.get_by_label("Amount (USD)").fill("500")
    expect(page.locator("#preview-bonus")).to_have_text("$25.00 (5%)")
    page.get_by_label("I agree to the refund policy").check()
    page.get_by_role("button", name="Pay").click()
    expect(page.locator("#receipt-status")).to_have_text("Paid")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Billing history").click()
    expect(page).to_have_url(re.compile(r"/billing/history/$"))
    receipt = Receipt.objects.get()
    row = page.locator("#billing-history tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Purchase")
    expect(row).to_contain_text("$500.00")
    expect(row).to_contain_text("Visa ending 4242")
    expect(row).to_contain_text("Paid")
    row.get_by_role("link", name=receipt.display_number, exact=True).click()

    expect(page.locator("#receipt-number")).to_have_text(receipt.display_number)
    expect(page.locator("#receipt-buyer")).to_contain_text("History Labs Pte. Ltd.")
    expect(page.locator("#receipt-buyer")).to_contain_text("SG-201912345K")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    download = download_info.value
    assert download.suggested_filename == f"{receipt.display_number}.pdf"
    path = tmp_path / "receipt.pdf"
    download.save_as(path)
    text = pdf_text(path.read_bytes())
    assert "$500.00" in text and "History Labs Pte. Ltd." in text and "Singapore" in text

    # The receipt went out once, with the same PDF.
    [message] = receipt_mails()
    assert "$500.00" in pdf_text(only_pdf(message))

    # Alert below $520 (the balance is $525), then usage through the API takes it to $515.
    page.get_by_role("link", name="Billing settings").click()
    page.get_by_label("When the balance falls below an amount").check()
    page.get_by_label("Alert when the balance falls below (USD)").fill("520")
    page.get_by_role("button", name="Save alerts").click()
    expect(page.get_by_text("Alerts saved.")).to_be_visible()
    assert [m for m in mail.outbox if m.subject.startswith("Low balance")] == []

    key = api_key_issue(api_key=ApiKey(name="gateway"), created_by=None, now=timezone.now())
    now = datetime.now().astimezone().isoformat()
    events = [
        {"event_id": f"b{n}", "organization": organization.pk, "model": "document-parse",
         "pages": 100, "occurred_at": now}
        for n in range(10)
    ]
    response = page.request.post(
        f"{live_server.url}/api/v1/usage/",
        data=json.dumps({"events": events}),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    assert response.status == 201, response.text()

    [alert] = [m for m in mail.outbox if m.subject.startswith("Low balance")]
    assert "Balance $515.00, below your alert at $520.00." in alert.body
    page.reload()
    expect(page.locator("#last-low-balance-alert")).to_contain_text("Balance $515.00")
