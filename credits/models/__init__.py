"""Credits models, one module per topic."""

from credits.models.billing_settings import (
    AlertKind,
    AlertSent,
    AlertSettings,
    BillingDetails,
    LowBalanceMode,
)
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
from credits.models.inquiries import EnterpriseInquiry, ExpectedVolume
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
from credits.models.periods import CommitmentPeriod, CommitmentSchedule, ScheduleSource
from credits.models.programs import (
    ApplicationStatus,
    InstitutionKind,
    ProgramApplication,
    ProgramDocument,
    ProgramGrant,
)
from credits.models.purchases import Purchase, PurchaseSource, PurchaseStatus
from credits.models.receipts import (
    BillingKind,
    HistoryStatus,
    Receipt,
    ReceiptSequence,
    format_receipt_number,
)
from credits.models.recharge import (
    AutoRecharge,
    ChargeKind,
    ChargeStatus,
    RechargeCharge,
    RechargeStatus,
)
from credits.models.refunds import RefundRequest, RefundStatus
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
    "AlertKind",
    "AlertSent",
    "AlertSettings",
    "ApiKey",
    "ApiModel",
    "ApplicationStatus",
    "AutoRecharge",
    "BillingDetails",
    "BillingKind",
    "BillingPolicy",
    "BonusExpiryNotice",
    "BonusRate",
    "ChargeKind",
    "ChargeStatus",
    "CommitmentPeriod",
    "CommitmentSchedule",
    "CreditAccount",
    "CreditLot",
    "EnterpriseInquiry",
    "EnterpriseRateLimit",
    "EntryKind",
    "ExpectedVolume",
    "HistoryStatus",
    "InstitutionKind",
    "LedgerEntry",
    "LimitTier",
    "LotKind",
    "LowBalanceMode",
    "ModelKind",
    "OverageCharge",
    "OverageStatus",
    "OverageTrigger",
    "PaymentAttempt",
    "PaymentContactMethod",
    "PaymentContactRequest",
    "PaymentMethod",
    "PeriodKind",
    "ProgramApplication",
    "ProgramDocument",
    "ProgramGrant",
    "Purchase",
    "PurchaseSource",
    "PurchaseStatus",
    "RateLimit",
    "Receipt",
    "ReceiptSequence",
    "RechargeCharge",
    "RechargeStatus",
    "RefundRequest",
    "RefundStatus",
    "ScheduleSource",
    "StripeCustomer",
    "StripeEvent",
    "Tier",
    "TierThreshold",
    "UsageEvent",
    "UsageRollup",
    "format_receipt_number",
]
