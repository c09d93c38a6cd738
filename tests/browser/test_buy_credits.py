"""A customer adds a card in Stripe's card element and buys $500 of credits (localstripe)."""

import re

import pytest
from playwright.sync_api import Page, expect

from credits.models import Purchase, PurchaseStatus
from tests.factories import PASSWORD, MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_add_a_card_and_buy_500_dollars(page: Page, live_server, stripe_server):
    owner = MembershipFactory(role="owner", organization__name="Browser Buyers")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(owner.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/billing/credit/$"))

    page.goto(f"{live_server.url}/billing/credit/buy/")
    page.get_by_role("link", name="Add a new card").click()
    # localstripe's card element: plain inputs named by their placeholders.
    card = page.locator("#card-element")
    card.get_by_placeholder("number").fill("4242424242424242")
    card.get_by_placeholder("exp_month").fill("12")
    card.get_by_placeholder("exp_year").fill("34")
    card.get_by_placeholder("cvc").fill("123")
    card.get_by_placeholder("postal_code").fill("94107")
    page.get_by_role("button", name="Save card").click()

    expect(page).to_have_url(re.compile(r"/billing/credit/buy/$"))
    expect(page.get_by_text("Card visa ending 4242 saved.")).to_be_visible()
    page.get_by_label("Amount (USD)").fill("500")
    expect(page.locator("#preview-bonus")).to_have_text("$25.00 (5%)")
    expect(page.locator("#preview-tier")).to_contain_text("Build")
    expect(page.get_by_label(re.compile("Visa ending 4242"))).to_be_checked()
    page.get_by_label("I agree to the refund policy").check()
    page.get_by_role("button", name="Pay").click()

    expect(page).to_have_url(re.compile(r"/billing/credit/receipts/\d+/$"))
    expect(page.locator("#receipt-status")).to_have_text("Paid")
    page.goto(f"{live_server.url}/billing/credit/")
    expect(page.locator("#paid-balance")).to_have_text("$500.00")
    expect(page.locator("#bonus-balance")).to_have_text("$25.00")
    expect(page.locator("#current-tier")).to_have_text("Build")
    purchase = Purchase.objects.get()
    assert (purchase.status, purchase.card_last4) == (PurchaseStatus.SUCCEEDED, "4242")
    assert len(stripe_server.payment_intents()) == 1
