"""Screenshots of the main pages for the README, from a running `make run` site.

Usage: .venv/bin/python .ci/screenshots.py [http://127.0.0.1:8000]
Writes static/img/screenshots/*.png. On a fresh `make run` (localstripe) it first saves the
test card 4242 through the Add a card page, as a customer would, so the pages show a card.
"""

import sys
from datetime import date
from pathlib import Path

from playwright.sync_api import sync_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
OUT = Path(__file__).resolve().parent.parent / "static" / "img" / "screenshots"
TODAY = date.today().isoformat()
PAGES = [
    ("credit", "/billing/credit/"),
    ("buy", "/billing/credit/buy/?amount=500"),
    # Today's date, as the form proposes it: the preview then shows the real next charges.
    ("auto-recharge", f"/billing/credit/auto-recharge/?amount=500&frequency=monthly&billing_date={TODAY}"),
    ("payment-methods", "/billing/payment-methods/"),
    ("usage", "/billing/usage/"),
    ("history", "/billing/history/"),
    ("settings", "/billing/settings/"),
    ("refunds", "/billing/refunds/"),
    ("rate-limits", "/billing/rate-limits/"),
    ("pricing", "/pricing/"),
    ("program", "/programs/apply/"),
]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{BASE}/accounts/login/")
        page.fill("#id_username", "owner@example.com")
        page.fill("#id_password", "demo-pass-123")
        page.click("main button[type=submit]")
        _save_test_card(page)
        for name, path in PAGES:
            page.goto(f"{BASE}{path}")
            page.screenshot(path=OUT / f"{name}.png", full_page=True)
            print(f"{name}: {OUT / f'{name}.png'}")
        # Billing > Credit on a phone.
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{BASE}/billing/credit/")
        page.screenshot(path=OUT / "credit-phone.png", full_page=True)
        print(f"credit-phone: {OUT / 'credit-phone.png'}")
        browser.close()


def _save_test_card(page) -> None:
    page.goto(f"{BASE}/billing/payment-methods/")
    if page.locator("#cards").count():
        return
    page.goto(f"{BASE}/billing/payment-methods/add/")
    card = page.locator("#card-element")
    if not card.get_by_placeholder("number").count():
        return  # real Stripe: its card element is a cross-origin frame; add a card by hand
    for placeholder, value in (
        ("number", "4242424242424242"), ("exp_month", "12"), ("exp_year", "34"),
        ("cvc", "123"), ("postal_code", "94107"),
    ):
        card.get_by_placeholder(placeholder).fill(value)
    page.get_by_role("button", name="Save card").click()
    page.wait_for_url(f"{BASE}/billing/payment-methods/")


if __name__ == "__main__":
    main()
