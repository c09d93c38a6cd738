import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def console_errors(page: Page):
    """CSP violations and script errors show up as console errors; none are allowed."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def test_estimator_updates_the_suggested_tier_as_volumes_change(
    page: Page, live_server, console_errors
):
    page.goto(f"{live_server.url}/pricing/")
    pages = page.get_by_label("Document Parse: pages per month")

    pages.fill("9999")
    expect(page.locator("#suggested-tier")).to_have_text("No tier")
    expect(page.locator("#estimate-cost")).to_have_text("$99.99")

    pages.fill("10000")
    expect(page.locator("#suggested-tier")).to_have_text("Explore")

    page.get_by_label("Solar Pro 2: output tokens per month, in millions").fill("700")
    # $100 of pages + 700M x $0.60/1M = $520.00: Build, 5% bonus.
    expect(page.locator("#suggested-tier")).to_have_text("Build")
    expect(page.locator("#suggested-bonus")).to_have_text("$26.00")

    page.get_by_label("Peak requests per second (busiest model)").fill("35")
    expect(page.locator("#limits-verdict")).to_contain_text("Your peak needs Scale limits")
    # htmx swapped the result in place: no navigation happened.
    assert "peak_rps" not in page.url
    assert console_errors == []


def test_period_switch_shows_yearly_thresholds(page: Page, live_server, console_errors):
    page.goto(f"{live_server.url}/pricing/")

    page.get_by_role("link", name="Yearly").click()

    expect(page.locator("#tiers")).to_contain_text("$1,200.00+")
    expect(page).to_have_url(re.compile(r"period=yearly"))
    assert console_errors == []
