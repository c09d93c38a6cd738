"""Start a plan in the middle of a period: the preview says what happens to the periods, and
Billing > Credit then shows the period cut short and the date the tier holds until."""

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from credits.models import CommitmentPeriod
from tests.factories import (
    PASSWORD,
    MembershipFactory,
    PaymentMethodFactory,
    StripeCustomerFactory,
    paid_purchase,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _short(day: date, today: date) -> str:
    return f"{day:%b} {day.day}" + ("" if day.year == today.year else f", {day.year}")


def _long(day: date) -> str:
    return f"{day:%b} {day.day}, {day.year}"


def test_start_a_plan_mid_period_and_see_the_periods_and_the_hold(page: Page, live_server):
    owner = MembershipFactory(role="owner", organization__name="Midway Co")
    # A plan can only be started with a card to charge.
    PaymentMethodFactory(customer=StripeCustomerFactory(organization=owner.organization), is_default=True)
    now = timezone.now()
    today = now.date()
    paid_purchase(owner.organization, 10_000, now - timedelta(days=10))
    running = CommitmentPeriod.objects.get()
    billing = today + timedelta(days=5)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(owner.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/billing/credit/$"))

    page.get_by_role("link", name="Start auto-recharge").click()
    page.get_by_label("Recharge amount (USD)").fill("100")
    page.get_by_label("Monthly").check()
    page.get_by_label("Billing date").fill(billing.isoformat())

    sentence = (
        f"Your current period ({_short(running.starts_on, today)} - {_short(running.ends_on, today)}) "
        f"ends on {_short(billing, today)}; from {_short(billing, today)} your periods are monthly from the"
    )
    expect(page.locator("#preview-periods")).to_contain_text(sentence)
    expect(page.locator("#preview-limits-heading")).to_have_text("Rate limits at Explore")
    page.get_by_label("I agree to the refund policy for the charges this plan makes").check()
    page.get_by_role("button", name="Start auto-recharge").click()

    expect(page).to_have_url(re.compile(r"/billing/credit/$"))
    running.refresh_from_db()
    assert running.ends_on == billing
    expect(page.locator("#current-period")).to_contain_text(
        f"{_long(running.starts_on)} \N{EN DASH} {_long(billing)}"
    )
    expect(page.locator("#bought-this-period")).to_have_text("$100.00")
    expect(page.locator("#tier-hold")).to_contain_text(f"Explore until {_long(running.tier_held_until)}")
