"""Reads for accounts: which organization a request acts for."""

from collections.abc import Callable
from functools import cache

from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import Membership, Organization
from billing_portal.compiled_queries import compiled_rows

SESSION_KEY = "organization_id"


def _memberships_query(*, user_id: int) -> QuerySet[Membership]:
    return Membership.objects.filter(user_id=user_id).select_related("organization").order_by(
        "organization__name", "pk"
    )


@cache
def _memberships_query_with(related: tuple[str, ...]) -> Callable[..., QuerySet[Membership]]:
    """The memberships read that also joins these one-to-one relations of each organization:
    one build per set of relations (made once per process), so each is compiled once."""
    if not related:
        return _memberships_query

    def build(*, user_id: int) -> QuerySet[Membership]:
        return _memberships_query(user_id=user_id).select_related(
            *(f"organization__{name}" for name in related)
        )

    return build


def user_memberships(request: HttpRequest, *, with_organization: tuple[str, ...] = ()) -> list[Membership]:
    """The signed-in user's memberships, read once per request.

    `with_organization` names what other apps keep one of per organization (reverse
    one-to-one relations, as credits' "credit_account") to read in the same query, for a
    page that reads it for the organization it shows: one round trip instead of two. The
    first read of a request decides; a relation it did not join is read when it is used."""
    if not request.user.is_authenticated:
        return []
    cached: list[Membership] | None = getattr(request, "_memberships", None)
    if cached is None:
        # Compiled once per process: every signed-in page reads it.
        build = _memberships_query_with(tuple(sorted(with_organization)))
        cached = compiled_rows(Membership, build, user_id=request.user.pk)
        # Cached on the request object: it lives exactly as long as the request.
        setattr(request, "_memberships", cached)  # noqa: B010
    return cached


def current_membership(
    request: HttpRequest, *, with_organization: tuple[str, ...] = ()
) -> Membership | None:
    """The membership chosen in the session, else the one used last, else the first one
    (`with_organization` as `user_memberships` takes it)."""
    memberships = user_memberships(request, with_organization=with_organization)
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
