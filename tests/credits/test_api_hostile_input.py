"""Hostile input to the machine API: every answer is JSON in the documented error shape."""

import pytest
from django.utils import timezone

from credits.models import UsageEvent
from tests.credits.scenarios import event

pytestmark = pytest.mark.django_db


def _error(response, status: int) -> dict:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str)
    return body["error"]


@pytest.mark.parametrize(
    "occurred_at",
    [
        "9999-12-31T23:59:59-23:59",  # overflows when converted to UTC
        "0001-01-01T00:00:00+01:00",  # overflows the other way
        "0001-01-01T00:00:00+00:00",  # would be stored, and break the pages that read it
        "2019-12-31T23:59:59+00:00",  # before the window
    ],
)
def test_occurred_at_outside_the_window_is_a_400(post_usage, organization, occurred_at):
    bad = {**event("edge", organization), "occurred_at": occurred_at}

    error = _error(post_usage([bad]), 400)

    assert (error["field"], error["index"], error["event_id"]) == ("occurred_at", 0, "edge")
    assert not UsageEvent.objects.exists()


def test_occurred_at_more_than_a_day_ahead_is_a_400_and_just_under_is_accepted(post_usage, organization):
    now = timezone.now()
    too_late = event("late", organization, at=now + timezone.timedelta(days=1, minutes=5))
    skewed = event("skewed", organization, at=now + timezone.timedelta(hours=23))

    assert _error(post_usage([too_late]), 400)["field"] == "occurred_at"
    assert post_usage([skewed]).status_code == 201


def test_deeply_nested_json_is_a_400(post_usage):
    body = b"[" * 100_000 + b"]" * 100_000

    assert _error(post_usage(None, raw=body), 400)["code"] == "invalid_json"


def test_an_integer_of_ten_thousand_digits_is_a_400(post_usage):
    body = b'{"events": [' + b"9" * 10_000 + b"]}"

    assert _error(post_usage(None, raw=body), 400)["code"] == "invalid_json"


def test_an_oversized_body_is_a_json_413(post_usage, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000

    error = _error(post_usage(None, raw=b'{"events": []}' + b" " * 2_000), 413)

    assert error["code"] == "payload_too_large"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/rate-limits/abc/",
        "/api/v1/rate-limits/-1/",
        "/api/v1/rate-limits/99999999999999999999999/",
        "/api/v2/",
    ],
)
def test_unknown_ids_and_paths_under_api_are_a_json_404(client, api_key, path):
    response = client.get(path, headers={"Authorization": f"Bearer {api_key}"})

    assert _error(response, 404)["code"] == "not_found"


def test_a_wrong_method_is_a_json_405_with_allow(client, api_key):
    response = client.get("/api/v1/usage/", headers={"Authorization": f"Bearer {api_key}"})

    assert _error(response, 405)["code"] == "method_not_allowed"
    assert response["Allow"] == "POST"


def test_no_key_is_a_json_401(client):
    assert _error(client.get("/api/v1/rate-limits/1/"), 401)["code"] == "unauthorized"


def test_a_crash_under_api_is_a_json_500(client, api_key, monkeypatch):
    from credits.views import api

    def crash(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(api, "current_limits", crash)
    client.raise_request_exception = False
    from tests.factories import OrganizationFactory

    organization = OrganizationFactory()
    response = client.get(
        f"/api/v1/rate-limits/{organization.pk}/", headers={"Authorization": f"Bearer {api_key}"}
    )

    assert _error(response, 500)["code"] == "server_error"
    assert "boom" not in response.content.decode()


def test_a_whole_valued_number_counts_as_that_integer_as_json_schema_says(post_usage, organization):
    from credits.models import UsageEvent

    whole = {**event("whole", organization), "input_tokens": 1000.0, "organization": float(organization.pk)}

    assert post_usage([whole]).status_code == 201
    assert UsageEvent.objects.get().input_tokens == 1000


@pytest.mark.parametrize("event_id", ["\x1c", " \t", "\x7f", "a\x00"])
def test_event_ids_need_a_visible_character_and_no_nul(post_usage, organization, event_id):
    assert _error(post_usage([event(event_id, organization)]), 400)["field"] == "event_id"
