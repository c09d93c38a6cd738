"""Screenshots of the main pages for the README, from a running `make run` site.

Usage: .venv/bin/python .ci/screenshots.py [http://127.0.0.1:8000]
Writes static/img/screenshots/*.png.
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
OUT = Path(__file__).resolve().parent.parent / "static" / "img" / "screenshots"
PAGES = [
    ("credit", "/billing/credit/"),
    ("buy", "/billing/credit/buy/?amount=500"),
    ("auto-recharge", "/billing/credit/auto-recharge/?amount=500&frequency=monthly&billing_date=2099-01-31"),
    ("payment-methods", "/billing/payment-methods/"),
    ("usage", "/billing/usage/"),
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
        page.click("button[type=submit]")
        for name, path in PAGES:
            page.goto(f"{BASE}{path}")
            page.screenshot(path=OUT / f"{name}.png", full_page=True)
            print(f"{name}: {OUT / f'{name}.png'}")
        browser.close()


if __name__ == "__main__":
    main()
