import time

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _require_otp(settings):
    settings.ADMIN_REQUIRE_OTP = True


def _code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():06d}"


def test_password_alone_does_not_open_the_admin(client):
    UserFactory(email="ops@example.com", is_staff=True, is_superuser=True)
    client.post(reverse("accounts:login"), {"username": "ops@example.com", "password": PASSWORD})

    response = client.get(reverse("admin:index"), follow=True)

    assert response.redirect_chain[-1][0].startswith(reverse("accounts:two_factor"))
    assert "Staff two-factor check" in response.content.decode()


def test_staff_enrol_an_authenticator_then_reach_the_admin(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)

    page = client.get(reverse("accounts:two_factor")).content.decode()
    assert 'id="totp-secret"' in page
    device = TOTPDevice.objects.get(user=staff, confirmed=False)

    wrong = client.post(
        reverse("accounts:two_factor"), {"token": "000000" if _code(device) != "000000" else "111111"}
    )
    assert "That code is not right" in wrong.content.decode()
    assert client.get(reverse("admin:index")).status_code == 302
    device.refresh_from_db()
    device.throttle_reset()  # django-otp slows down guessing after a wrong code

    client.post(reverse("accounts:two_factor"), {"token": _code(device), "next": "/admin/"})

    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("admin:index")).status_code == 200


def test_customers_have_no_two_factor_page(owner_client):
    assert owner_client.get(reverse("accounts:two_factor")).status_code == 404


def test_anonymous_admin_visit_goes_to_login(client):
    response = client.get(reverse("admin:index"), follow=True)

    assert response.redirect_chain[-1][0].startswith(reverse("accounts:login"))


def test_demo_staff_code_command(capsys):
    call_command("seed_demo")
    call_command("staff_totp_code", "staff@example.com")

    code = capsys.readouterr().out.strip().splitlines()[-1]
    device = TOTPDevice.objects.get(user__email="staff@example.com")
    assert code == _code(device)


def test_the_session_key_changes_when_the_second_factor_is_verified(client):
    staff = UserFactory(email="ops2@example.com", is_staff=True, is_superuser=True)
    client.post(reverse("accounts:login"), {"username": "ops2@example.com", "password": PASSWORD})
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    before = client.session.session_key

    client.post(reverse("accounts:two_factor"), {"token": _code(device), "next": "/admin/"})

    assert client.session.session_key != before
    assert client.get(reverse("admin:index")).status_code == 200


def test_staff_logging_in_go_to_the_second_factor_then_the_admin(client):
    staff = UserFactory(email="ops3@example.com", is_staff=True, is_superuser=True)
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)

    response = client.post(reverse("accounts:login"), {"username": "ops3@example.com", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:two_factor')}?next=%2Fadmin%2F"
    page = client.get(response["Location"]).content.decode()
    assert 'name="next" value="/admin/"' in page
    done = client.post(reverse("accounts:two_factor"), {"token": _code(device), "next": "/admin/"})
    assert done["Location"] == "/admin/"


def test_customers_logging_in_still_go_to_their_credit_page(client, owner):
    response = client.post(reverse("accounts:login"), {"username": owner.user.email, "password": PASSWORD})

    assert response["Location"] == reverse("credits:credit")
