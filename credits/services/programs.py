"""The education and public-interest program: applying, staff decisions, grants, reminders."""

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string

from accounts.models import Membership, Organization, Role, User
from accounts.services import audit_record, invitation_create
from credits.exceptions import ProgramError
from credits.selectors.process_cache import forget_process_cache
from credits.models import (
    ApiModel,
    ApplicationStatus,
    ProgramApplication,
    ProgramDocument,
    ProgramGrant,
)

# 10 MB: enough for a scanned certificate, small enough to keep the public form cheap.
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024

# The first bytes of each accepted type. We trust these, never the file name or the
# Content-Type the browser sends, both of which the uploader chooses.
DOCUMENT_SIGNATURES = (
    (b"%PDF-", ProgramDocument.ContentType.PDF),
    (b"\x89PNG\r\n\x1a\n", ProgramDocument.ContentType.PNG),
    (b"\xff\xd8\xff", ProgramDocument.ContentType.JPEG),
)

# "Solar Pro" family and Document Parse, as the program promises.
PROGRAM_MODEL_SLUGS = ("solar-pro-2", "solar-pro", "document-parse")

# Reminder emails before a grant ends, latest first; see remind_grant_endings.
REMINDERS = ((7, "reminded_7_days_at"), (30, "reminded_30_days_at"))

OPEN_STATUSES = (ApplicationStatus.SUBMITTED, ApplicationStatus.NEEDS_INFO)


def _send_on_commit(*, subject: str, template: str, context: dict, to: list[str]) -> None:
    body = render_to_string(template, context)
    transaction.on_commit(
        lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to)
    )


def document_content_type(document: UploadedFile) -> str:
    """The type the file really is, from its first bytes; refuses anything else or too big."""
    if document.size > MAX_DOCUMENT_BYTES:
        raise ProgramError(
            f"The file is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB; "
            "upload a smaller scan or a PDF.",
            code="document_too_large",
        )
    document.seek(0)
    head = document.read(8)
    document.seek(0)
    for signature, content_type in DOCUMENT_SIGNATURES:
        if head.startswith(signature):
            return content_type
    raise ProgramError(
        "This file is not a PDF, PNG or JPEG (we check the content, not the name).",
        code="document_type",
    )


def _store_document(
    *, application: ProgramApplication, document: UploadedFile, now: datetime
) -> ProgramDocument:
    content_type = document_content_type(document)
    stored = ProgramDocument(
        application=application,
        original_name=(document.name or "document")[-255:],
        content_type=content_type,
        size_bytes=document.size,
        uploaded_at=now,
    )
    stored.file.save("upload", document, save=False)
    # The file is on disk now; if the row fails, the transaction rolls back and the stray
    # file is harmless (private, unreferenced) rather than a row pointing at nothing.
    stored.full_clean()
    stored.save()
    return stored


@transaction.atomic
def program_apply(
    *,
    organization_name: str,
    kind: str,
    country: str,
    website: str,
    contact_name: str,
    contact_email: str,
    intended_use: str,
    document: UploadedFile,
    status_url: str,
    now: datetime,
) -> ProgramApplication:
    """A new application with its proof. `status_url` holds "{token}" for the status link."""
    # Check the file before writing anything, so a bad file leaves no row behind.
    document_content_type(document)
    application = ProgramApplication(
        organization_name=organization_name.strip(),
        kind=kind,
        country=country.strip(),
        website=website.strip(),
        contact_name=contact_name.strip(),
        contact_email=contact_email.strip().lower(),
        intended_use=intended_use.strip(),
        submitted_at=now,
    )
    application.full_clean()
    application.save()
    _store_document(application=application, document=document, now=now)
    link = status_url.format(token=application.status_token)
    _send_on_commit(
        subject="We received your program application",
        template="credits/email/program_received.txt",
        context={"application": application, "status_url": link},
        to=[application.contact_email],
    )
    _send_on_commit(
        subject=f"Program application: {application.organization_name}",
        template="credits/email/program_staff_new.txt",
        context={"application": application},
        to=list(settings.STAFF_NOTIFICATION_EMAILS),
    )
    return application


def _lock_open(application: ProgramApplication) -> ProgramApplication:
    # Two staff members deciding at once: the second sees the first one's decision.
    locked = ProgramApplication.objects.select_for_update().get(pk=application.pk)
    if locked.status not in OPEN_STATUSES:
        raise ProgramError(
            f"This application is already {locked.get_status_display().lower()}.",
            code="application_decided",
        )
    return locked


def one_year_after[When: (date, datetime)](moment: When) -> When:
    """The same date and time a year later; 29 February becomes 28 February."""
    year = moment.year + 1
    day = min(moment.day, calendar.monthrange(year, moment.month)[1])
    return moment.replace(year=year, day=day)


def _organization_for(
    *, application: ProgramApplication, reviewer: User, accept_url: str, now: datetime
) -> tuple[Organization, bool]:
    """The applicant's own organization, or a new one they are invited to own.

    Returns the organization and whether an invitation was sent."""
    owned = (
        Membership.objects.filter(
            user__email__iexact=application.contact_email, role=Role.OWNER
        )
        .select_related("organization")
        .order_by("created_at", "pk")
        .first()
    )
    if owned is not None:
        return owned.organization, False
    organization = Organization(name=application.organization_name, created_at=now)
    organization.full_clean()
    organization.save()
    invitation_create(
        organization=organization,
        invited_by=reviewer,
        email=application.contact_email,
        role=Role.OWNER,
        accept_url=accept_url,
    )
    return organization, True


@transaction.atomic
def program_approve(
    *,
    application: ProgramApplication,
    reviewer: User,
    ends_at: datetime,
    accept_url: str,
    status_url: str,
    now: datetime,
) -> ProgramGrant:
    """Approve: link an organization and grant free use of the program's models until `ends_at`.

    `accept_url` holds "{token}" for the invitation link sent when a new organization is made.
    """
    application = _lock_open(application)
    if ends_at <= now:
        raise ProgramError("The end date must be in the future.", code="grant_end_past")
    if ends_at > one_year_after(now):
        raise ProgramError(
            "A program grant lasts at most one year from approval "
            f"(until {one_year_after(now):%Y-%m-%d %H:%M} UTC).",
            code="grant_too_long",
        )
    models = list(ApiModel.objects.filter(slug__in=PROGRAM_MODEL_SLUGS))
    if not models:
        raise ProgramError(
            "None of the program's models is in the catalog.", code="program_models_missing"
        )
    organization, invited = _organization_for(
        application=application, reviewer=reviewer, accept_url=accept_url, now=now
    )
    grant = ProgramGrant(organization=organization, starts_at=now, ends_at=ends_at, created_by=reviewer)
    grant.full_clean()
    grant.save()
    grant.api_models.set(models)
    # Usage is priced against a cached list of organizations holding grants.
    transaction.on_commit(forget_process_cache)
    application.status = ApplicationStatus.APPROVED
    application.organization = organization
    application.grant = grant
    application.reviewed_by = reviewer
    application.reviewed_at = now
    application.full_clean()
    application.save()
    audit_record(
        actor=reviewer,
        action="program_approve",
        obj=application,
        after={"status": application.status, "grant_id": grant.pk, "ends_at": ends_at.isoformat()},
        organization=organization,
        now=now,
    )
    _send_on_commit(
        subject="Your program application is approved",
        template="credits/email/program_approved.txt",
        context={
            "application": application,
            "grant": grant,
            "models": models,
            "invited": invited,
            "status_url": status_url.format(token=application.status_token),
        },
        to=[application.contact_email],
    )
    return grant


@dataclass(frozen=True)
class _Decision:
    status: str
    # The application field that keeps the staff member's words for the applicant.
    field: str
    action: str
    subject: str
    template: str
    missing: ProgramError


_REJECT = _Decision(
    ApplicationStatus.REJECTED,
    "reject_reason",
    "program_reject",
    "Your program application was not approved",
    "credits/email/program_rejected.txt",
    ProgramError("Give the applicant a reason.", code="reason_required"),
)
_ASK_INFO = _Decision(
    ApplicationStatus.NEEDS_INFO,
    "info_request",
    "program_request_info",
    "We need more information for your program application",
    "credits/email/program_needs_info.txt",
    ProgramError("Say what information you need.", code="message_required"),
)


def _decide(
    decision: _Decision,
    *,
    application: ProgramApplication,
    reviewer: User,
    text: str,
    status_url: str,
    now: datetime,
) -> ProgramApplication:
    """Reject or ask for more: record the words, audit the change, tell the applicant."""
    application = _lock_open(application)
    if not text.strip():
        raise decision.missing
    before = {"status": application.status}
    application.status = decision.status
    setattr(application, decision.field, text.strip())
    application.reviewed_by = reviewer
    application.reviewed_at = now
    application.full_clean()
    application.save()
    audit_record(
        actor=reviewer,
        action=decision.action,
        obj=application,
        before=before,
        after={"status": application.status},
        note=text.strip(),
        now=now,
    )
    _send_on_commit(
        subject=decision.subject,
        template=decision.template,
        context={
            "application": application,
            "status_url": status_url.format(token=application.status_token),
        },
        to=[application.contact_email],
    )
    return application


@transaction.atomic
def program_reject(
    *, application: ProgramApplication, reviewer: User, reason: str, status_url: str, now: datetime
) -> ProgramApplication:
    return _decide(
        _REJECT, application=application, reviewer=reviewer, text=reason, status_url=status_url, now=now
    )


@transaction.atomic
def program_request_info(
    *, application: ProgramApplication, reviewer: User, message: str, status_url: str, now: datetime
) -> ProgramApplication:
    return _decide(
        _ASK_INFO, application=application, reviewer=reviewer, text=message, status_url=status_url, now=now
    )


@transaction.atomic
def program_add_document(
    *, application: ProgramApplication, document: UploadedFile, now: datetime
) -> ProgramDocument:
    """The applicant answers a request for information; the application goes back to review."""
    application = ProgramApplication.objects.select_for_update().get(pk=application.pk)
    if application.status != ApplicationStatus.NEEDS_INFO:
        raise ProgramError(
            "Documents can be added only when we have asked for more information.",
            code="documents_closed",
        )
    stored = _store_document(application=application, document=document, now=now)
    application.status = ApplicationStatus.SUBMITTED
    application.save(update_fields=["status"])
    _send_on_commit(
        subject=f"New document for program application: {application.organization_name}",
        template="credits/email/program_staff_document.txt",
        context={"application": application, "document": stored},
        to=list(settings.STAFF_NOTIFICATION_EMAILS),
    )
    return stored


def _grant_recipients(grant: ProgramGrant) -> list[str]:
    owners = sorted(
        Membership.objects.filter(organization=grant.organization, role=Role.OWNER).values_list(
            "user__email", flat=True
        )
    )
    if owners:
        return owners
    # An organization made at approval has no owner until the invitation is accepted.
    application = ProgramApplication.objects.filter(grant=grant).first()
    return [application.contact_email] if application else []


def remind_grant_endings(*, now: datetime) -> int:
    """Email owners 30 and 7 days before a grant ends, each reminder exactly once.

    Returns how many reminder emails were queued. Safe to run as often as the job runner
    likes, also twice at once: each reminder is claimed by a conditional UPDATE first.
    When both are due in one run (a grant made for less than a month, or the job was down)
    only the 7-day one goes out and the 30-day one is marked as superseded.
    """
    sent = 0
    for days, column in REMINDERS:
        due = ProgramGrant.objects.filter(
            revoked_at__isnull=True,
            ends_at__gt=now,
            ends_at__lte=now + timedelta(days=days),
            **{f"{column}__isnull": True},
        ).select_related("organization")
        for grant in due:
            sent += _remind(grant=grant, days=days, column=column, now=now)
    return sent


@transaction.atomic
def _remind(*, grant: ProgramGrant, days: int, column: str, now: datetime) -> int:
    claimed = ProgramGrant.objects.filter(pk=grant.pk, **{f"{column}__isnull": True}).update(
        **{column: now}
    )
    if not claimed:
        return 0
    if days == 7:
        ProgramGrant.objects.filter(pk=grant.pk, reminded_30_days_at__isnull=True).update(
            reminded_30_days_at=now
        )
    recipients = _grant_recipients(grant)
    if not recipients:
        return 0
    _send_on_commit(
        subject=f"Your free program access ends on {grant.ends_at:%B %-d, %Y}",
        template="credits/email/program_grant_ending.txt",
        context={
            "grant": grant,
            "days_left": max((grant.ends_at - now).days, 0),
            "models": list(grant.api_models.all()),
        },
        to=recipients,
    )
    return 1
