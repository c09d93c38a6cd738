"""The one template filter that formats money."""

from django import template

from credits.money import cents_to_micros, format_usd

register = template.Library()


@register.filter
def usd(micros: int | None, places: int = 2) -> str:
    """Micro-dollars as $1,234.56."""
    if micros is None:
        return "—"
    return format_usd(int(micros), places=int(places))


@register.filter
def usd_cents(cents: int | None) -> str:
    """Whole cents as $1,234.56."""
    if cents is None:
        return "—"
    return format_usd(cents_to_micros(int(cents)))
