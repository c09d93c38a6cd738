import pytest
from django.core import mail
from django.urls import reverse

from accounts import services
from accounts.exceptions import AccountError
from accounts.models import Invitation, Membership, Role
from tests.factories import PASSWORD, InvitationFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_owner_invites_and_invitee_signs_up_into_the_organization(
    client, owner_client, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(
            reverse("accounts:invite"), {"email": "new@example.com", "role": "billing"}
        )

    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role) == ("new@example.com", Role.BILLING)
    assert len(mail.outbox) == 1
    assert f"/accounts/invitations/{invitation.token}/" in mail.outbox[0].body

    owner_client.post(reverse("accounts:logout"))
    response = client.post(
        reverse("accounts:invitation", args=[invitation.token]),
        {"password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    membership = Membership.objects.get(user__email="new@example.com")
    assert (membership.organization, membership.role) == (owner.organization, Role.BILLING)
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None


def test_existing_user_accepts_invitation(client):
    invitation = InvitationFactory(email="has@example.com", role=Role.MEMBER)
    user = UserFactory(email="has@example.com")
    client.force_login(user)

    client.post(reverse("accounts:invitation", args=[invitation.token]))

    assert Membership.objects.get(user=user).organization == invitation.organization
    again = client.post(reverse("accounts:invitation", args=[invitation.token]))
    assert again.status_code == 410
    assert Membership.objects.filter(user=user).count() == 1


def test_invitation_for_another_email_is_refused(client):
    invitation = InvitationFactory(email="meant@example.com")
    client.force_login(UserFactory(email="other@example.com"))

    client.post(reverse("accounts:invitation", args=[invitation.token]))

    assert Membership.objects.count() == 0


def test_inviting_an_existing_member_is_refused(owner):
    member = MembershipFactory(organization=owner.organization, role=Role.MEMBER)

    with pytest.raises(AccountError) as error:
        services.invitation_create(
            organization=owner.organization,
            invited_by=owner.user,
            email=member.user.email.upper(),
            role=Role.MEMBER,
            accept_url="http://x/{token}",
        )
    assert error.value.code == "already_member"


def test_owner_changes_role(owner_client, owner):
    member = MembershipFactory(organization=owner.organization, role=Role.MEMBER)

    owner_client.post(reverse("accounts:change_role", args=[member.pk]), {"role": "billing"})

    member.refresh_from_db()
    assert member.role == Role.BILLING


def test_last_owner_cannot_be_demoted_or_removed(owner_client, owner):
    owner_client.post(reverse("accounts:change_role", args=[owner.pk]), {"role": "member"})
    owner_client.post(reverse("accounts:remove_member", args=[owner.pk]))

    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_owner_can_step_down_when_another_owner_exists(owner_client, owner):
    MembershipFactory(organization=owner.organization, role=Role.OWNER)

    owner_client.post(reverse("accounts:change_role", args=[owner.pk]), {"role": "billing"})

    owner.refresh_from_db()
    assert owner.role == Role.BILLING


@pytest.mark.parametrize("role", [Role.BILLING, Role.MEMBER])
def test_non_owners_cannot_invite_or_change_roles(client, role):
    membership = MembershipFactory(role=role)
    other = MembershipFactory(organization=membership.organization, role=Role.MEMBER)
    client.force_login(membership.user)

    invite = client.post(reverse("accounts:invite"), {"email": "x@example.com", "role": "owner"})
    change = client.post(reverse("accounts:change_role", args=[other.pk]), {"role": "owner"})

    assert (invite.status_code, change.status_code) == (403, 403)
    assert Invitation.objects.count() == 0
    other.refresh_from_db()
    assert other.role == Role.MEMBER


def test_user_switches_between_organizations(client):
    first = MembershipFactory(organization__name="Alpha")
    second = MembershipFactory(user=first.user, organization__name="Beta", role=Role.MEMBER)
    client.force_login(first.user)

    assert "Alpha" in client.get(reverse("credits:credit")).content.decode()
    client.post(reverse("accounts:organization_switch"), {"organization": second.organization_id})
    page = client.get(reverse("credits:credit")).content.decode()

    assert '<p class="subtitle">Beta</p>' in page


def test_switching_to_a_foreign_organization_is_404(client):
    mine = MembershipFactory()
    foreign = MembershipFactory()
    client.force_login(mine.user)

    response = client.post(
        reverse("accounts:organization_switch"), {"organization": foreign.organization_id}
    )

    assert response.status_code == 404
    assert client.session.get("organization_id") is None


def test_user_without_organization_is_asked_to_create_one(client):
    client.force_login(UserFactory())

    response = client.get(reverse("credits:credit"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:organization_create")

    client.post(reverse("accounts:organization_create"), {"name": "Fresh"})
    assert "Fresh" in client.get(reverse("credits:credit")).content.decode()
