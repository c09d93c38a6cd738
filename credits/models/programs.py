"""The education and public-interest program: free use of some models for a while."""

from django.conf import settings
from django.db import models


class ProgramGrant(models.Model):
    """Usage of `api_models` by `organization` between the dates is not charged."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="program_grants"
    )
    api_models = models.ManyToManyField("credits.ApiModel", related_name="program_grants")
    starts_at = models.DateTimeField()
    # At most one year after approval (enforced by the approving service).
    ends_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Staff may end a grant early; a revoked grant covers nothing from then on.
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="grant_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return f"Program grant for {self.organization} until {self.ends_at:%Y-%m-%d}"
