"""Template context every page needs from settings: where customers reach support."""

from django.conf import settings


def support(request):
    return {"support_email": settings.SUPPORT_EMAIL}
