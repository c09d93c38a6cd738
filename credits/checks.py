"""Deployment checks of the billing settings (`manage.py check --deploy`)."""

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register


@register(Tags.security, deploy=True)
def stripe_secrets_are_not_localstripes(app_configs, **kwargs) -> list[CheckMessage]:
    """localstripe's stand-in secrets are public (and an empty one is no secret): a
    deployment left with such a webhook secret would accept a forged "payment succeeded"
    for any open purchase of the same amount."""
    return [
        Error(
            f"{name} is empty or localstripe's public stand-in.",
            hint=f"Set {name} to the value from the Stripe dashboard.",
            id=f"credits.E00{number}",
        )
        for number, (name, stand_in) in enumerate(sorted(settings.LOCALSTRIPE_SECRETS.items()), 1)
        if getattr(settings, name) in ("", stand_in)
    ]
