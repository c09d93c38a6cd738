import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import Membership, Organization, Role, User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _signup(client, **overrides):
    data = {
        "email": "ann@example.com",
        "organization_name": "Ann Labs",
        "password": PASSWORD,
        **overrides,
    }
    return client.post(reverse("accounts:signup"), data)


def test_signup_creates_user_organization_and_owner_membership(client):
    response = _signup(client)

    assert response.status_code == 302
    assert response["Location"] == reverse("credits:credit")
    user = User.objects.get()
    assert user.email == "ann@example.com"
    membership = Membership.objects.get()
    assert (membership.user, membership.organization.name, membership.role) == (
        user,
        "Ann Labs",
        Role.OWNER,
    )
    page = client.get(reverse("credits:credit"))
    assert "Ann Labs" in page.content.decode()


def test_signup_with_taken_email_in_other_case_is_refused(client):
    UserFactory(email="ann@example.com")

    response = _signup(client, email="ANN@example.com")

    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert User.objects.count() == 1
    assert Organization.objects.count() == 0


def test_signup_without_organization_name_names_it_after_the_email(client):
    _signup(client, organization_name="")

    assert Organization.objects.get().name == "ann's organization"


def test_signup_with_weak_or_email_like_password_is_refused(client):
    weak = _signup(client, password="12345678")
    like_email = _signup(client, password="ann@example.com")

    assert weak.status_code == like_email.status_code == 200
    assert "too common" in weak.content.decode() or "entirely numeric" in weak.content.decode()
    assert User.objects.count() == 0


def test_login_and_logout(client):
    user = UserFactory(email="bo@example.com")

    bad = client.post(reverse("accounts:login"), {"username": "bo@example.com", "password": "nope"})
    assert bad.status_code == 200
    assert "_auth_user_id" not in client.session

    good = client.post(reverse("accounts:login"), {"username": "bo@example.com", "password": PASSWORD})
    assert good.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)

    out = client.post(reverse("accounts:logout"))
    assert out.status_code == 302
    assert "_auth_user_id" not in client.session


def test_password_reset_by_email(client):
    user = UserFactory(email="cy@example.com")

    client.post(reverse("accounts:password_reset"), {"email": "cy@example.com"})

    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.context["validlink"]
    set_url = form_page.redirect_chain[-1][0]
    client.post(set_url, {"new_password1": "brand-new-pass-42", "new_password2": "brand-new-pass-42"})
    user.refresh_from_db()
    assert user.check_password("brand-new-pass-42")


def test_password_reset_for_unknown_email_sends_nothing(client):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.com"})

    assert response.status_code == 302
    assert mail.outbox == []


def test_logout_by_get_asks_first_and_post_logs_out(owner_client):
    page = owner_client.get(reverse("accounts:logout"))

    assert page.status_code == 200 and "Log out?" in page.content.decode()
    assert "_auth_user_id" in owner_client.session
    owner_client.post(reverse("accounts:logout"))
    assert "_auth_user_id" not in owner_client.session


def test_login_opens_the_organization_used_last(client):
    from accounts.services import organization_create
    from tests.factories import MembershipFactory

    first = MembershipFactory(role="owner", organization__name="Alpha")
    second = organization_create(name="Beta", owner=first.user)
    client.force_login(first.user)
    assert client.get(reverse("credits:credit")).context["current_membership"].organization.name == "Alpha"
    client.post(reverse("accounts:organization_switch"), {"organization": second.pk})

    client.logout()
    client.force_login(first.user)

    page = client.get(reverse("credits:credit"))
    assert page.context["current_membership"].organization == second
