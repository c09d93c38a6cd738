"""What a customer reads at each step, read the way they read it: in Chromium, on the page."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.services import organization_create
from credits.models import RefundRequest, RefundStatus
from credits.services import recharge_jobs
from credits.services.recharge import RechargeSettings, recharge_save
from credits.services.usage import record_usage_batch, validate_usage_batch
from tests import localstripe
from tests.browser.accessibility import assert_accessible
from tests.credits.scenarios import buy, event
from tests.factories import (
    PASSWORD,
    MembershipFactory,
    PaymentMethodFactory,
    StripeCustomerFactory,
    saved_card,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/billing/credit/$"))


def _owner_with_card(name: str = "Wording Co"):
    owner = MembershipFactory(role="owner", organization__name=name)
    PaymentMethodFactory(customer=StripeCustomerFactory(organization=owner.organization), is_default=True)
    return owner


def test_starting_a_plan_is_confirmed_as_a_start_and_editing_as_an_edit(page: Page, live_server):
    owner = _owner_with_card()
    _log_in(page, live_server.url, owner.user.email)

    page.goto(f"{live_server.url}/billing/credit/auto-recharge/")
    page.get_by_label("Recharge amount (USD)").fill("100")
    page.get_by_label("Billing date").fill("2099-01-31")
    page.get_by_label("I agree to the refund policy for the charges this plan makes").check()
    page.get_by_role("button", name="Start auto-recharge").click()
    started = page.get_by_role("status")
    expect(started).to_have_text("Auto-recharge started: $100.00 monthly, first charge on Jan 31, 2099.")

    page.goto(f"{live_server.url}/billing/credit/auto-recharge/")
    page.get_by_label("Recharge amount (USD)").fill("500")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_contain_text("Auto-recharge updated: $500.00 monthly.")
    expect(page.get_by_role("status")).to_contain_text("The changes apply from the next charge")


def test_the_edit_preview_reads_the_amount_that_is_filled_in(page: Page, live_server):
    owner = _owner_with_card()
    now = timezone.now()
    recharge_save(
        organization=owner.organization,
        settings=RechargeSettings(amount_cents=50_000, frequency="monthly", billing_date=now.date()),
        user=owner.user,
        now=now,
        refund_policy_accepted=True,
    )
    _log_in(page, live_server.url, owner.user.email)

    page.goto(f"{live_server.url}/billing/credit/auto-recharge/")

    expect(page.get_by_label("Recharge amount (USD)")).to_have_value("500.00")
    preview = page.locator("#recharge-preview")
    expect(preview).not_to_contain_text("Enter an amount")
    expect(page.locator("#preview-amount")).to_have_text("$500.00")
    expect(page.locator("#preview-bonus")).to_have_text("$25.00 (5%)")
    # Emptying the field is when the page asks for an amount.
    page.get_by_label("Recharge amount (USD)").fill("")
    expect(preview).to_contain_text("Enter an amount of at least $10.00")


def test_a_declined_plan_shows_when_we_retry_not_the_next_charge(page: Page, live_server, stripe_server):
    owner = MembershipFactory(role="owner", organization__name="Declined Co")
    saved_card(owner.organization, localstripe.CHARGE_DECLINED, stripe_server)
    now = timezone.now()
    recharge_save(
        organization=owner.organization,
        settings=RechargeSettings(amount_cents=50_000, frequency="monthly", billing_date=now.date()),
        user=owner.user,
        now=now,
        refund_policy_accepted=True,
    )
    recharge_jobs.run_recharges(now=now)
    _log_in(page, live_server.url, owner.user.email)

    state = page.locator("#auto-recharge-state")
    retry = (now + timedelta(days=1)).strftime("%b %-d, %Y")
    expect(state.locator("#plan-summary")).to_contain_text(f"the last payment failed, we retry on {retry}")
    expect(state).not_to_contain_text("next charge")
    page.goto(f"{live_server.url}/billing/credit/auto-recharge/")
    expect(page.locator("#plan-summary")).to_contain_text(f"we retry on {retry}")
    expect(page.locator("#plan-summary")).not_to_contain_text("next charge")


def test_a_failed_3d_secure_says_what_happened_and_what_to_do(page: Page, live_server, stripe_server):
    owner = MembershipFactory(role="owner", organization__name="Secure Co")
    saved_card(owner.organization, localstripe.THREE_D_SECURE, stripe_server)
    _log_in(page, live_server.url, owner.user.email)

    page.goto(f"{live_server.url}/billing/credit/buy/?amount=500")
    page.get_by_label("I agree to the refund policy").check()
    page.get_by_role("button", name="Pay").click()
    # localstripe's stand-in for the bank's 3-D Secure window.
    page.get_by_role("button", name="Fail authentication").click()

    alert = page.get_by_role("alert")
    expect(alert).to_have_text(
        "Your bank did not confirm this payment, so nothing was charged. "
        "Pay again and complete your bank's check, or choose another card."
    )
    expect(page.locator("body")).not_to_contain_text("PaymentMethod")
    expect(page.get_by_label("Amount (USD)")).to_have_value("500.00")
    assert_accessible(page)


def test_a_declined_card_is_announced_as_an_alert(page: Page, live_server, stripe_server):
    owner = MembershipFactory(role="owner", organization__name="Declined Buyer")
    saved_card(owner.organization, localstripe.CHARGE_DECLINED, stripe_server)
    _log_in(page, live_server.url, owner.user.email)

    page.goto(f"{live_server.url}/billing/credit/buy/?amount=50")
    page.get_by_label("I agree to the refund policy").check()
    page.get_by_role("button", name="Pay").click()

    expect(page.get_by_role("alert")).to_contain_text("declined")
    assert_accessible(page)


def test_the_estimator_never_says_a_purchase_reaches_no_tier(page: Page, live_server):
    page.goto(f"{live_server.url}/pricing/")
    page.get_by_label("Solar Pro 2: input tokens per month, in millions").fill("20")
    page.get_by_role("button", name="Estimate").click()

    result = page.locator("#estimate-result")
    expect(result).to_contain_text("Paying yearly instead")
    expect(result).to_contain_text("stays below the first yearly tier")
    expect(result).not_to_contain_text("reaches No tier")
    expect(result).not_to_contain_text("of No tier")


def test_a_pending_refund_request_is_shown_as_requested(page: Page, live_server):
    owner = MembershipFactory(role="owner", organization__name="Refund Co")
    now = timezone.now()
    purchase = buy(owner.organization, amount_cents=5_000, now=now)
    RefundRequest.objects.create(
        organization=owner.organization,
        purchase=purchase,
        reason="Bought by mistake",
        status=RefundStatus.PENDING,
        requested_by=owner.user,
        requested_at=now,
    )
    _log_in(page, live_server.url, owner.user.email)

    page.goto(f"{live_server.url}/billing/refunds/")

    cell = page.locator("#refundable-purchases td.refund-state")
    expect(cell).to_contain_text("Refund requested")
    expect(cell).to_contain_text("Pending review")
    expect(cell).not_to_contain_text("Not refundable")


def test_a_billion_dollars_gets_one_clear_maximum_message(page: Page, live_server):
    owner = _owner_with_card()
    _log_in(page, live_server.url, owner.user.email)

    page.goto(f"{live_server.url}/billing/credit/buy/")
    page.get_by_label("Amount (USD)").fill("1000000000")

    expect(page.locator("#preview-error")).to_have_text("The maximum is $100,000.00.")
    expect(page.locator("main")).not_to_contain_text("digits")
    # The no-JavaScript route, the Preview button, reads the same.
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-error")).to_have_text("The maximum is $100,000.00.")
    expect(page.get_by_text("The maximum is $100,000.00.")).to_have_count(1)


def test_spent_bonus_is_explained_and_used_up_lots_stay_listed(page: Page, live_server):
    owner = MembershipFactory(role="owner", organization__name="Spent Co")
    organization = owner.organization
    now = timezone.now()
    buy(organization, amount_cents=50_000, now=now - timedelta(days=2))  # $25.00 bonus
    # $27 of usage: the bonus goes first, then $2 of the paid credits.
    events = [event(f"spend-{n}", organization, input_tokens=20_000_000) for n in range(9)]
    record_usage_batch(events=validate_usage_batch(payload={"events": events}), api_key=None, now=now)
    _log_in(page, live_server.url, owner.user.email)

    expect(page.locator("#bonus-balance")).to_have_text("$0.00")
    expect(page.locator("#bonus-note")).to_have_text(f"used first, all spent by {now:%b %-d, %Y}")
    used_up = page.locator("#used-up-lots")
    expect(used_up.get_by_text("Used up or expired (1)")).to_be_visible()
    expect(used_up.get_by_role("table")).to_be_hidden()
    used_up.get_by_text("Used up or expired (1)").click()
    row = used_up.get_by_role("row").nth(1)
    expect(row).to_contain_text("Bonus")
    expect(row).to_contain_text("$25.00")
    expect(row).to_contain_text(f"Used up {now:%b %-d, %Y}")


def test_without_a_card_there_is_no_default_card_to_offer_and_nothing_to_pay_with(page: Page, live_server):
    owner = MembershipFactory(role="owner", organization__name="Cardless Co")
    _log_in(page, live_server.url, owner.user.email)

    page.goto(f"{live_server.url}/billing/credit/auto-recharge/")
    expect(page.get_by_text("My default card")).to_have_count(0)
    expect(page.get_by_label("Card to charge")).to_have_count(0)
    expect(page.locator("#no-card")).to_contain_text("you have none yet")
    expect(page.get_by_role("button", name="Start auto-recharge")).to_be_disabled()

    page.goto(f"{live_server.url}/billing/credit/buy/")
    expect(page.get_by_role("button", name="Pay")).to_be_disabled()
    expect(page.locator("#no-card")).to_be_visible()


def test_after_logging_in_again_the_last_used_organization_is_current(page: Page, live_server):
    owner = MembershipFactory(role="owner", organization__name="Alpha Org")
    organization_create(name="Beta Org", owner=owner.user)
    _log_in(page, live_server.url, owner.user.email)
    expect(page.get_by_label("Organization")).to_have_value(str(owner.organization_id))

    page.get_by_label("Organization").select_option(label="Beta Org")
    page.get_by_role("button", name="Switch").click()
    expect(page.get_by_role("status")).to_have_text("Now working in Beta Org.")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()

    _log_in(page, live_server.url, owner.user.email)
    expect(page.locator("#switch-organization option:checked")).to_have_text("Beta Org")
    expect(page.locator(".subtitle")).to_have_text("Beta Org")


def test_the_footer_links_to_support(page: Page, live_server, settings):
    settings.SUPPORT_EMAIL = "help@example.com"
    page.goto(f"{live_server.url}/pricing/")
    link = page.get_by_role("contentinfo").get_by_role("link", name="Contact support")
    expect(link).to_have_attribute("href", "mailto:help@example.com")
