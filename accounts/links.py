"""Absolute links with a token placeholder, for emails that services write (invitations,
program status). The one home of the trick: reverse with a stand-in token, make it absolute
for this request's host, then put "{token}" where the stand-in was, for the service to fill."""

from django.http import HttpRequest
from django.urls import reverse

# A slug that no real token equals, so the replace touches only the token's place.
_STAND_IN = "TOKEN"


def token_link_template(request: HttpRequest, viewname: str) -> str:
    """The absolute URL of `viewname` (one slug argument) with "{token}" for that argument."""
    return request.build_absolute_uri(reverse(viewname, args=[_STAND_IN])).replace(_STAND_IN, "{token}")
