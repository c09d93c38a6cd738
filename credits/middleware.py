"""Every answer under /api/ is JSON in the API's error shape, whoever produced it."""

from collections.abc import Callable
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse, JsonResponse

API_PREFIX = "/api/"

# Machine-readable codes for the answers Django itself makes (no route, wrong method, a
# body past DATA_UPLOAD_MAX_MEMORY_SIZE, a crash); the views make their own.
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    429: "too_many_requests",
    500: "server_error",
}


def _is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith("application/json")


class ApiJsonErrorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(API_PREFIX) or response.status_code < 400 or _is_json(response):
            return response
        status = response.status_code
        message = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        if status == 405 and response.has_header("Allow"):
            message = f"{message}; allowed: {response['Allow']}."
        replacement = JsonResponse(
            {"error": {"code": CODES.get(status, f"http_{status}"), "message": message}},
            status=status,
            json_dumps_params={"ensure_ascii": True},
        )
        for header in ("Allow", "WWW-Authenticate", "Retry-After"):
            if response.has_header(header):
                replacement[header] = response[header]
        return replacement
