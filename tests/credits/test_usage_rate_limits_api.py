"""GET /api/v1/rate-limits/<organization>/ and the OpenAPI document of the machine API."""

import json
import re
from datetime import UTC, date, datetime

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from credits.models import ApiModel, BillingPolicy, CreditAccount, EnterpriseRateLimit, UsageEvent
from credits.openapi import DOCUMENT
from tests.credits.scenarios import buy, event
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def _limits(client, api_key, organization_id):
    return client.get(
        reverse("credits:api_rate_limits", args=[organization_id]),
        headers={"Authorization": f"Bearer {api_key}"},
    )


def test_new_organization_gets_base_limits_from_the_tier_table(client, api_key, organization):
    response = _limits(client, api_key, organization.pk)

    assert response.status_code == 200
    body = response.json()
    assert body["organization"] == organization.pk
    assert body["tier"] == "none"
    by_model = {row["model"]: row for row in body["limits"]}
    assert by_model["solar-pro-2"] == {
        "model": "solar-pro-2",
        "name": "Solar Pro 2",
        "requests_per_second": 10,
        "pages_per_minute": None,
        "source": "tier",
    }
    assert by_model["document-parse"]["pages_per_minute"] == 100
    assert len(body["limits"]) == ApiModel.objects.filter(active=True).count()


def test_purchase_raises_tier_and_limits(client, api_key, organization):
    buy(organization, amount_cents=50_000, now=timezone.now())

    body = _limits(client, api_key, organization.pk).json()

    assert body["tier"] == "build"
    solar = next(row for row in body["limits"] if row["model"] == "solar-pro-2")
    assert (solar["requests_per_second"], solar["source"]) == (50, "tier")


def test_legacy_organization_keeps_legacy_limits_while_policy_holds(client, api_key):
    old = OrganizationFactory(created_at=datetime(2025, 1, 1, tzinfo=UTC))
    BillingPolicy.objects.filter(pk=1).update(legacy_until=date(2999, 1, 1))

    body = _limits(client, api_key, old.pk).json()

    solar = next(row for row in body["limits"] if row["model"] == "solar-pro-2")
    assert (solar["requests_per_second"], solar["source"]) == (100, "legacy")


def test_enterprise_limits_come_from_the_organization(client, api_key, organization):
    CreditAccount.objects.filter(organization=organization).update(enterprise=True)
    EnterpriseRateLimit.objects.create(
        organization=organization, api_model=ApiModel.objects.get(slug="solar-pro-2"), requests_per_second=999
    )

    body = _limits(client, api_key, organization.pk).json()

    assert body["tier"] == "enterprise"
    solar = next(row for row in body["limits"] if row["model"] == "solar-pro-2")
    assert (solar["requests_per_second"], solar["source"]) == (999, "enterprise")


def test_unknown_organization_is_404_json(client, api_key):
    response = _limits(client, api_key, 987_654_321)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_rate_limits_need_a_key(client, organization):
    response = client.get(reverse("credits:api_rate_limits", args=[organization.pk]))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


# OpenAPI ---------------------------------------------------------------------------------


def _api_paths(patterns, prefix="") -> set[str]:
    """Every URL under /api/v1/ in the URLconf, in OpenAPI's {name} notation."""
    paths = set()
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            paths |= _api_paths(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/v1/"):
            paths.add("/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route))
    return paths


def test_documented_paths_are_exactly_the_api_urls():
    assert _api_paths(get_resolver().url_patterns) == set(DOCUMENT["paths"])
    assert "/api/v1/rate-limits/{organization_id}/" in DOCUMENT["paths"]


def test_openapi_document_is_served_as_json(client):
    response = client.get(reverse("credits:api_openapi"))

    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    from credits.openapi import openapi_document
    from credits.selectors.catalog import model_slugs_by_kind

    assert document == json.loads(json.dumps(openapi_document(slugs_by_kind=model_slugs_by_kind())))
    # The catalog is in it: each kind's slugs with the quantities it is priced by.
    branches = document["components"]["schemas"]["UsageEvent"]["oneOf"]
    by_slug = {slug: branch for branch in branches for slug in branch["properties"]["model"]["enum"]}
    llm = [{"required": ["input_tokens"]}, {"required": ["output_tokens"]}]
    assert by_slug["solar-pro-2"]["anyOf"] == llm
    assert by_slug["document-parse"]["not"] == {
        "anyOf": [{"required": ["input_tokens"]}, {"required": ["output_tokens"]}]
    }
    assert document["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}


def _resolve(schema: dict) -> dict:
    ref = schema.get("$ref")
    return DOCUMENT["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else schema


def _check_required(instance: dict, schema: dict) -> None:
    schema = _resolve(schema)
    assert set(schema["required"]) <= set(instance), schema["required"]
    assert set(instance) <= set(schema["properties"]), set(instance) - set(schema["properties"])
    if "anyOf" in schema:
        assert any(set(option["required"]) <= set(instance) for option in schema["anyOf"])


def test_sample_request_matches_the_documented_schema_and_is_accepted(post_usage, organization):
    sample = {"events": [event("sample-1", organization, input_tokens=120, output_tokens=30)]}
    operation = DOCUMENT["paths"]["/api/v1/usage/"]["post"]
    request_schema = operation["requestBody"]["content"]["application/json"]["schema"]

    _check_required(sample, request_schema)
    for item in sample["events"]:
        _check_required(item, _resolve(request_schema)["properties"]["events"]["items"])
    response = post_usage(sample["events"])

    assert response.status_code == 201
    result_schema = operation["responses"]["201"]["content"]["application/json"]["schema"]
    _check_required(response.json(), result_schema)
    assert UsageEvent.objects.count() == 1


def test_documented_error_and_rate_limit_shapes_match_responses(client, api_key, organization, post_usage):
    limits = _limits(client, api_key, organization.pk).json()
    _check_required(limits, {"$ref": "#/components/schemas/RateLimits"})
    for row in limits["limits"]:
        _check_required(row, {"$ref": "#/components/schemas/RateLimit"})
    error = post_usage([{"event_id": "x"}]).json()
    _check_required(error, {"$ref": "#/components/schemas/Error"})
