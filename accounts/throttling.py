"""Per-IP and per-account limits on forms that attackers hammer (login, signup, resets).

Counts live in Django's cache (Redis in production via CACHE_URL), in fixed windows.
"""

from collections.abc import Callable
from functools import wraps

from django.core.cache import cache
from django.shortcuts import render


def client_ip(request) -> str:
    # Behind a proxy, configure it to overwrite REMOTE_ADDR; X-Forwarded-For is forgeable.
    return request.META.get("REMOTE_ADDR", "unknown")


def _hit(key: str, window: int) -> int:
    if cache.add(key, 1, timeout=window):
        return 1
    try:
        return cache.incr(key)
    except ValueError:
        # Expired between add and incr: start a new window.
        cache.set(key, 1, timeout=window)
        return 1


def throttle_posts(
    scope: str, *, per_ip: int, per_account: int = 0, window: int = 300, account_field: str = ""
) -> Callable:
    """Refuse POSTs past `per_ip` per window from one address, and past `per_account` for
    one account (the value of `account_field`), with a 429 page that says when to retry."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method == "POST":
                counts = [(_hit(f"throttle:{scope}:ip:{client_ip(request)}", window), per_ip)]
                account = request.POST.get(account_field, "").strip().lower()[:254] if account_field else ""
                if per_account and account:
                    counts.append((_hit(f"throttle:{scope}:acct:{account}", window), per_account))
                if any(count > limit for count, limit in counts):
                    minutes = max(1, window // 60)
                    return render(
                        request,
                        "429.html",
                        {
                            "message": f"Too many attempts. Please wait {minutes} "
                            f"minute{'s' if minutes > 1 else ''} and try again."
                        },
                        status=429,
                    )
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
