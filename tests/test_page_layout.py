"""templates/base.html: the main navigation is rendered once per worker for each page and
role ({% remember %}, billing_portal/templatetags/layout.py), and still shows each viewer the
links of their role and marks the page they are on."""

import re

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.test import Client
from django.urls import set_script_prefix

from billing_portal.templatetags import layout
from tests.factories import MembershipFactory, UserFactory
from tests.test_api_handler import _call

pytestmark = pytest.mark.django_db


def _main_nav(page: bytes) -> str:
    match = re.search(r'<nav aria-label="Main">.*?</nav>', page.decode(), re.S)
    assert match
    return match.group(0)


def _nav(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return _main_nav(response.content)


def _nav_of_wsgi_request(handler: WSGIHandler, path: str, *, script_name: str) -> str:
    """A visitor's page through Django's WSGI handler, which takes the links' prefix from the
    request's SCRIPT_NAME (the test client never sets one)."""
    status, _headers, body = _call(handler, "GET", path, secure=False, script_name=script_name)
    assert status == 200
    return _main_nav(body)


def _current(nav: str) -> list[str]:
    return re.findall(r'<a href="([^"]+)" aria-current="page">', nav)


def test_each_role_sees_its_own_links_whoever_saw_the_page_before():
    owner = MembershipFactory(role="owner")
    member = MembershipFactory(role="member", organization=owner.organization)
    as_owner, as_member = Client(), Client()
    as_owner.force_login(owner.user)
    as_member.force_login(member.user)

    for _ in range(2):
        owner_nav = _nav(as_owner, "/billing/credit/")
        member_nav = _nav(as_member, "/billing/credit/")
        assert "Payment methods" in owner_nav and "Billing settings" in owner_nav
        assert "Payment methods" not in member_nav and "Billing settings" not in member_nav
        assert "Usage" in member_nav


def test_the_page_itself_is_marked_on_every_page():
    owner = MembershipFactory(role="owner")
    client = Client()
    client.force_login(owner.user)

    assert _current(_nav(client, "/billing/credit/")) == ["/billing/credit/"]
    assert _current(_nav(client, "/billing/usage/")) == ["/billing/usage/"]
    assert _current(_nav(client, "/billing/credit/")) == ["/billing/credit/"]
    # A sub-page marks its section, not a page.
    buy_nav = _nav(client, "/billing/credit/buy/")
    assert _current(buy_nav) == []
    assert '<a href="/billing/credit/" aria-current="true">' in buy_nav


def test_a_visitor_who_is_not_signed_in_sees_only_the_public_links():
    # Signed in but in no organization yet: no role either, like the visitor below.
    signed_in = Client()
    signed_in.force_login(UserFactory())
    assert "Usage" in _nav(signed_in, "/pricing/")

    nav = _nav(Client(), "/pricing/")
    assert "Usage" not in nav and "Refunds" not in nav
    assert _current(nav) == ["/pricing/"]


def test_links_start_where_each_request_says_the_site_starts():
    # A site mounted under a prefix (or a proxy's SCRIPT_NAME) must not lend its links to the
    # same page served at the root, nor the other way round.
    handler = WSGIHandler()
    try:
        mounted = _nav_of_wsgi_request(handler, "/pricing/", script_name="/mounted")
        root = _nav_of_wsgi_request(handler, "/pricing/", script_name="")
        mounted_again = _nav_of_wsgi_request(handler, "/pricing/", script_name="/mounted")
    finally:
        set_script_prefix("/")
    assert _current(mounted) == _current(mounted_again) == ["/mounted/pricing/"]
    assert _current(root) == ["/pricing/"]
    assert "/mounted/" not in root


def test_the_navigation_is_rendered_once_for_each_page_and_role():
    layout._remembered.clear()
    owner = MembershipFactory(role="owner")
    member = MembershipFactory(role="member", organization=owner.organization)
    as_owner, as_member = Client(), Client()
    as_owner.force_login(owner.user)
    as_member.force_login(member.user)

    navs = [_nav(as_owner, "/billing/credit/") for _ in range(3)]
    after_one_page = len(layout._remembered)
    _nav(as_member, "/billing/credit/")
    _nav(as_owner, "/billing/usage/")

    assert navs[0] == navs[1] == navs[2]
    assert after_one_page == 1
    assert len(layout._remembered) == 3
