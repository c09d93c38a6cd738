"""Stripe replaced where tests may replace it: the functions of credits/stripe_client.py.

Tests that need scripted answers (a decline on the third try, an outage, 3-D Secure that the
customer later completes) use `ScriptedStripe`; tests that need a real Stripe API use
localstripe (`stripe_server`). Services are never patched: the code under test takes every
path it takes in production, down to the adapter.
"""

from itertools import count

from credits import stripe_client
from credits.exceptions import (
    AuthenticationRequired,
    CardDeclined,
    PaymentProviderUnavailable,
    StripeRequestRejected,
)
from credits.models import PaymentMethod
from tests.factories import PaymentMethodFactory

# What a scripted charge can come to: Stripe's intent statuses, plus two ways of not answering.
SUCCEEDED = "succeeded"
DECLINED = "requires_payment_method"
REQUIRES_ACTION = "requires_action"
PROCESSING = "processing"
UNAVAILABLE = "unavailable"  # stripe_client raises PaymentProviderUnavailable

DECLINE_MESSAGE = "Your card was declined."


def default_card(organization, **fields):
    """The organization's default saved card, as a row only (no Stripe behind it); made on
    the first call, the same card after."""
    card = PaymentMethod.objects.filter(customer__organization=organization, is_default=True).first()
    return card or PaymentMethodFactory(customer__organization=organization, is_default=True, **fields)


class ScriptedStripe:
    """Answers each new payment intent with the next word of `script` (then `otherwise`,
    SUCCEEDED unless set) and records every call. `intents` holds what Stripe would now say of each intent;
    `now_says(intent_id, status)` changes that (3-D Secure finished, a payment settled)."""

    def __init__(self, monkeypatch):
        self.script: list[str | BaseException] = []
        # The answer once the script has run out.
        self.otherwise: str | BaseException = SUCCEEDED
        self.charges: list[dict] = []
        self.intents: dict[str, stripe_client.PaymentIntent] = {}
        self.refunds: list[dict] = []
        self.refund_script: list[str | BaseException] = []
        self._ids = count(1)
        monkeypatch.setattr(stripe_client, "payment_intent_create_and_confirm", self.create)
        monkeypatch.setattr(stripe_client, "payment_intent_retrieve", self.retrieve)
        monkeypatch.setattr(stripe_client, "refund_create", self.refund)
        monkeypatch.setattr(stripe_client, "payment_intent_cancel", self.cancel)
        self.cancelled: list[str] = []

    def create(
        self,
        *,
        customer: str,
        payment_method: str,
        amount_cents: int,
        idempotency_key: str,
        off_session: bool = False,
        metadata: dict[str, str] | None = None,
    ) -> stripe_client.PaymentIntent:
        call = {
            "customer": customer,
            "payment_method": payment_method,
            "amount_cents": amount_cents,
            "idempotency_key": idempotency_key,
            "off_session": off_session,
            "metadata": dict(metadata or {}),
        }
        self.charges.append(call)
        answer = self.script.pop(0) if self.script else self.otherwise
        if isinstance(answer, BaseException):
            raise answer
        if answer == UNAVAILABLE:
            raise PaymentProviderUnavailable("Stripe did not answer.")
        intent = stripe_client.PaymentIntent(
            id=f"pi_fake{next(self._ids)}",
            status=answer,
            client_secret="",
            amount_cents=amount_cents,
            currency=stripe_client.CURRENCY,
            customer=customer,
            payment_method=payment_method,
            metadata=call["metadata"],
            error_message=DECLINE_MESSAGE if answer == DECLINED else "",
        )
        self.intents[intent.id] = intent
        # What the real adapter does with these answers (credits/stripe_client.py).
        if answer == DECLINED:
            raise CardDeclined(DECLINE_MESSAGE)
        if answer == REQUIRES_ACTION and off_session:
            raise AuthenticationRequired(
                "Your bank asks you to confirm this payment.", payment_intent_id=intent.id
            )
        return intent

    def retrieve(self, *, payment_intent_id: str) -> stripe_client.PaymentIntent:
        return self.intents[payment_intent_id]

    def cancel(self, *, payment_intent_id: str) -> stripe_client.PaymentIntent:
        if self.intents[payment_intent_id].status not in stripe_client.CANCELABLE_INTENT_STATUSES:
            raise StripeRequestRejected("This PaymentIntent's status does not allow it to be canceled.")
        self.cancelled.append(payment_intent_id)
        self.now_says(payment_intent_id, "canceled")
        return self.intents[payment_intent_id]

    def now_says(self, intent_id: str, status: str) -> None:
        """Stripe's later word on an intent: the customer finished 3-D Secure (SUCCEEDED or
        DECLINED), or a processing payment settled."""
        intent = self.intents[intent_id]
        self.intents[intent_id] = stripe_client.PaymentIntent(**{**intent.__dict__, "status": status})

    def calls(self, *fields: str) -> list[dict]:
        """The payment intents asked for, with only these fields of each."""
        return [{name: charge[name] for name in fields} for charge in self.charges]

    def refund(self, *, payment_intent_id: str, amount_cents: int, idempotency_key: str) -> str:
        answer = self.refund_script.pop(0) if self.refund_script else SUCCEEDED
        if isinstance(answer, BaseException):
            raise answer
        if answer == UNAVAILABLE:
            raise PaymentProviderUnavailable("Stripe is unavailable")
        for made in self.refunds:
            # Stripe answers a repeated key with the refund it made.
            if made["idempotency_key"] == idempotency_key:
                return made["id"]
        made = {
            "id": f"re_fake{len(self.refunds) + 1}",
            "payment_intent": payment_intent_id,
            "amount_cents": amount_cents,
            "idempotency_key": idempotency_key,
        }
        self.refunds.append(made)
        return made["id"]
