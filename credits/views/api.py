"""The machine API: the platform reports usage and reads rate limits with a bearer key."""

import json
from collections.abc import Callable
from functools import wraps

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts.selectors import organization_by_id
from credits.exceptions import InvalidUsageBatch
from credits.money import micros_to_plain
from credits.openapi import openapi_document
from credits.selectors.catalog import model_slugs_by_kind
from credits.selectors.limits import current_limits
from credits.selectors.process_cache import cached_api_key
from credits.services import usage as usage_service


def _error(status: int, code: str, message: str, **details) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, **details}}, status=status)


def api_key_required(view: Callable) -> Callable:
    """401 unless the request carries an active key as `Authorization: Bearer <key>`
    (cached in-process: a revoked key stops within PROCESS_CACHE_SECONDS everywhere)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        api_key = cached_api_key(raw_key=token) if scheme.lower() == "bearer" and token else None
        if api_key is None:
            response = _error(401, "unauthorized", "Send an active API key as 'Authorization: Bearer <key>'.")
            response["WWW-Authenticate"] = 'Bearer realm="billing-api"'
            return response
        # The view reads which key reported the usage from the request, as it does the user.
        setattr(request, "api_key", api_key)  # noqa: B010
        return view(request, *args, **kwargs)

    return wrapped


def _json_body(request: HttpRequest) -> object:
    if request.content_type != "application/json":
        raise InvalidUsageBatch(
            "Send the batch as application/json.", field="body", code="unsupported_media_type"
        )
    try:
        return json.loads(request.body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidUsageBatch(
            f"The body is not valid JSON: {error}", field="body", code="invalid_json"
        ) from error
    except RecursionError as error:
        raise InvalidUsageBatch(
            "The body is nested too deeply.", field="body", code="invalid_json"
        ) from error
    except ValueError as error:
        # An integer of thousands of digits (Python's int conversion limit).
        raise InvalidUsageBatch(
            f"The body is not valid JSON: {error}", field="body", code="invalid_json"
        ) from error


@csrf_exempt
@require_POST
@api_key_required
def usage(request):
    now = timezone.now()
    try:
        events = usage_service.validate_usage_batch(payload=_json_body(request), now=now)
    except RequestDataTooBig:
        return _error(413, "payload_too_large", "The body is too large; send at most 1,000 events per batch.")
    except InvalidUsageBatch as error:
        return _error(
            400, error.code, error.message, field=error.field, index=error.index, event_id=error.event_id
        )
    result = usage_service.record_usage_batch(events=events, api_key=request.api_key, now=now)
    balances = {
        str(pk): {"balance": micros_to_plain(micros), "balance_micros": micros}
        for pk, micros in result.balances.items()
    }
    body = {"accepted": result.accepted, "duplicates": result.duplicates, "balances": balances}
    return JsonResponse(body, status=201 if result.accepted else 200)


@require_GET
@api_key_required
def rate_limits(request, organization_id: int):
    organization = organization_by_id(organization_id)
    if organization is None:
        return _error(404, "not_found", f"No organization with id {organization_id}.")
    tier, rows = current_limits(organization=organization, now=timezone.now())
    limits = [
        {
            "model": row.model_slug,
            "name": row.model_name,
            "requests_per_second": row.requests_per_second,
            "pages_per_minute": row.pages_per_minute,
            "source": row.source,
        }
        for row in rows
    ]
    return JsonResponse({"organization": organization.pk, "tier": tier, "limits": limits})


@require_GET
def openapi(request):
    return JsonResponse(openapi_document(slugs_by_kind=model_slugs_by_kind()))
