"""Where every micro-dollar is: the account (cached balance, the lock), lots, and entries."""

from django.conf import settings
from django.db import models


class PeriodKind(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    YEARLY = "yearly", "Yearly"


class CreditAccount(models.Model):
    """One per organization. Its row is the lock every balance change takes first."""

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.PROTECT, related_name="credit_account"
    )
    # Always equal to the sum of this organization's ledger entries (and of its lots'
    # remaining amounts); written in the same transaction as the entries.
    balance_micros = models.BigIntegerField(default=0)
    # How periods are cut lives in CommitmentSchedule rows (credits.services.periods).
    # Staff make an organization Enterprise; its limits then come from EnterpriseRateLimit.
    enterprise = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"Credit account of {self.organization}"


class LotKind(models.TextChoices):
    PAID = "paid", "Paid"
    BONUS = "bonus", "Bonus"
    GRANT = "grant", "Grant"
    # Usage past zero lands here: the only lot allowed below zero.
    OVERAGE = "overage", "Overage"


class CreditLot(models.Model):
    """A parcel of credits with one origin and one expiry; usage draws from lots."""

    account = models.ForeignKey(CreditAccount, on_delete=models.PROTECT, related_name="lots")
    kind = models.CharField(max_length=8, choices=LotKind.choices)
    # What the lot started with, in micro-dollars (0 for the overage lot).
    original_micros = models.BigIntegerField()
    # Cached: equals the sum of this lot's entries.
    remaining_micros = models.BigIntegerField()
    # Null: never expires (paid lots; grants unless staff set a date).
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    purchase = models.ForeignKey(
        "credits.Purchase", on_delete=models.PROTECT, null=True, blank=True, related_name="lots"
    )
    reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="overage", remaining_micros__lte=0)
                | (~models.Q(kind="overage") & models.Q(remaining_micros__gte=0)),
                name="lot_sign_by_kind",
            ),
            # One paid and one bonus lot per purchase, whatever retries happen.
            models.UniqueConstraint(
                fields=["purchase", "kind"],
                condition=models.Q(purchase__isnull=False),
                name="lot_once_per_purchase",
            ),
            models.UniqueConstraint(
                fields=["account"],
                condition=models.Q(kind="overage"),
                name="one_overage_lot_per_account",
            ),
        ]
        indexes = [models.Index(fields=["account", "kind"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} lot #{self.pk}"


class EntryKind(models.TextChoices):
    PURCHASE = "purchase", "Purchase"
    BONUS = "bonus", "Bonus"
    GRANT = "grant", "Grant"
    USAGE = "usage", "Usage"
    EXPIRY = "expiry", "Bonus expired"
    # Moves a purchase's credit onto the overage lot to pay off a negative balance.
    SETTLEMENT = "settlement", "Overage settled"
    ADJUSTMENT = "adjustment", "Staff adjustment"
    REVERSAL = "reversal", "Reversal"


class LedgerEntry(models.Model):
    """An append-only change of one lot; never edited or deleted, only reversed."""

    account = models.ForeignKey(CreditAccount, on_delete=models.PROTECT, related_name="entries")
    # Indexed with created_at below (which serves lookups by lot alone too).
    lot = models.ForeignKey(CreditLot, on_delete=models.PROTECT, related_name="entries", db_index=False)
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    amount_micros = models.BigIntegerField()
    # The organization's balance right after this entry, for statements and audits.
    balance_after_micros = models.BigIntegerField()
    created_at = models.DateTimeField(db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    purchase = models.ForeignKey(
        "credits.Purchase",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="entries",
    )
    # Usage: the batch token of the request that debited it (older entries, written one per
    # call, hold the platform's event id instead).
    reference = models.CharField(max_length=128, blank=True)
    memo = models.CharField(max_length=255, blank=True)
    # A usage batch writes one entry per lot drawn and per model: the model, how many calls
    # began on this entry and their units, so the ledger reads like a statement and grows
    # with batches, not calls. A call whose cost spans two lots counts on the first one, so
    # the entry taking only its remainder says 0 calls. Zero/null on every other entry.
    api_model = models.ForeignKey(
        "credits.ApiModel", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    calls = models.PositiveIntegerField(default=0)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    pages = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["pk"]
        verbose_name_plural = "ledger entries"
        indexes = [
            # A statement page (newest first, ties by id) straight off the index, however many
            # entries the account or the others have.
            models.Index(fields=["account", "created_at", "id"]),
            # The same for one kind other than usage: a rare kind's page (grants, adjustments)
            # without walking the account's usage. Usage entries, most of the ledger and
            # written all the time, stay out of it (the index above serves their pages).
            models.Index(
                fields=["account", "kind", "created_at", "id"],
                name="credits_led_account_kind_page",
                condition=~models.Q(kind=EntryKind.USAGE),
            ),
            # A lot's latest entry in one index probe, however many entries it has (the
            # credit page's used-up lots: a lot drawn by a year of batches has millions).
            models.Index(fields=["lot", "created_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount_micros=0), name="entry_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount_micros:+d} µ$"

    def save(self, *args, **kwargs):
        # Append-only: a stored entry is history. Corrections are new reversing entries.
        if self.pk is not None:
            raise ValueError("Ledger entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Ledger entries are append-only.")

    @property
    def description(self) -> str:
        """The statement line: "Solar Pro 2 usage, 1,000 calls" for a batch usage entry."""
        api_model = self.api_model if self.api_model_id is not None else None
        if api_model is None:
            return self.get_kind_display()
        if self.calls == 0:
            return f"{api_model.name} usage, rest of a call begun on another lot"
        return f"{api_model.name} usage, {self.calls:,} call{'' if self.calls == 1 else 's'}"
