"""View decorators: which organization a request acts for and what its role allows."""

from collections.abc import Callable
from functools import wraps
from typing import overload

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect

from accounts.models import Role
from accounts.selectors import current_membership

_DENIED: dict[str | None, str] = {
    Role.BILLING: "Only the organization's owners and billing members can do this.",
    Role.OWNER: "Only the organization's owners can do this.",
}


# The roles that pass for each lowest role a view asks for (None: any member).
_ALLOWED: dict[str | None, set[str]] = {
    None: set(Role.values),
    Role.BILLING: {Role.OWNER, Role.BILLING},
    Role.OWNER: {Role.OWNER},
}


def _organization_view(
    view: Callable, lowest_role: str | None, with_organization: tuple[str, ...] = ()
) -> Callable:
    allowed = _ALLOWED[lowest_role]

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        membership = current_membership(request, with_organization=with_organization)
        if membership is None:
            return redirect("accounts:organization_create")
        if membership.role not in allowed:
            raise PermissionDenied(_DENIED[lowest_role])
        request.membership = membership
        request.organization = membership.organization
        return view(request, *args, **kwargs)

    return wrapped


@overload
def member_required(view: Callable, /) -> Callable: ...
@overload
def member_required(*, with_organization: tuple[str, ...]) -> Callable[[Callable], Callable]: ...
def member_required(view: Callable | None = None, /, *, with_organization: tuple[str, ...] = ()) -> Callable:
    """Any member of the current organization: reading its billing pages. Used bare, or with
    `with_organization`: what of the organization the page reads, read with the membership
    (accounts.selectors.user_memberships)."""
    if view is None:
        return lambda view: _organization_view(view, None, with_organization)
    return _organization_view(view, None, with_organization)


def billing_required(view: Callable) -> Callable:
    """Owners and billing members: paying and changing billing."""
    return _organization_view(view, Role.BILLING)


def owner_required(view: Callable) -> Callable:
    """Owners only: inviting people and changing roles."""
    return _organization_view(view, Role.OWNER)
