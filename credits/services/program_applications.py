"""Program applications: applying with a proof document, staff rejecting or asking for more, the
applicant adding a document."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from accounts.models import Organization, User
from accounts.services import audit_record
from credits.exceptions import ProgramError
from credits.models import (
    ApplicationStatus,
    ProgramApplication,
    ProgramDocument,
)
from credits.services.notifications import send_on_commit

# 10 MB: enough for a scanned certificate, small enough to keep the public form cheap.
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024

# The first bytes of each accepted type. We trust these, never the file name or the
# Content-Type the browser sends, both of which the uploader chooses.
DOCUMENT_SIGNATURES = (
    (b"%PDF-", ProgramDocument.ContentType.PDF),
    (b"\x89PNG\r\n\x1a\n", ProgramDocument.ContentType.PNG),
    (b"\xff\xd8\xff", ProgramDocument.ContentType.JPEG),
)

OPEN_STATUSES = (ApplicationStatus.SUBMITTED, ApplicationStatus.NEEDS_INFO)


def document_content_type(document: UploadedFile) -> str:
    """The type the file really is, from its first bytes; refuses anything else or too big."""
    if (document.size or 0) > MAX_DOCUMENT_BYTES:
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
        size_bytes=document.size or 0,
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
    submitted_by: User | None = None,
    applicant_organization: Organization | None = None,
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
        submitted_by=submitted_by,
        applicant_organization=applicant_organization,
    )
    application.full_clean()
    application.save()
    _store_document(application=application, document=document, now=now)
    link = status_url.format(token=application.status_token)
    send_on_commit(
        subject="We received your program application",
        template="credits/email/program_received.txt",
        context={"application": application, "status_url": link},
        to=[application.contact_email],
    )
    send_on_commit(
        subject=f"Program application: {application.organization_name}",
        template="credits/email/program_staff_new.txt",
        context={"application": application},
        to=list(settings.STAFF_NOTIFICATION_EMAILS),
    )
    return application


def lock_open(application: ProgramApplication) -> ProgramApplication:
    # Two staff members deciding at once: the second sees the first one's decision.
    locked = ProgramApplication.objects.select_for_update().get(pk=application.pk)
    if locked.status not in OPEN_STATUSES:
        raise ProgramError(
            f"This application is already {locked.get_status_display().lower()}.",
            code="application_decided",
        )
    return locked


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
    application = lock_open(application)
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
    send_on_commit(
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
    send_on_commit(
        subject=f"New document for program application: {application.organization_name}",
        template="credits/email/program_staff_document.txt",
        context={"application": application, "document": stored},
        to=list(settings.STAFF_NOTIFICATION_EMAILS),
    )
    return stored
