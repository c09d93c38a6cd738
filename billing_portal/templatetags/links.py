"""`{% url %}` as Django's, except that a link without arguments is reversed once per worker.

Reversing walks the URL resolver and its patterns, 10-30 µs a link, and every page prints a
dozen links that cannot change while a worker runs (the navigation's, the page's actions).
A remembered link is keyed by all it depends on besides the code: the name, the current
app (namespaces), where the site's links start (the script prefix, which can differ from one
request to the next) and the URL resolver in use (a new one for another URLconf, and after
django.urls.clear_url_caches()). Links with arguments are reversed every time. Installed
over Django's own tag as a template builtin (settings.TEMPLATES)."""

from functools import lru_cache
from typing import Any

from django import template
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.urls import NoReverseMatch, URLResolver, get_resolver, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape

register = template.Library()


# Bounded: the script prefix comes from the request (an unusual one only costs a reversal).
@lru_cache(maxsize=4096)
def _reversed(view_name: str, current_app: str | None, prefix: str, resolver: URLResolver) -> str:
    # (reverse reads the same prefix, the current one, that keys this entry.)
    urlconf: Any = resolver.urlconf_name  # a module's name, or the module (set_urlconf)
    return reverse(view_name, urlconf=urlconf, current_app=current_app)


class RememberedURLNode(URLNode):
    def render(self, context):
        if self.args or self.kwargs:
            return super().render(context)
        view_name = self.view_name.resolve(context)
        try:
            current_app = context.request.current_app
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace
            except AttributeError:
                current_app = None
        url = ""
        try:
            url = _reversed(view_name, current_app, get_script_prefix(), get_resolver(get_urlconf()))
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
