"""The education and public-interest program: applications, their documents, and grants."""

import secrets
import uuid

from django.conf import settings
from django.core.validators import MaxLengthValidator
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
    # When the "ends in 30 days" / "ends in 7 days" emails went out. The reminder job claims
    # a reminder by setting its column with a conditional UPDATE (only where still null), so
    # two runs at once still send each reminder exactly once.
    reminded_30_days_at = models.DateTimeField(null=True, blank=True)
    reminded_7_days_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="grant_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return f"Program grant for {self.organization} until {self.ends_at:%Y-%m-%d}"


class InstitutionKind(models.TextChoices):
    SCHOOL = "school", "School or university"
    HOSPITAL = "hospital", "Hospital"
    NONPROFIT = "nonprofit", "Nonprofit or public-interest organization"


class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted, waiting for review"
    NEEDS_INFO = "needs_info", "More information needed"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


def _status_token() -> str:
    return secrets.token_urlsafe(32)


class ProgramApplication(models.Model):
    """One institution's request to join the program, from the public form to staff's decision."""

    organization_name = models.CharField(max_length=200)
    kind = models.CharField("type", max_length=16, choices=InstitutionKind.choices)
    country = models.CharField(max_length=100)
    website = models.URLField(max_length=200)
    contact_name = models.CharField(max_length=200)
    contact_email = models.EmailField(max_length=254)
    # TextField max_length is not checked by full_clean; the validator is.
    intended_use = models.TextField(max_length=4000, validators=[MaxLengthValidator(4000)])
    status = models.CharField(
        max_length=16, choices=ApplicationStatus.choices, default=ApplicationStatus.SUBMITTED
    )
    # Shown to the applicant on the status page and in the email.
    reject_reason = models.TextField(
        max_length=2000, blank=True, validators=[MaxLengthValidator(2000)]
    )
    info_request = models.TextField(
        max_length=2000, blank=True, validators=[MaxLengthValidator(2000)]
    )
    # The applicant has no account: this secret in the emailed link is their only key to the
    # status page and to adding documents.
    status_token = models.CharField(max_length=64, unique=True, default=_status_token)
    submitted_at = models.DateTimeField()
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # Who applied, when they were signed in (an owner or billing member of the organization
    # they were acting for): that organization is what staff grant to unless they choose
    # another. The contact email alone never picks an organization (anyone can type one).
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    applicant_organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The organization the applicant was signed in to when applying.",
    )
    # Set on approval: the organization staff chose, or one created for the applicant.
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="program_applications",
    )
    grant = models.OneToOneField(
        ProgramGrant,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="application",
    )

    class Meta:
        ordering = ["-submitted_at"]
        constraints = [
            # An approved application always carries its grant; nothing else has one.
            models.CheckConstraint(
                condition=(
                    models.Q(status=ApplicationStatus.APPROVED, grant__isnull=False)
                    | (~models.Q(status=ApplicationStatus.APPROVED) & models.Q(grant__isnull=True))
                ),
                name="program_application_grant_iff_approved",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization_name} ({self.get_status_display()})"


def _document_path(instance: "ProgramDocument", filename: str) -> str:
    # Never the applicant's file name on disk: a random name with the extension of the type
    # we detected from the content.
    return f"program-documents/{uuid.uuid4().hex}.{instance.extension}"


class ProgramDocument(models.Model):
    """A proof the applicant uploaded. Private: only staff download it, through a view."""

    class ContentType(models.TextChoices):
        PDF = "application/pdf", "PDF"
        PNG = "image/png", "PNG image"
        JPEG = "image/jpeg", "JPEG image"

    application = models.ForeignKey(
        ProgramApplication, on_delete=models.CASCADE, related_name="documents"
    )
    file = models.FileField(upload_to=_document_path, max_length=255)
    # As the applicant named it; shown to staff, never used as a path.
    original_name = models.CharField(max_length=255)
    # Detected from the file's first bytes, not from its name or the browser's claim.
    content_type = models.CharField(max_length=32, choices=ContentType.choices)
    size_bytes = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return self.original_name

    @property
    def extension(self) -> str:
        return {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}[
            self.content_type
        ]
