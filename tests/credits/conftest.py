"""Fixtures of the credits tests."""

import pytest


@pytest.fixture
def private_media(settings, tmp_path):
    """Uploaded documents go to a throwaway MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
