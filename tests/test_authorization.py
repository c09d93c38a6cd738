"""Who may see what: every organization page, every object URL, every billing action.

Later features add their URLs to the tables here so the matrix stays complete.
"""

import pytest
from django.urls import reverse

from accounts.models import Role
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

# Pages that show the current organization's data.
ORGANIZATION_PAGES = [
    "credits:credit",
    "credits:usage",
    "credits:usage_ledger_csv",
    "credits:payment_methods",
    "credits:refunds",
    "credits:rate_limits",
    "accounts:members",
]

# Actions a plain member may not take (owners or billing members only).
BILLING_ACTIONS: list[tuple[str, dict]] = [
    ("accounts:invite", {"email": "x@example.com", "role": "member"}),
]


def _foreign_object_urls(foreign) -> list[tuple[str, str]]:
    """(method, url) of objects that belong to another organization."""
    return [
        ("post", reverse("accounts:change_role", args=[foreign.pk])),
        ("post", reverse("accounts:remove_member", args=[foreign.pk])),
    ]


@pytest.mark.parametrize("name", ORGANIZATION_PAGES)
def test_anonymous_is_sent_to_login(client, name):
    url = reverse(name)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={url}"


@pytest.mark.parametrize("name", ORGANIZATION_PAGES)
def test_every_role_reads_its_organization_pages(client, name):
    membership = MembershipFactory(role=Role.MEMBER, organization__name="Readable Org")
    client.force_login(membership.user)

    response = client.get(reverse(name))

    assert response.status_code == 200


def test_objects_of_another_organization_are_404(client):
    mine = MembershipFactory(role=Role.OWNER)
    foreign = MembershipFactory(role=Role.MEMBER)
    client.force_login(mine.user)

    for method, url in _foreign_object_urls(foreign):
        response = getattr(client, method)(url, {"role": "owner"})
        assert response.status_code == 404, url
    foreign.refresh_from_db()
    assert foreign.role == Role.MEMBER


@pytest.mark.parametrize(("name", "data"), BILLING_ACTIONS)
def test_member_cannot_take_billing_actions(client, name, data):
    membership = MembershipFactory(role=Role.MEMBER)
    client.force_login(membership.user)

    response = client.post(reverse(name), data)

    assert response.status_code == 403
    assert "can do this" in response.content.decode()
