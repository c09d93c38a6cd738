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
