"""axe-core on every customer and public page, at a laptop and a phone width, logged in and
out, including the states after a form error and after a preview: no serious or critical
violation, and every aria-describedby / aria-labelledby points at an element."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.services import organization_create
from credits.models import Purchase, RefundRequest, RefundStatus
from credits.services.recharge import RechargeSettings, recharge_save
from credits.services.usage import record_usage_batch, validate_usage_batch
from tests.browser.accessibility import assert_accessible
from tests.credits.scenarios import buy, event
from tests.factories import (
    PASSWORD,
    InvitationFactory,
    MembershipFactory,
    PaymentMethodFactory,
    ProgramApplicationFactory,
    StripeCustomerFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECOND_ORGANIZATION = "Zeta, a second organization with a rather long name"
WIDTHS = [pytest.param(1280, id="laptop"), pytest.param(375, id="phone")]

PUBLIC_PAGES = [
    "/pricing/",
    "/programs/apply/",
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/password-reset/",
    "/billing/refund-policy/",
]

CUSTOMER_PAGES = [
    "/billing/credit/",
    "/billing/credit/buy/",
    "/billing/credit/auto-recharge/",
    "/billing/credit/auto-recharge/terminate/",
    "/billing/payment-methods/",
    "/billing/history/",
    "/billing/settings/",
    "/billing/usage/",
    "/billing/refunds/",
    "/billing/rate-limits/",
    "/accounts/members/",
    "/accounts/organizations/new/",
    "/pricing/",
    "/programs/apply/",
]

# The states a customer reaches after a preview or a refused form.
CUSTOMER_STATES = [
    "/billing/credit/buy/?amount=500",
    "/billing/credit/buy/?amount=1000000000",
    "/billing/credit/auto-recharge/?amount=500&frequency=monthly&billing_date=2099-01-31",
    "/billing/credit/auto-recharge/?amount=5&frequency=monthly&billing_date=2099-01-31&threshold_enabled=on",
    "/billing/usage/?start=2026-02-01&end=2025-01-01",
    "/pricing/?solar-pro-2-input=20&solar-pro-2-output=5&peak_rps=60",
]


def _customer(now):
    """An owner of two organizations with purchases, usage, a card, a plan and a refund."""
    owner = MembershipFactory(role="owner", organization__name="Accessible Robotics")
    organization = owner.organization
    organization_create(name=SECOND_ORGANIZATION, owner=owner.user)
    buy(organization, amount_cents=50_000, now=now - timedelta(days=3))
    refunded = buy(organization, amount_cents=2_000, now=now - timedelta(days=2), key="second")
    events = [
        event(f"a11y-{n}", organization, at=now - timedelta(days=n % 3), input_tokens=900_000)
        for n in range(6)
    ]
    record_usage_batch(events=validate_usage_batch(payload={"events": events}), api_key=None, now=now)
    customer = StripeCustomerFactory(organization=organization)
    PaymentMethodFactory(customer=customer, is_default=True)
    PaymentMethodFactory(customer=customer, last4="4444", brand="mastercard")
    recharge_save(
        organization=organization,
        settings=RechargeSettings(amount_cents=50_000, frequency="monthly", billing_date=now.date()),
        user=owner.user,
        now=now,
        refund_policy_accepted=True,
    )
    RefundRequest.objects.create(
        organization=organization,
        purchase=refunded,
        reason="Bought twice",
        status=RefundStatus.PENDING,
        requested_by=owner.user,
        requested_at=now,
    )
    return owner


def _log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/billing/credit/$"))


def _check(page: Page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status < 500, url
    assert_accessible(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_public_pages_logged_out(page: Page, live_server, width):
    page.set_viewport_size({"width": width, "height": 900})
    for path in PUBLIC_PAGES:
        _check(page, f"{live_server.url}{path}")
    # After refused forms.
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("nobody@example.com")
    page.get_by_label("Password").fill("wrong-password-1")
    page.get_by_role("button", name="Log in").click()
    assert_accessible(page)
    page.goto(f"{live_server.url}/accounts/signup/")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_role("button", name="Sign up").click()
    assert_accessible(page)
    page.goto(f"{live_server.url}/programs/apply/")
    page.get_by_role("button", name=re.compile("Apply|Send|Submit")).click()
    assert_accessible(page)
    page.goto(f"{live_server.url}/pricing/")
    page.get_by_role("button", name="Send").click()
    assert_accessible(page)
    # Pages reached from an e-mailed link.
    application = ProgramApplicationFactory()
    _check(page, f"{live_server.url}/programs/status/{application.status_token}/")
    invitation = InvitationFactory()
    _check(page, f"{live_server.url}/accounts/invitations/{invitation.token}/")


@pytest.mark.parametrize("width", WIDTHS)
def test_customer_pages_logged_in(page: Page, live_server, width):
    owner = _customer(timezone.now())
    page.set_viewport_size({"width": width, "height": 900})
    _log_in(page, live_server.url, owner.user.email)
    receipt = Purchase.objects.filter(organization=owner.organization).first()
    for path in [*CUSTOMER_PAGES, *CUSTOMER_STATES, f"/billing/credit/receipts/{receipt.pk}/"]:
        _check(page, f"{live_server.url}{path}")
    # After refused posts: the buy form sent empty, the plan form with a bad amount.
    page.goto(f"{live_server.url}/billing/credit/buy/")
    page.get_by_label("Amount (USD)").fill("5")
    page.get_by_role("button", name="Pay").click()
    assert_accessible(page)
    page.goto(f"{live_server.url}/billing/credit/auto-recharge/")
    page.get_by_label("Recharge amount (USD)").fill("5")
    page.get_by_role("button", name="Save changes").click()
    assert_accessible(page)
    page.goto(f"{live_server.url}/billing/payment-methods/")
    page.get_by_role("button", name="Send").click()
    assert_accessible(page)
    page.goto(f"{live_server.url}/billing/settings/")
    for button in page.locator("main form button[type=submit]").all():
        button.click()
        assert_accessible(page)
        page.goto(f"{live_server.url}/billing/settings/")
    page.goto(f"{live_server.url}/billing/payment-methods/")
    page.get_by_role("link", name="Remove Visa ending 4242").click()
    assert_accessible(page)
    # The second organization has no card, no plan and no purchase: the empty states.
    page.get_by_label("Organization").select_option(label=SECOND_ORGANIZATION)
    page.get_by_role("button", name="Switch").click()
    for path in CUSTOMER_PAGES + CUSTOMER_STATES[:3]:
        _check(page, f"{live_server.url}{path}")


@pytest.mark.parametrize("width", WIDTHS)
def test_add_a_card_page(page: Page, live_server, stripe_server, width):
    """Our part of the page; the card element itself is Stripe's (a frame in production)."""
    owner = MembershipFactory(role="owner")
    page.set_viewport_size({"width": width, "height": 900})
    _log_in(page, live_server.url, owner.user.email)
    page.goto(f"{live_server.url}/billing/payment-methods/add/")
    expect(page.get_by_role("button", name="Save card")).to_be_visible()
    assert_accessible(page, exclude=("#card-element",))


def test_axe_runs_under_the_site_csp(page: Page, live_server):
    """The checks above are meaningful only if the page kept its CSP while axe ran."""
    response = page.goto(f"{live_server.url}/pricing/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert_accessible(page)
    assert page.evaluate("typeof window.axe.run") == "function"
