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


class InvalidEstimate(CreditsError):
    code = "invalid_estimate"


class ProgramError(CreditsError):
    """A program application or grant that cannot be made as asked."""

    code = "program_error"
