"""The admin in Chromium with DEBUG off: its scripts and styles run under the strict CSP
(the suite-wide fixture fails a test on any console error, CSP violations included)."""

import re

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from credits.models import BillingPolicy
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_pages_work_under_the_csp(page: Page, live_server):
    assert settings.DEBUG is False
    staff = UserFactory(is_staff=True, is_superuser=True)
    policy = BillingPolicy.objects.first() or BillingPolicy.objects.create()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text))
    # The admin links no icon, so Chromium asks for /favicon.ico, which the site does not have.
    page.route("**/favicon.ico", lambda route: route.fulfill(status=204))

    page.goto(f"{live_server.url}/accounts/login/?next=/admin/")
    page.get_by_label("Email").fill(staff.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.get_by_role("button", name="Toggle theme")).to_be_visible()

    # A change form with date widgets: the calendar and "Today" shortcuts are added by JS.
    page.goto(f"{live_server.url}/admin/credits/billingpolicy/{policy.pk}/change/")
    expect(page.locator(".datetimeshortcuts").first).to_be_visible()
    page.locator("#calendarlink0").click()
    expect(page.locator("#calendarbox0")).to_be_visible()

    # A changelist with actions and filters.
    page.goto(f"{live_server.url}/admin/accounts/user/")
    expect(page.get_by_role("checkbox", name="Select all objects on this page for an action")).to_be_visible()
    page.get_by_role("checkbox", name="Select all objects on this page for an action").check()
    expect(page.locator(".action-counter")).to_contain_text("1 of 1 selected")

    assert not [text for text in violations if "Content Security Policy" in text], violations
