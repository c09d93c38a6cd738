"""Emails that must go out once: a row per notice, unique, written with the send."""

from django.db import models


class BonusExpiryNotice(models.Model):
    """"Your bonus expires in N days" was sent for this lot."""

    lot = models.ForeignKey("credits.CreditLot", on_delete=models.PROTECT, related_name="+")
    days_before = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lot", "days_before"], name="bonus_notice_once"),
        ]

    def __str__(self) -> str:
        return f"Bonus expiry notice, {self.days_before} days before, lot {self.lot_id}"
