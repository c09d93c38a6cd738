"""Emails to an organization's people, sent only after the transaction that caused them commits."""

from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string

from accounts.mail import email_subject
from accounts.models import Membership, Organization, Role

BILLING_ROLES = (Role.OWNER, Role.BILLING)


def organization_emails(*, organization: Organization, roles: Iterable[str]) -> list[str]:
    return sorted(
        Membership.objects.filter(organization=organization, role__in=list(roles)).values_list(
            "user__email", flat=True
        )
    )


def notify_organization(
    *,
    organization: Organization,
    subject: str,
    template: str,
    context: dict,
    roles: Iterable[str] = (Role.OWNER,),
) -> None:
    """Queue one email to the organization's members with these roles, sent on commit."""
    recipients = organization_emails(organization=organization, roles=roles)
    if not recipients:
        return
    # portal_url: e-mails link back to the portal (billing history, receipts, settings).
    body = render_to_string(
        template, {"organization": organization, "portal_url": settings.PORTAL_URL, **context}
    )
    transaction.on_commit(
        lambda: send_mail(email_subject(subject), body, settings.DEFAULT_FROM_EMAIL, recipients)
    )


def send_on_commit(*, subject: str, template: str, context: dict, to: list[str]) -> None:
    """Queue one email to these addresses (people outside any organization, or staff), sent on commit."""
    body = render_to_string(template, context)
    transaction.on_commit(lambda: send_mail(email_subject(subject), body, settings.DEFAULT_FROM_EMAIL, to))
