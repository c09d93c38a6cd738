"""Template context: the organizations a user can switch between."""

from accounts.selectors import current_membership, user_memberships


def organizations(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {
        "memberships": user_memberships(request),
        "current_membership": current_membership(request),
    }
