"""Reads for accounts: which organization a request acts for."""

from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import Membership, Organization
from billing_portal.compiled_queries import compiled_rows

SESSION_KEY = "organization_id"


def _memberships_query(*, user_id: int) -> QuerySet[Membership]:
    return Membership.objects.filter(user_id=user_id).select_related("organization").order_by(
        "organization__name", "pk"
    )


def user_memberships(request: HttpRequest) -> list[Membership]:
    """The signed-in user's memberships, read once per request."""
    if not request.user.is_authenticated:
        return []
    cached: list[Membership] | None = getattr(request, "_memberships", None)
    if cached is None:
        # Compiled once per process: every signed-in page reads it.
        cached = compiled_rows(Membership, _memberships_query, user_id=request.user.pk)
        # Cached on the request object: it lives exactly as long as the request.
        setattr(request, "_memberships", cached)  # noqa: B010
    return cached


def current_membership(request: HttpRequest) -> Membership | None:
    """The membership chosen in the session, else the one used last, else the first one."""
    memberships = user_memberships(request)
    chosen = request.session.get(SESSION_KEY)
    for membership in memberships:
        if membership.organization_id == chosen:
            return membership
    used = [(m.last_used_at, m) for m in memberships if m.last_used_at is not None]
    if used:
        return max(used, key=lambda pair: pair[0])[1]
    return memberships[0] if memberships else None


def organization_by_id(organization_id: int) -> Organization | None:
    """The organization with this id, or None (the machine API answers 404)."""
    return Organization.objects.filter(pk=organization_id).first()
