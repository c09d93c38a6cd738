"""Program grants: staff approving an application gives an organization free use of the program's
models for up to a year."""

from datetime import datetime

from django.db import transaction

from accounts.models import Organization, Role, User
from accounts.services import audit_record, invitation_create
from credits.exceptions import ProgramError
from credits.models import (
    ApiModel,
    ApplicationStatus,
    ProgramApplication,
    ProgramGrant,
)
from credits.selectors.process_cache import forget_process_cache
from credits.selectors.programs import one_year_after
from credits.services.ledger import credit_account_create
from credits.services.notifications import send_on_commit
from credits.services.program_applications import lock_open


def _organization_for(
    *,
    application: ProgramApplication,
    organization: Organization | None,
    reviewer: User,
    accept_url: str,
    now: datetime,
) -> tuple[Organization, bool]:
    """The organization staff chose (by default the one the applicant applied from), or a
    new one the contact is invited to own. Never one found by the contact email: anyone
    can type an email, so that would hand a grant to an organization that did not apply.

    Returns the organization and whether an invitation was sent."""
    if organization is not None:
        return organization, False
    organization = Organization(name=application.organization_name, created_at=now)
    organization.full_clean()
    organization.save()
    credit_account_create(organization=organization)
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
    organization: Organization | None,
    accept_url: str,
    status_url: str,
    now: datetime,
) -> ProgramGrant:
    """Approve: grant `organization` (None: a new one, its owner invited) free use of the
    models the catalog marks as covered by the program, until `ends_at`.

    `accept_url` holds "{token}" for the invitation link sent when a new organization is made.
    """
    application = lock_open(application)
    if ends_at <= now:
        raise ProgramError("The end date must be in the future.", code="grant_end_past")
    if ends_at > one_year_after(now):
        raise ProgramError(
            "A program grant lasts at most one year from approval "
            f"(until {one_year_after(now):%Y-%m-%d %H:%M} UTC).",
            code="grant_too_long",
        )
    models = list(ApiModel.objects.filter(in_program=True))
    if not models:
        raise ProgramError(
            "No model in the catalog is marked as covered by the program.", code="program_models_missing"
        )
    organization, invited = _organization_for(
        application=application,
        organization=organization,
        reviewer=reviewer,
        accept_url=accept_url,
        now=now,
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
    send_on_commit(
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
