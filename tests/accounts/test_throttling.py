import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_login_is_limited_per_account_with_a_clear_message(client):
    UserFactory(email="target@example.com")
    for _ in range(10):
        assert (
            client.post(
                reverse("accounts:login"), {"username": "target@example.com", "password": "guess"}
            ).status_code
            == 200
        )

    blocked = client.post(reverse("accounts:login"), {"username": "target@example.com", "password": PASSWORD})

    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_is_limited_per_ip_across_accounts(client):
    for i in range(20):
        client.post(reverse("accounts:login"), {"username": f"u{i}@example.com", "password": "x"})

    assert (
        client.post(reverse("accounts:login"), {"username": "new@example.com", "password": "x"}).status_code
        == 429
    )


def test_password_reset_is_limited_per_email(client):
    UserFactory(email="reset@example.com")
    for _ in range(3):
        client.post(reverse("accounts:password_reset"), {"email": "reset@example.com"})

    blocked = client.post(reverse("accounts:password_reset"), {"email": "reset@example.com"})

    assert blocked.status_code == 429
    assert len(mail.outbox) == 3


def test_signup_is_limited_per_ip(client):
    for i in range(10):
        client.post(reverse("accounts:signup"), {"email": f"s{i}@example.com", "organization_name": "x",
                                                 "password": PASSWORD})
        client.post(reverse("accounts:logout"))

    blocked = client.post(reverse("accounts:signup"), {"email": "late@example.com", "organization_name": "x",
                                                       "password": PASSWORD})

    assert blocked.status_code == 429
    assert not User.objects.filter(email="late@example.com").exists()
