"""Fixtures of the credits tests: private media, API keys, funded organizations, usage."""

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from credits.models import ApiKey
from credits.services.api_keys import api_key_issue
from tests.factories import OrganizationFactory


@pytest.fixture
def private_media(settings, tmp_path):
    """Uploaded documents go to a throwaway MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def api_key(db) -> str:
    """A raw, active API key."""
    return api_key_issue(api_key=ApiKey(name="gateway"), created_by=None, now=timezone.now())


@pytest.fixture
def organization(db):
    return OrganizationFactory()


@pytest.fixture
def post_usage(client, api_key):
    """POST a batch to the usage API with a valid key."""

    def post(events, *, key: str | None = None, raw: bytes | None = None, content_type="application/json"):
        body = raw if raw is not None else json.dumps({"events": events})
        return client.post(
            reverse("credits:api_usage"),
            body,
            content_type=content_type,
            headers={"Authorization": f"Bearer {key or api_key}"},
        )

    return post

