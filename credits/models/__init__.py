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
from credits.models.notices import BonusExpiryNotice
from credits.models.overage import OverageCharge, OverageStatus, OverageTrigger
from credits.models.periods import CommitmentPeriod
from credits.models.inquiries import EnterpriseInquiry, ExpectedVolume
from credits.models.programs import (
    ApplicationStatus,
    InstitutionKind,
    ProgramApplication,
    ProgramDocument,
    ProgramGrant,
)
from credits.models.purchases import Purchase, PurchaseSource, PurchaseStatus
from credits.models.refunds import RefundRequest, RefundStatus
from credits.models.recharge import (
    AutoRecharge,
    ChargeKind,
    ChargeStatus,
    RechargeCharge,
    RechargeStatus,
)
from credits.models.stripe_state import (
    PaymentAttempt,
    PaymentContactMethod,
    PaymentContactRequest,
    PaymentMethod,
    StripeCustomer,
    StripeEvent,
)
from credits.models.usage import ApiKey, UsageEvent, UsageRollup

__all__ = [
    "TIER_LIMIT_COLUMN",
    "TIER_RANK",
    "ApiKey",
    "ApiModel",
    "AutoRecharge",
    "ApplicationStatus",
    "BillingPolicy",
    "BonusExpiryNotice",
    "BonusRate",
    "ChargeKind",
    "ChargeStatus",
    "CommitmentPeriod",
    "CreditAccount",
    "CreditLot",
    "EnterpriseInquiry",
    "EnterpriseRateLimit",
    "EntryKind",
    "ExpectedVolume",
    "InstitutionKind",
    "LedgerEntry",
    "LimitTier",
    "LotKind",
    "PaymentAttempt",
    "PaymentContactMethod",
    "PaymentContactRequest",
    "PaymentMethod",
    "ModelKind",
    "OverageCharge",
    "OverageStatus",
    "OverageTrigger",
    "PeriodKind",
    "ProgramApplication",
    "ProgramDocument",
    "ProgramGrant",
    "Purchase",
    "PurchaseSource",
    "PurchaseStatus",
    "RateLimit",
    "RechargeCharge",
    "RechargeStatus",
    "RefundRequest",
    "RefundStatus",
    "StripeCustomer",
    "StripeEvent",
    "Tier",
    "TierThreshold",
    "UsageEvent",
    "UsageRollup",
]
