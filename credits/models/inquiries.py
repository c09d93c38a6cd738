"""Enterprise contact requests sent from the pricing page."""

from django.core.validators import MaxLengthValidator
from django.db import models


class ExpectedVolume(models.TextChoices):
    # Bands of expected monthly spend, so staff can triage without parsing free text.
    UNDER_5K = "under_5k", "Under $5,000 a month"
    FROM_5K = "5k_25k", "$5,000 to $25,000 a month"
    FROM_25K = "25k_100k", "$25,000 to $100,000 a month"
    OVER_100K = "over_100k", "Over $100,000 a month"


class EnterpriseInquiry(models.Model):
    company = models.CharField(max_length=200)
    contact_name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254)
    expected_volume = models.CharField(
        "expected monthly volume", max_length=16, choices=ExpectedVolume.choices
    )
    message = models.TextField(max_length=4000, validators=[MaxLengthValidator(4000)])
    created_at = models.DateTimeField()
    # Staff tick this once someone has replied; the list shows what is still open.
    handled = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "enterprise inquiries"

    def __str__(self) -> str:
        return f"{self.company} ({self.created_at:%Y-%m-%d})"
