"""Domain errors of the credits app; each carries a machine-readable code."""


class CreditsError(Exception):
    code = "credits_error"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class InvalidAmount(CreditsError):
    code = "invalid_amount"


class TimelineError(CreditsError):
    """A change would overlap or gap an account's commitment periods: a bug, never input."""

    code = "timeline_broken"


class InvalidEstimate(CreditsError):
    code = "invalid_estimate"


class ProgramError(CreditsError):
    """A program application or grant that cannot be made as asked."""

    code = "program_error"


class RefundPolicyNotAccepted(CreditsError):
    code = "refund_policy_not_accepted"


class PaymentError(CreditsError):
    """Stripe refused the payment or could not be asked; nothing was granted.

    `retryable` errors (network, Stripe 5xx, rate limit) leave the purchase pending so the
    same form can be sent again; the others are final for that purchase.
    """

    code = "payment_error"
    retryable = False


class CardDeclined(PaymentError):
    # The message is the bank's (through Stripe), shown to the customer as is.
    code = "card_declined"


class AuthenticationRequired(PaymentError):
    """The bank wants 3-D Secure for a payment made without the customer present."""

    code = "authentication_required"

    def __init__(self, message: str, *, payment_intent_id: str = ""):
        super().__init__(message)
        self.payment_intent_id = payment_intent_id


class PaymentProviderUnavailable(PaymentError):
    code = "payment_provider_unavailable"
    retryable = True


class StripeRequestRejected(PaymentError):
    """Stripe refused the request itself (bad parameters, wrong keys): a bug or misconfiguration."""

    code = "stripe_request_rejected"


class CardSetupFailed(CreditsError):
    code = "card_setup_failed"


class CardRemovalRefused(CreditsError):
    code = "card_removal_refused"


class WebhookSignatureInvalid(CreditsError):
    code = "webhook_signature_invalid"
class InvalidUsageBatch(CreditsError):
    """A usage batch the API refuses whole; says which event and field, for the client."""

    code = "invalid_usage"

    def __init__(
        self,
        message: str,
        *,
        field: str,
        index: int | None = None,
        event_id: str | None = None,
        code: str | None = None,
    ):
        super().__init__(message, code=code)
        self.field = field
        self.index = index
        self.event_id = event_id


class OverageChargeFailed(CreditsError):
    """The card was declined or needs the customer; `code` is the decline code."""

    code = "card_declined"
