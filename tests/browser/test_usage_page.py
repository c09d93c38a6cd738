"""The usage page in Chromium: the SVG chart draws under the CSP, filters work without JS."""

import os
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from credits.services.usage import record_usage_batch, validate_usage_batch
from tests.credits.scenarios import event
from tests.factories import PASSWORD, MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_usage_chart_table_and_ledger_filter(page: Page, live_server):
    membership = MembershipFactory()
    organization = membership.organization
    now = timezone.now()
    events = [
        event(f"e{n}", organization, model=model, at=now - timedelta(days=n % 12), **units)
        for n, (model, units) in enumerate(
            [
                ("solar-pro-2", {"input_tokens": 400_000, "output_tokens": 90_000}),
                ("document-parse", {"pages": 7}),
            ]
            * 12
        )
    ]
    record_usage_batch(events=validate_usage_batch(payload={"events": events}), api_key=None, now=now)
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if message.type == "error" else None)

    page.goto(f"{live_server.url}/accounts/login/?next=/billing/usage/")
    page.get_by_label("Email").fill(membership.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(re.compile(r"/billing/usage/$"))
    chart = page.get_by_role("img", name="Cost per day, stacked by model")
    expect(chart).to_be_visible()
    # 12 days with usage, one model a day, and two legend swatches.
    assert page.locator("figure.chart rect").count() == 14
    expect(page.get_by_role("cell", name="Document Parse").first).to_be_visible()
    if os.environ.get("USAGE_SCREENSHOT"):
        page.screenshot(path=os.environ["USAGE_SCREENSHOT"], full_page=True)

    page.get_by_label("Ledger entries").select_option("usage")
    page.get_by_role("button", name="Show").click()

    expect(page).to_have_url(re.compile(r"kind=usage"))
    expect(page.get_by_text("Entries, newest first", exact=True)).to_be_visible()
    expect(page.get_by_role("navigation", name="Ledger pages")).to_have_count(0)
    assert not [text for text in violations if "Content Security Policy" in text], violations
