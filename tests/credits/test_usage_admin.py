"""Admin: staff create an API key and see it once, revoke keys, read usage events."""

import pytest
from django.urls import reverse
from django.utils import timezone

from credits.models import ApiKey, UsageEvent
from credits.models.usage import hash_api_key
from credits.services.usage import record_usage_batch, validate_usage_batch
from tests.credits.scenarios import event
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_creating_a_key_shows_the_raw_key_once_and_stores_its_hash(staff_client):
    response = staff_client.post(reverse("admin:credits_apikey_add"), {"name": "gateway eu-1"}, follow=True)

    messages = [str(m) for m in response.context["messages"]]
    shown = [m.rsplit(" ", 1)[1] for m in messages if "not be shown again" in m]
    assert len(shown) == 1
    raw_key = shown[0]
    key = ApiKey.objects.get()
    assert key.key_hash == hash_api_key(raw_key)
    assert raw_key.startswith(key.prefix)
    change_page = staff_client.get(reverse("admin:credits_apikey_change", args=[key.pk]))
    assert raw_key not in change_page.content.decode()
    list_page = staff_client.get(reverse("admin:credits_apikey_changelist"))
    assert raw_key not in list_page.content.decode()


def test_the_created_key_works_on_the_api(staff_client, client, organization):
    response = staff_client.post(reverse("admin:credits_apikey_add"), {"name": "gw"}, follow=True)
    raw_key = next(str(m) for m in response.context["messages"]).rsplit(" ", 1)[1]
    staff_client.logout()

    api = client.get(
        reverse("credits:api_rate_limits", args=[organization.pk]),
        headers={"Authorization": f"Bearer {raw_key}"},
    )

    assert api.status_code == 200


def test_revoke_action_revokes(staff_client, api_key):
    key = ApiKey.objects.get()

    staff_client.post(
        reverse("admin:credits_apikey_changelist"),
        {"action": "revoke", "_selected_action": [key.pk]},
    )

    key.refresh_from_db()
    assert key.revoked_at is not None


def test_usage_events_are_read_only_in_admin(staff_client, organization):
    record_usage_batch(
        events=validate_usage_batch(payload={"events": [event("evt-1", organization)]}),
        api_key=None,
        now=timezone.now(),
    )
    row = UsageEvent.objects.get()

    listing = staff_client.get(reverse("admin:credits_usageevent_changelist"))
    add = staff_client.get(reverse("admin:credits_usageevent_add"))
    delete = staff_client.post(reverse("admin:credits_usageevent_delete", args=[row.pk]), {"post": "yes"})

    assert listing.status_code == 200
    assert "evt-1" in listing.content.decode()
    assert add.status_code == 403
    assert delete.status_code == 403
    assert UsageEvent.objects.count() == 1
