"""Schemathesis fuzzes the machine API from its own OpenAPI document (read from
/api/v1/openapi.json over WSGI), with a real key and every check it has, in positive and
negative mode: the server and the document must agree."""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, is_check_class, load_all_checks

from accounts.models import Organization
from credits.models import ApiKey, ApiModel
from credits.models.catalog import ALL_QUANTITY_FIELDS
from credits.selectors.pricing import price_usage
from credits.services.api_keys import api_key_issue
from credits.services.usage import MAX_EVENT_COST_MICROS
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

load_all_checks()
# Every check, listed so that one schemathesis adds later runs too.
ALL_CHECKS = [check for check in CHECKS.get_all() if not is_check_class(check)]

OPERATIONS = ["POST /api/v1/usage/", "GET /api/v1/rate-limits/{organization_id}/", "GET /api/v1/openapi.json"]


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Requests go through the real WSGI handler, which closes the database connection at
    the end of each request; inside a test's transaction (PostgreSQL) it must stay open,
    as Django's own test client arranges."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_key(db) -> str:
    OrganizationFactory.create_batch(3)
    return api_key_issue(api_key=ApiKey(name="schemathesis"), created_by=None, now=timezone.now())


def test_every_operation_of_the_document_is_fuzzed():
    from credits.openapi import DOCUMENT

    documented = [f"{method.upper()} {path}" for path, item in DOCUMENT["paths"].items() for method in item]

    assert sorted(documented) == sorted(OPERATIONS)


def _bind_to_this_server(body: dict, organization_ids: list[int], models: dict[str, ApiModel]) -> None:
    """The facts of a valid batch that JSON Schema cannot state, and the document states in
    words: the organization must exist on this server, occurred_at must fall in the accepted
    window, an event id appears once per batch, and a call costs at most
    MAX_EVENT_COST_MICROS at this server's prices. Everything else is as generated."""
    seen: set[str] = set()
    for number, event in enumerate(body.get("events") or []):
        if isinstance(event, dict):
            event["organization"] = organization_ids[number % len(organization_ids)]
            event["occurred_at"] = timezone.now().isoformat()
            if event.get("event_id") in seen:
                event["event_id"] = f"{event['event_id']}-{number}"[-128:]
            seen.add(event.get("event_id"))
            _halve_until_within_the_cost_bound(event, models.get(event.get("model")))


def _halve_until_within_the_cost_bound(event: dict, api_model: ApiModel | None) -> None:
    # JSON integers, as the server reads them: 3.0 is 3 (and stays a float when halved).
    sent = [field for field in ALL_QUANTITY_FIELDS if type(event.get(field)) in (int, float)]
    if api_model is None or not sent:
        return
    while price_usage(
        api_model=api_model, **{field: int(event.get(field) or 0) for field in ALL_QUANTITY_FIELDS}
    ) > MAX_EVENT_COST_MICROS:
        for field in sent:
            event[field] = type(event[field])(int(event[field]) // 2)


CASES = [
    (label, mode)
    for label in OPERATIONS
    for mode in GenerationMode
    if label != "GET /api/v1/openapi.json" or mode == GenerationMode.POSITIVE
]


@pytest.mark.parametrize(("label", "mode"), CASES, ids=str)
def test_the_api_agrees_with_its_openapi_document(api_key, label, mode):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    operation = schema.find_operation_by_label(label)
    organization_ids = list(Organization.objects.order_by("pk").values_list("pk", flat=True))
    models = {api_model.slug: api_model for api_model in ApiModel.objects.all()}
    headers = {"Authorization": f"Bearer {api_key}"}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def fuzz(case):
        if mode == GenerationMode.POSITIVE and isinstance(case.body, dict):
            _bind_to_this_server(case.body, organization_ids, models)
        case.call_and_validate(headers=headers, checks=ALL_CHECKS)

    fuzz()
