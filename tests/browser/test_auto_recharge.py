"""Start a monthly $100 auto-recharge, watch the preview, edit it to $500, terminate it."""

import re

import pytest
from playwright.sync_api import Page, expect

from credits.models import AutoRecharge, RechargeStatus
from tests.factories import PASSWORD, MembershipFactory, PaymentMethodFactory, StripeCustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page: Page, live_server, email: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/billing/credit/$"))


def test_start_edit_and_terminate_auto_recharge(page: Page, live_server):
    owner = MembershipFactory(role="owner", organization__name="Recharging Co")
    PaymentMethodFactory(customer=StripeCustomerFactory(organization=owner.organization), is_default=True)
    _log_in(page, live_server, owner.user.email)

    page.get_by_role("link", name="Start auto-recharge").click()
    page.get_by_label("Recharge amount (USD)").fill("100")
    page.get_by_label("Monthly").check()
    page.get_by_label("Billing date").fill("2099-01-31")
    # The preview updates as the fields change (htmx), before anything is saved.
    expect(page.locator("#preview-bonus")).to_have_text("$3.00 (3%)")
    expect(page.locator("#preview-tier")).to_have_text("Explore")
    assert AutoRecharge.objects.count() == 0
    page.get_by_label("I agree to the refund policy for the charges this plan makes").check()
    page.get_by_role("button", name="Start auto-recharge").click()

    expect(page).to_have_url(re.compile(r"/billing/credit/$"))
    expect(page.locator("#auto-recharge-state")).to_contain_text("$100.00 monthly")

    page.get_by_role("link", name="Edit auto-recharge").click()
    page.get_by_label("Recharge amount (USD)").fill("500")
    expect(page.locator("#preview-tier")).to_have_text("Build")
    expect(page.locator("#preview-bonus")).to_have_text("$25.00 (5%)")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#auto-recharge-state")).to_contain_text("$500.00 monthly")

    page.goto(f"{live_server.url}/billing/credit/auto-recharge/")
    page.get_by_role("link", name="Terminate auto-recharge").click()
    expect(page.get_by_text("Credits you already bought stay in your balance")).to_be_visible()
    page.get_by_role("button", name="Terminate auto-recharge").click()

    expect(page.locator("#auto-recharge-state")).to_contain_text("Terminated")
    assert AutoRecharge.objects.get().status == RechargeStatus.TERMINATED
