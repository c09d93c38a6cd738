import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Membership

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_up_and_land_on_billing_credit(page: Page, live_server):
    page.goto(f"{live_server.url}/accounts/signup/")

    page.get_by_label("Email").fill("newcomer@example.com")
    page.get_by_label("Organization name").fill("Newcomer Robotics")
    page.get_by_label("Password").fill("a-long-browser-pass-7")
    page.get_by_role("button", name="Sign up").click()

    expect(page).to_have_url(re.compile(r"/billing/credit/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Credit")
    expect(page.get_by_text("Newcomer Robotics").first).to_be_visible()
    assert Membership.objects.get().organization.name == "Newcomer Robotics"
