"""Domain errors of the accounts app; each carries a machine-readable code."""


class AccountError(Exception):
    code = "account_error"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
