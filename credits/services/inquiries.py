"""Enterprise contact requests: stored for staff and mailed to them."""

from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string

from accounts.mail import email_subject
from credits.models import EnterpriseInquiry


@transaction.atomic
def enterprise_inquiry_create(
    *,
    company: str,
    contact_name: str,
    email: str,
    expected_volume: str,
    message: str,
    now: datetime,
) -> EnterpriseInquiry:
    inquiry = EnterpriseInquiry(
        company=company.strip(),
        contact_name=contact_name.strip(),
        email=email.strip(),
        expected_volume=expected_volume,
        message=message.strip(),
        created_at=now,
    )
    inquiry.full_clean()
    inquiry.save()
    body = render_to_string("credits/email/enterprise_inquiry.txt", {"inquiry": inquiry})
    recipients = list(settings.STAFF_NOTIFICATION_EMAILS)
    transaction.on_commit(
        lambda: send_mail(
            email_subject(f"Enterprise inquiry: {inquiry.company}"),
            body,
            settings.DEFAULT_FROM_EMAIL,
            recipients,
        )
    )
    return inquiry
