"""Layout and keyboard use at a phone and a laptop width, measured in Chromium."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from accounts.services import organization_create
from credits.models import PaymentMethod
from tests import localstripe
from tests.factories import (
    PASSWORD,
    MembershipFactory,
    PaymentMethodFactory,
    StripeCustomerFactory,
    saved_card,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CREDIT_LINK = "Billing \N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK} Credit"
LONG_NAME = "The Very Long Name of an Organization That Keeps Going, Incorporated"


def _log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/billing/credit/$"))


def _two_organizations():
    owner = MembershipFactory(role="owner", organization__name="Acme")
    organization_create(name=LONG_NAME, owner=owner.user)
    return owner


def _scrolls_sideways(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")


def test_the_organization_switcher_fits_a_phone(page: Page, live_server):
    owner = _two_organizations()
    page.set_viewport_size({"width": 390, "height": 800})
    _log_in(page, live_server.url, owner.user.email)
    page.get_by_label("Organization").select_option(label=LONG_NAME)
    page.get_by_role("button", name="Switch").click()

    for path in ("/billing/credit/", "/billing/usage/", "/billing/rate-limits/", "/pricing/"):
        page.goto(f"{live_server.url}{path}")
        assert not _scrolls_sideways(page), path
    switcher = page.get_by_label("Organization").bounding_box()
    assert switcher["x"] + switcher["width"] <= 390


def _rows(locators) -> float:
    """How far apart, vertically, the middles of these elements are."""
    middles = [box["y"] + box["height"] / 2 for box in (part.bounding_box() for part in locators)]
    return max(middles) - min(middles)


def test_the_header_keeps_its_rows_on_a_laptop(page: Page, live_server):
    """Brand and account on the first row, every navigation link on the second: nothing wraps."""
    owner = _two_organizations()
    page.set_viewport_size({"width": 1280, "height": 800})
    _log_in(page, live_server.url, owner.user.email)
    page.get_by_label("Organization").select_option(label=LONG_NAME)
    page.get_by_role("button", name="Switch").click()

    header = page.locator("header.topbar")
    first_row = [
        header.get_by_role("link", name="AI API Billing"),
        header.get_by_label("Organization"),
        header.get_by_role("link", name="Members"),
        header.get_by_role("button", name="Log out"),
    ]
    assert _rows(first_row) < 8
    links = header.get_by_role("navigation", name="Main").get_by_role("link")
    assert links.count() >= 7
    assert _rows([links.nth(n) for n in range(links.count())]) < 8
    assert not _scrolls_sideways(page)


def test_checkboxes_sit_beside_their_labels(page: Page, live_server):
    owner = MembershipFactory(role="owner")
    PaymentMethodFactory(customer=StripeCustomerFactory(organization=owner.organization), is_default=True)
    _log_in(page, live_server.url, owner.user.email)

    for path, label in (
        ("/billing/credit/buy/", "I agree to the refund policy"),
        ("/billing/credit/auto-recharge/", "Also top up when my balance falls below a floor"),
    ):
        page.goto(f"{live_server.url}{path}")
        box = page.get_by_label(label).bounding_box()
        text = page.locator("label", has_text=label).bounding_box()
        assert box["x"] + box["width"] <= text["x"], path
        assert text["y"] <= box["y"] + box["height"] / 2 <= text["y"] + text["height"], path


def test_top_up_fields_show_only_while_the_box_is_ticked(page: Page, live_server):
    owner = MembershipFactory(role="owner")
    PaymentMethodFactory(customer=StripeCustomerFactory(organization=owner.organization), is_default=True)
    _log_in(page, live_server.url, owner.user.email)
    page.goto(f"{live_server.url}/billing/credit/auto-recharge/")

    floor = page.get_by_label("Top up when the balance is below (USD)")
    expect(floor).to_be_hidden()
    expect(page.get_by_label("At most this many top-ups per period")).to_be_hidden()
    page.get_by_label("Also top up when my balance falls below a floor").check()
    expect(floor).to_be_visible()
    expect(page.get_by_label("At most this much in top-ups per period (USD)")).to_be_visible()
    page.get_by_label("Also top up when my balance falls below a floor").uncheck()
    expect(floor).to_be_hidden()


def test_the_plan_form_with_top_ups_works_without_javascript(browser: Browser, live_server):
    owner = MembershipFactory(role="owner")
    PaymentMethodFactory(customer=StripeCustomerFactory(organization=owner.organization), is_default=True)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        _log_in(page, live_server.url, owner.user.email)
        page.goto(f"{live_server.url}/billing/credit/auto-recharge/")
        page.get_by_label("Recharge amount (USD)").fill("100")
        page.get_by_label("Billing date").fill("2099-01-31")
        page.get_by_label("Also top up when my balance falls below a floor").check()
        page.get_by_label("Top up when the balance is below (USD)").fill("20")
        page.get_by_label("At most this much in top-ups per period (USD)").fill("300")
        page.get_by_label("I agree to the refund policy for the charges this plan makes").check()
        page.get_by_role("button", name="Start auto-recharge").click()
        expect(page.locator("#auto-recharge-state")).to_contain_text("$100.00 monthly")
    finally:
        context.close()
    plan = owner.organization.auto_recharge
    assert plan.threshold_enabled
    assert (plan.threshold_micros, plan.max_threshold_cents) == (20_000_000, 30_000)


def test_current_page_is_marked_in_the_navigation(page: Page, live_server):
    owner = MembershipFactory(role="owner")
    _log_in(page, live_server.url, owner.user.email)
    nav = page.get_by_role("navigation", name="Main")

    expect(nav.get_by_role("link", name=CREDIT_LINK)).to_have_attribute("aria-current", "page")
    page.goto(f"{live_server.url}/billing/usage/")
    expect(nav.get_by_role("link", name="Usage")).to_have_attribute("aria-current", "page")
    expect(nav.locator("[aria-current]")).to_have_count(1)
    page.goto(f"{live_server.url}/billing/credit/buy/")
    expect(nav.get_by_role("link", name=CREDIT_LINK)).to_have_attribute("aria-current", "true")


def test_table_regions_take_keyboard_focus_on_a_phone(page: Page, live_server):
    page.set_viewport_size({"width": 375, "height": 800})
    owner = MembershipFactory(role="owner")
    _log_in(page, live_server.url, owner.user.email)
    page.goto(f"{live_server.url}/billing/rate-limits/")

    region = page.get_by_role("region", name="Rate limits by model and tier")
    for _ in range(40):
        page.keyboard.press("Tab")
        if region.evaluate("element => element === document.activeElement"):
            break
    expect(region).to_be_focused()


def test_removing_a_card_names_the_card_and_asks_first(page: Page, live_server, stripe_server):
    owner = MembershipFactory(role="owner")
    saved_card(owner.organization, localstripe.VISA, stripe_server)
    saved_card(owner.organization, "4000056655665556", stripe_server)
    _log_in(page, live_server.url, owner.user.email)
    page.goto(f"{live_server.url}/billing/payment-methods/")

    expect(page.get_by_role("link", name="Remove Visa ending 4242")).to_be_visible()
    page.get_by_role("link", name="Remove Visa ending 5556").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Remove Visa ending 5556?")
    assert PaymentMethod.objects.count() == 2
    page.get_by_role("link", name="Keep it").click()
    assert PaymentMethod.objects.count() == 2

    page.get_by_role("link", name="Remove Visa ending 5556").click()
    page.get_by_role("button", name="Remove this card").click()
    expect(page.get_by_role("status")).to_have_text("Card ending 5556 removed.")
    assert list(PaymentMethod.objects.values_list("last4", flat=True)) == ["4242"]
