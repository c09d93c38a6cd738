"""`{% url %}` and `{% static %}` as Django's, except that what cannot change while a worker
runs is worked out once per worker: a link without arguments is reversed once, a static
file's address is looked up once.

Reversing walks the URL resolver and its patterns, 10-30 µs a link, and every page prints a
dozen links that cannot change while a worker runs (the navigation's, the page's actions).
A remembered link is keyed by all it depends on besides the code: the name, the current
app (namespaces), where the site's links start (the script prefix, which can differ from one
request to the next) and the URL resolver in use (a new one for another URLconf, and after
django.urls.clear_url_caches()). The last three are the same for everything one render
prints, so they are found once a render. Links with arguments are reversed every time.

A static file's address (about 10 µs: the storage joins and quotes it, or looks up its
hashed name in the manifest, which the storage reads once when it is made) depends on the
path and on the settings that make the storage; a change of those (override_settings in
tests) forgets every remembered address. Installed over Django's own tags as a template
builtin (settings.TEMPLATES): a template that `{% load static %}`s gets Django's again."""

from functools import lru_cache
from typing import Any

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.templatetags.static import StaticNode
from django.urls import NoReverseMatch, URLResolver, get_resolver, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape

register = template.Library()

# What a static file's address depends on besides its path (django.test.signals, which
# makes the storage anew when one of these changes, names the same).
STATIC_SETTINGS = frozenset({"STATIC_URL", "STATIC_ROOT", "STATICFILES_DIRS", "STORAGES", "INSTALLED_APPS"})


# Bounded: the script prefix comes from the request (an unusual one only costs a reversal).
@lru_cache(maxsize=4096)
def _reversed(view_name: str, current_app: str | None, prefix: str, resolver: URLResolver) -> str:
    # (reverse reads the same prefix, the current one, that keys this entry.)
    urlconf: Any = resolver.urlconf_name  # a module's name, or the module (set_urlconf)
    return reverse(view_name, urlconf=urlconf, current_app=current_app)


def _where_links_start(context) -> tuple[str | None, str, URLResolver]:
    """The current app, the script prefix and the URL resolver, once per render (kept in the
    render's own state, which ends with it)."""
    found = context.render_context.get(_where_links_start)
    if found is None:
        try:
            current_app = context.request.current_app
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace
            except AttributeError:
                current_app = None
        found = (current_app, get_script_prefix(), get_resolver(get_urlconf()))
        context.render_context[_where_links_start] = found
    return found


class RememberedURLNode(URLNode):
    def render(self, context):
        if self.args or self.kwargs:
            return super().render(context)
        view_name = self.view_name.resolve(context)
        url = ""
        try:
            url = _reversed(view_name, *_where_links_start(context))
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser, token):
    node = django_url(parser, token)
    return RememberedURLNode(node.view_name, node.args, node.kwargs, node.asvar)


# A path written in a template and the same path from a variable are one entry (a dict, not
# lru_cache, which tells a str from the SafeString a literal is). Bounded, as paths may come
# from variables.
_static_addresses: dict[str, str] = {}
MAX_STATIC_ADDRESSES = 1_024


def _static_address(path: str) -> str:
    try:
        return _static_addresses[path]
    except KeyError:
        pass
    address = StaticNode.handle_simple(path)
    if len(_static_addresses) >= MAX_STATIC_ADDRESSES:
        _static_addresses.clear()
    _static_addresses[path] = address
    return address


@receiver(setting_changed)
def _forget_static_addresses(*, setting: str, **kwargs) -> None:
    if setting in STATIC_SETTINGS:
        _static_addresses.clear()


class RememberedStaticNode(StaticNode):
    def url(self, context):
        return _static_address(self.path.resolve(context))


@register.tag
def static(parser, token):
    return RememberedStaticNode.handle_token(parser, token)
