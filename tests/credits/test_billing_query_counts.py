"""Every billing page and a single-event usage post make the same, small number of queries
with 10 usage events as with 10,000: pages read rollups and batch entries, never the events."""

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from credits.models import ApiModel, ProgramGrant, UsageEvent
from credits.services.usage import record_usage_batch, validate_usage_batch
from tests.credits.scenarios import event
from tests.factories import paid_purchase

pytestmark = pytest.mark.django_db

# (url name, query string, most queries allowed). The credit page's budget is the issue's
# (#13) "at most 10", now 9 with purchases, usage and a program grant: session, user,
# membership, the account with its auto-recharge plan, lots, periods, used-up lots,
# forecast, the grant's models.
PAGES = [
    ("credits:credit", "", 9),
    ("credits:buy", "", 14),
    ("credits:auto_recharge", "", 16),
    ("credits:payment_methods", "", 8),
    ("credits:usage", "", 8),
    ("credits:usage_ledger_csv", "", 6),
    ("credits:usage_csv", "", 6),
    ("credits:refunds", "", 10),
    ("credits:rate_limits", "", 10),
    ("credits:pricing", "?prefill=usage", 17),
]


def _record(organization, count: int, start: int) -> None:
    now = timezone.now()
    models = [
        ("solar-pro-2", {"input_tokens": 900}),
        ("document-parse", {"pages": 2}),
        ("solar-pro", {"input_tokens": 50}),
    ]
    for first in range(start, start + count, 1_000):
        events = [
            event(f"q{n}", organization, model=models[n % 3][0], at=now, **models[n % 3][1])
            for n in range(first, min(first + 1_000, start + count))
        ]
        record_usage_batch(events=validate_usage_batch(payload={"events": events}), api_key=None, now=now)


def _queries(client, name: str, query: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse(name) + query)
        assert response.status_code == 200, name
        if response.streaming:
            b"".join(response.streaming_content)
    return len(captured.captured_queries)


def _post_queries(client, api_key: str, organization, event_id: str, on_commit) -> int:
    # What runs after commit (the alert check) is counted too.
    with CaptureQueriesContext(connection) as captured, on_commit(execute=True):
        response = client.post(
            reverse("credits:api_usage"),
            json.dumps({"events": [event(event_id, organization)]}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {api_key}"},
        )
        assert response.status_code == 201
    # The test's own transaction turns the service's atomic block into a savepoint; in
    # production that is BEGIN/COMMIT, which no query log counts.
    return len([q for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]])


def test_billing_pages_and_a_single_post_are_flat_from_10_to_10_000_events(
    owner_client, owner, api_key, settings, django_capture_on_commit_callbacks
):
    # Counted with the in-process cache warm, as a running worker has it: recording 10,000
    # events must not outlast the cache and add a catalog read to the second count.
    settings.PROCESS_CACHE_SECONDS = 3_600
    organization = owner.organization
    # The gateway's own client: no browser session (owner_client is the same object as the
    # `client` fixture and carries one).
    client = Client()
    now = timezone.now()
    paid_purchase(organization, 50_000, now)
    program = ProgramGrant.objects.create(
        organization=organization, starts_at=now, ends_at=now.replace(year=now.year + 1)
    )
    program.api_models.set(ApiModel.objects.filter(slug="solar-pro"))
    _record(organization, 10, 0)
    for name, query, _ in PAGES:  # warm the session and the in-process caches
        _queries(owner_client, name, query)
    _post_queries(client, api_key, organization, "warm", django_capture_on_commit_callbacks)

    few = {name: _queries(owner_client, name, query) for name, query, _ in PAGES}
    post_few = _post_queries(client, api_key, organization, "single-1", django_capture_on_commit_callbacks)
    _record(organization, 9_990, 10)
    assert UsageEvent.objects.filter(organization=organization).count() == 10_002
    many = {name: _queries(owner_client, name, query) for name, query, _ in PAGES}
    post_many = _post_queries(client, api_key, organization, "single-2", django_capture_on_commit_callbacks)

    assert many == few
    budgets = {name: budget for name, _, budget in PAGES}
    assert {name: count for name, count in many.items() if count > budgets[name]} == {}
    assert post_many == post_few
    # Account lock, the organization's program grants (it holds one), lots, then the writes:
    # on PostgreSQL one statement (the entries with the lots' and the account's new sums, the
    # events and the rollups); on SQLite five statements. No id lookup (the unique index
    # decides), no alert query for an organization without alerts, none per event.
    assert post_many == (4 if connection.vendor == "postgresql" else 8)
