"""Wait for localstripe, then register this site's webhook with it (used by `make run`)."""

import time
from urllib.error import URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Wait until localstripe (STRIPE_API_BASE) answers and send its webhooks to this site."

    def add_arguments(self, parser):
        parser.add_argument("--site", default="http://127.0.0.1:8000", help="This site's base URL.")
        parser.add_argument("--timeout", type=float, default=30)

    def handle(self, *args, site: str, timeout: float, **options):
        base = settings.STRIPE_API_BASE
        if not base:
            raise CommandError("STRIPE_API_BASE is empty: this talks to real Stripe, not localstripe.")
        self._wait(base, timeout)
        # localstripe keeps webhooks in memory under an id of our choosing; re-registering
        # the same id replaces it, so running this twice is harmless.
        data = urlencode(
            {"url": f"{site.rstrip('/')}/stripe/webhook/", "secret": settings.STRIPE_WEBHOOK_SECRET}
        ).encode()
        with urlopen(Request(f"{base}/_config/webhooks/billing-portal", data=data), timeout=5):
            pass
        self.stdout.write(f"localstripe at {base} sends webhooks to {site}/stripe/webhook/")

    def _wait(self, base: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urlopen(f"{base}/js.stripe.com/v3/", timeout=1):
                    return
            except (URLError, ConnectionError, TimeoutError) as error:
                if time.monotonic() > deadline:
                    raise CommandError(f"localstripe did not answer at {base}: {error}") from error
                time.sleep(0.2)
