"""Credits models, one module per topic."""

from credits.models.catalog import (
    TIER_LIMIT_COLUMN,
    TIER_RANK,
    ApiModel,
    BillingPolicy,
    BonusRate,
    EnterpriseRateLimit,
    LimitTier,
    ModelKind,
    RateLimit,
    Tier,
    TierThreshold,
)
from credits.models.ledger import (
    CreditAccount,
    CreditLot,
    EntryKind,
    LedgerEntry,
    LotKind,
    PeriodKind,
)
from credits.models.overage import OverageCharge, OverageStatus, OverageTrigger
from credits.models.periods import CommitmentPeriod
from credits.models.programs import ProgramGrant
from credits.models.purchases import Purchase, PurchaseSource, PurchaseStatus
from credits.models.usage import ApiKey, UsageEvent

__all__ = [
    "TIER_LIMIT_COLUMN",
    "TIER_RANK",
    "ApiKey",
    "ApiModel",
    "BillingPolicy",
    "BonusRate",
    "CommitmentPeriod",
    "CreditAccount",
    "CreditLot",
    "EnterpriseRateLimit",
    "EntryKind",
    "LedgerEntry",
    "LimitTier",
    "LotKind",
    "ModelKind",
    "OverageCharge",
    "OverageStatus",
    "OverageTrigger",
    "PeriodKind",
    "ProgramGrant",
    "Purchase",
    "PurchaseSource",
    "PurchaseStatus",
    "RateLimit",
    "Tier",
    "TierThreshold",
    "UsageEvent",
]
