"""How the portal writes a day: "Nov 29, 2026", Django's `date:"M j, Y"` in the current time
zone, without its format parser (a page prints up to a dozen days, 10-30 µs each that way)."""

from django import template

register = template.Library()

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@register.filter(expects_localtime=True, is_safe=True)
def day(value) -> str:
    """A date, or a moment as the day it falls on; "" for anything else (as `date` does)."""
    try:
        return f"{_MONTHS[value.month - 1]} {value.day}, {value.year:04d}"
    except (AttributeError, TypeError):
        return ""
