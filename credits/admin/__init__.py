"""Staff admin for credits, one module per topic (Django imports this package)."""

from credits.admin import (  # noqa: F401  (registration side effects)
    catalog,
    ledger,
    policy,
    programs,
    purchases,
    receipts,
    recharge,
    refunds,
    stripe_state,
    usage,
)
