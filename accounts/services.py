"""Writes for accounts: signup, invitations, roles and organizations."""

import json
from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.exceptions import AccountError
from accounts.mail import email_subject
from accounts.models import AuditEntry, Invitation, Membership, Organization, Role, User


def _normalize_email(email: str) -> str:
    return User.objects.normalize_email(email.strip()).lower()


@transaction.atomic
def organization_create(*, name: str, owner: User, now: datetime | None = None) -> Organization:
    organization = Organization(name=name.strip(), created_at=now or timezone.now())
    organization.full_clean()
    organization.save()
    Membership.objects.create(user=owner, organization=organization, role=Role.OWNER)
    # What other apps keep per organization (credits: its account) is made in the same
    # transaction through these hooks, so `accounts` needs no import of them.
    for hook in settings.ORGANIZATION_CREATED_HOOKS:
        import_string(hook)(organization=organization)
    return organization


@transaction.atomic
def user_signup(
    *, email: str, password: str, organization_name: str, now: datetime | None = None
) -> User:
    """A new user and their own organization, of which they are the owner."""
    user = _user_create(email=email, password=password)
    organization_create(name=organization_name, owner=user, now=now)
    return user


def _user_create(*, email: str, password: str) -> User:
    email = _normalize_email(email)
    if User.objects.filter(email__iexact=email).exists():
        raise AccountError("An account with this email already exists.", code="email_taken")
    try:
        with transaction.atomic():
            return User.objects.create_user(email=email, password=password)
    except IntegrityError as error:
        # Two signups with the same email racing: the unique index decides.
        raise AccountError(
            "An account with this email already exists.", code="email_taken"
        ) from error


@transaction.atomic
def invitation_create(
    *, organization: Organization, invited_by: User, email: str, role: str, accept_url: str
) -> Invitation:
    email = _normalize_email(email)
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise AccountError(f"{email} is already a member.", code="already_member")
    invitation = Invitation(
        organization=organization, invited_by=invited_by, email=email, role=role
    )
    invitation.full_clean()
    invitation.save()
    body = render_to_string(
        "accounts/email/invitation.txt",
        {"invitation": invitation, "accept_url": accept_url.format(token=invitation.token)},
    )
    transaction.on_commit(
        lambda: send_mail(
            email_subject(f"You are invited to {organization.name}"),
            body,
            settings.DEFAULT_FROM_EMAIL,
            [email],
        )
    )
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user: User, now: datetime | None = None) -> Membership:
    invitation = (
        Invitation.objects.select_for_update().select_related("organization").filter(token=token)
    ).first()
    if invitation is None or not invitation.is_pending:
        raise AccountError("This invitation is no longer valid.", code="invitation_invalid")
    if invitation.email.lower() != user.email.lower():
        raise AccountError(
            f"This invitation was sent to {invitation.email}; sign in with that address.",
            code="invitation_other_email",
        )
    membership, _ = Membership.objects.get_or_create(
        user=user, organization=invitation.organization, defaults={"role": invitation.role}
    )
    invitation.accepted_at = now or timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership


@transaction.atomic
def invitation_signup(*, token: str, password: str, now: datetime | None = None) -> User:
    """An invited person without an account creates one and joins the organization."""
    invitation = Invitation.objects.filter(token=token).first()
    if invitation is None or not invitation.is_pending:
        raise AccountError("This invitation is no longer valid.", code="invitation_invalid")
    user = _user_create(email=invitation.email, password=password)
    invitation_accept(token=token, user=user, now=now)
    return user


def _lock_memberships(organization: Organization) -> list[Membership]:
    # Lock every membership of the organization so two owners demoting each other at once
    # cannot leave it without an owner.
    return list(
        Membership.objects.select_for_update().filter(organization=organization).order_by("pk")
    )


@transaction.atomic
def membership_change_role(*, membership: Membership, role: str) -> Membership:
    if role not in Role.values:
        raise AccountError("Unknown role.", code="invalid_role")
    locked = _lock_memberships(membership.organization)
    owners = [m for m in locked if m.role == Role.OWNER]
    if membership.role == Role.OWNER and role != Role.OWNER and len(owners) == 1:
        raise AccountError(
            "An organization needs at least one owner; make someone else owner first.",
            code="last_owner",
        )
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    locked = _lock_memberships(membership.organization)
    owners = [m for m in locked if m.role == Role.OWNER]
    if membership.role == Role.OWNER and len(owners) == 1:
        raise AccountError(
            "An organization needs at least one owner; make someone else owner first.",
            code="last_owner",
        )
    membership.delete()


def _snapshot(instance) -> dict:
    """A JSON-safe picture of a row's fields (many-to-many as lists of ids)."""
    data = model_to_dict(instance)
    for key, value in list(data.items()):
        if isinstance(value, list):
            data[key] = [getattr(v, "pk", v) for v in value]
    data.pop("password", None)
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def audit_snapshot(instance) -> dict | None:
    return _snapshot(instance) if instance is not None and instance.pk else None


def audit_record(
    *,
    actor,
    action: str,
    obj,
    before: dict | None = None,
    after: dict | None = None,
    organization: Organization | None = None,
    note: str = "",
    now: datetime | None = None,
) -> AuditEntry:
    """Append one audit entry (inside the caller's transaction, so it commits with the change)."""
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        action=action,
        object_type=f"{obj._meta.app_label}.{obj._meta.model_name}",
        object_id=str(obj.pk),
        object_repr=str(obj)[:255],
        organization=organization,
        before=before,
        after=after,
        note=note[:500],
        created_at=now or timezone.now(),
    )


def membership_mark_used(*, user: User, organization_id: int, now: datetime) -> None:
    """Remember that the user now works in this organization (opened first at next login)."""
    Membership.objects.filter(user=user, organization_id=organization_id).update(last_used_at=now)
