"""The portal's template builtins: the day filter writes what Django's date filter does, and
{% url %} remembers only what cannot change under it."""

from datetime import UTC, date, datetime, timedelta
from unittest import mock

import pytest
from django.http import HttpResponse
from django.template import Context, Template
from django.template.defaultfilters import date as django_date
from django.templatetags.static import static
from django.test import override_settings
from django.urls import NoReverseMatch, clear_url_caches, include, path, set_script_prefix
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from billing_portal.templatetags import links


def _view(request):
    return HttpResponse()


# A URLconf where the same name leads elsewhere (override_settings(ROOT_URLCONF=__name__)).
urlpatterns = [path("elsewhere/", include(([path("prices/", _view, name="pricing")], "credits")))]


def _render(source: str, **context) -> str:
    return Template(source).render(Context(context))


@given(st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_a_day_reads_as_djangos_month_day_year(value):
    assert _render("{% load days %}{{ value|day }}", value=value) == django_date(value, "M j, Y")


@given(st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)))
def test_a_moment_reads_as_its_day_in_the_current_time_zone(value):
    for zone in ("UTC", "America/Los_Angeles", "Pacific/Kiritimati"):
        with timezone.override(zone):
            local = timezone.localtime(value)
            assert _render("{% load days %}{{ value|day }}", value=value) == django_date(local, "M j, Y")


def test_a_day_of_nothing_is_empty():
    assert _render("{% load days %}[{{ a|day }}|{{ b|day }}|{{ c|day }}]", a=None, b="", c="soon") == "[||]"


def test_links_without_arguments_are_reversed_once_and_match_djangos():
    links._reversed.cache_clear()
    source = (
        "{% url 'credits:pricing' %} {% url 'credits:receipt' 7 %} {% url 'credits:buy' as buy %}[{{ buy }}]"
    )
    with mock.patch.object(links, "reverse", wraps=links.reverse) as reversal:
        first = _render(source)
        second = _render(source)

    assert first == second == "/pricing/ /billing/credit/receipts/7/ [/billing/credit/buy/]"
    # Once for each argument-less link, not once a render; the link with an argument is
    # Django's own tag's work (django.urls.reverse), not this one's.
    assert sorted(call.args[0] for call in reversal.call_args_list) == ["credits:buy", "credits:pricing"]


def test_a_remembered_link_follows_the_script_prefix_and_the_urlconf():
    links._reversed.cache_clear()
    source = "{% url 'credits:pricing' %}"
    try:
        set_script_prefix("/portal/")
        under_prefix = _render(source)
    finally:
        set_script_prefix("/")
    with override_settings(ROOT_URLCONF=__name__):
        elsewhere = _render(source)

    at_root = _render(source)

    assert (under_prefix, at_root, elsewhere) == ("/portal/pricing/", "/pricing/", "/elsewhere/prices/")


def test_a_remembered_link_follows_urls_changed_in_place(monkeypatch):
    """Whatever reloads a URLconf calls clear_url_caches(), and gets a new resolver: the
    remembered links were the old resolver's."""
    links._reversed.cache_clear()
    with override_settings(ROOT_URLCONF=__name__):
        before = _render("{% url 'credits:pricing' %}")
        moved = [path("moved/", include(([path("p/", _view, name="pricing")], "credits")))]
        monkeypatch.setitem(globals(), "urlpatterns", moved)
        clear_url_caches()
        after = _render("{% url 'credits:pricing' %}")
    clear_url_caches()

    assert (before, after) == ("/elsewhere/prices/", "/moved/p/")


def test_an_unknown_link_fails_as_djangos_does_unless_kept_in_a_variable():
    with pytest.raises(NoReverseMatch):
        _render("{% url 'credits:no-such-page' %}")
    assert _render("{% url 'credits:no-such-page' as nowhere %}[{{ nowhere }}]") == "[]"


def test_the_day_filter_on_a_moment_near_midnight():
    moment = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
    with timezone.override("America/Los_Angeles"):
        assert _render("{% load days %}{{ m|day }}", m=moment) == "Nov 29, 2026"
    assert _render("{% load days %}{{ m|day }}", m=moment - timedelta(hours=4)) == "Nov 29, 2026"


def test_the_parts_of_a_links_key_are_found_once_a_render_and_again_for_the_next():
    links._reversed.cache_clear()
    source = "{% url 'credits:pricing' %} {% url 'credits:buy' %} {% url 'credits:usage' %}"
    with mock.patch.object(links, "get_script_prefix", wraps=links.get_script_prefix) as prefix:
        first = _render(source)
        try:
            set_script_prefix("/portal/")
            second = _render(source)
        finally:
            set_script_prefix("/")

    assert prefix.call_count == 2
    assert first == "/pricing/ /billing/credit/buy/ /billing/usage/"
    assert second == "/portal/pricing/ /portal/billing/credit/buy/ /portal/billing/usage/"


def test_static_addresses_are_looked_up_once_and_match_djangos():
    links._static_addresses.clear()
    source = "{% static 'css/portal.css' %} {% static name %} {% static 'js/htmx.min.js' as js %}[{{ js }}]"
    with mock.patch.object(
        links.StaticNode, "handle_simple", wraps=links.StaticNode.handle_simple
    ) as lookup:
        first = _render(source, name="css/portal.css")
        second = _render(source, name="css/portal.css")

    expected = f"{static('css/portal.css')} {static('css/portal.css')} [{static('js/htmx.min.js')}]"
    assert first == second == expected
    assert expected == "/static/css/portal.css /static/css/portal.css [/static/js/htmx.min.js]"
    assert sorted(call.args[0] for call in lookup.call_args_list) == ["css/portal.css", "js/htmx.min.js"]


def test_a_static_address_follows_the_settings_that_make_the_storage():
    links._static_addresses.clear()
    source = "{% static 'css/portal.css' %}"
    before = _render(source)
    with override_settings(STATIC_URL="https://cdn.example.com/assets/"):
        moved = _render(source)
    after = _render(source)

    assert (before, moved, after) == (
        "/static/css/portal.css",
        "https://cdn.example.com/assets/css/portal.css",
        "/static/css/portal.css",
    )


def test_a_static_address_is_escaped_as_djangos_is():
    links._static_addresses.clear()
    assert _render("{% static 'a&b.css' %}") == "/static/a%26b.css"
    assert _render("{% autoescape off %}{% static name %}{% endautoescape %}", name="x y.css") == (
        "/static/x%20y.css"
    )
