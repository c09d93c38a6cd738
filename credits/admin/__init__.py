"""Staff admin for credits, one module per topic (Django imports this package)."""

from credits.admin import billing, programs, receipts, usage  # noqa: F401  (registration side effects)
