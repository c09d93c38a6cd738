"""A driver for the localstripe test server: what Stripe's dashboard or a browser would do."""

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

SECRET_KEY = "sk_test_localstripe"

# Stripe's test cards (https://docs.stripe.com/testing).
VISA = "4242424242424242"
# Declined as soon as it is saved (SetupIntent or attach), as on Stripe.
DECLINED = "4000000000000002"
# Saves fine, then every charge is declined.
CHARGE_DECLINED = "4000000000000341"
# Asks for 3-D Secure on every payment.
THREE_D_SECURE = "4000002760003184"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(port: int) -> subprocess.Popen:
    binary = Path(sys.executable).with_name("localstripe")
    return subprocess.Popen(
        [str(binary), "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urlopen(f"{url}/js.stripe.com/v3/", timeout=1):
                return
        except (URLError, ConnectionError, TimeoutError):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"localstripe did not start at {url}") from None
            time.sleep(0.1)


class LocalStripe:
    def __init__(self, url: str):
        self.url = url

    def _call(self, method: str, path: str, data: dict | None = None) -> dict:
        body = urlencode(data).encode() if data is not None else None
        request = Request(
            f"{self.url}{path}",
            data=body,
            method=method,
            headers={"Authorization": f"Bearer {SECRET_KEY}"},
        )
        try:
            with urlopen(request, timeout=10) as response:
                text = response.read()
        except HTTPError as error:
            return {"http_status": error.code, **json.loads(error.read() or b"{}")}
        return json.loads(text) if text.strip() else {}

    def reset(self) -> None:
        self._call("DELETE", "/_config/data")

    def card(self, number: str) -> str:
        """A PaymentMethod as Stripe.js would create it from the card element."""
        return self._call(
            "POST",
            "/v1/payment_methods",
            {"type": "card", "card[number]": number, "card[exp_month]": "12",
             "card[exp_year]": "2034", "card[cvc]": "123"},
        )["id"]

    def confirm_setup_intent(self, client_secret: str, payment_method: str) -> dict:
        """What stripe.confirmCardSetup does in the browser (passing 3-D Secure if asked)."""
        setup_intent = client_secret.split("_secret_")[0]
        path = f"/v1/setup_intents/{setup_intent}/confirm"
        intent = self._call("POST", path, {"payment_method": payment_method, "client_secret": client_secret})
        if intent.get("status") == "requires_action":
            intent = self._call("POST", path, {"client_secret": client_secret})
        return intent

    def authenticate(self, client_secret: str, *, success: bool) -> dict:
        """What stripe.confirmCardPayment does when the customer passes (or fails) 3-D Secure."""
        intent = client_secret.split("_secret_")[0]
        return self._call(
            "POST",
            f"/v1/payment_intents/{intent}/_authenticate?success={'true' if success else 'false'}",
            {"client_secret": client_secret},
        )

    def payment_intent(self, intent_id: str) -> dict:
        return self._call("GET", f"/v1/payment_intents/{intent_id}")

    def payment_intents(self) -> list[dict]:
        return self._call("GET", "/v1/payment_intents?limit=1000")["data"]

    def payment_method(self, pm_id: str) -> dict:
        return self._call("GET", f"/v1/payment_methods/{pm_id}")

    def refunds(self) -> list[dict]:
        return self._call("GET", "/v1/refunds?limit=1000")["data"]
