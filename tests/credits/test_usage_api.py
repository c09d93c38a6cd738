"""POST /api/v1/usage/: pricing, idempotency, lot order, program grants, bad input, auth."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from credits.models import (
    ApiKey,
    ApiModel,
    CreditAccount,
    CreditLot,
    EntryKind,
    LedgerEntry,
    LotKind,
    ProgramGrant,
    UsageEvent,
)
from credits.selectors.usage import has_usage_history
from credits.services.api_keys import api_key_issue, api_key_revoke
from tests.credits.scenarios import buy, event, grant
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def balance(organization) -> int:
    return CreditAccount.objects.get(organization=organization).balance_micros


def test_prices_each_model_kind_from_the_catalog(post_usage, organization):
    events = [
        # $0.15 / 1M input and $0.60 / 1M output: 150 + 1,200 micro-dollars.
        event("llm", organization, input_tokens=1_000, output_tokens=2_000),
        # Rounded half-up on each side: 7 x 0.15 = 1.05 -> 1; 1 x 0.6 = 0.6 -> 1.
        event("tiny", organization, input_tokens=7, output_tokens=1),
        # $0.01 a page.
        event("doc", organization, model="document-parse", pages=3),
        # $0.10 / 1M input tokens.
        event("emb", organization, model="solar-embedding", input_tokens=10_000),
    ]

    response = post_usage(events)

    assert response.status_code == 201
    costs = dict(UsageEvent.objects.values_list("event_id", "cost_micros"))
    assert costs == {"llm": 1_350, "tiny": 2, "doc": 30_000, "emb": 1_000}
    assert balance(organization) == -32_352
    assert response.json() == {
        "accepted": ["llm", "tiny", "doc", "emb"],
        "duplicates": [],
        "balances": {str(organization.pk): {"balance": "-0.032352", "balance_micros": -32_352}},
    }


def test_a_batch_is_one_entry_per_model_each_event_pointing_at_it(post_usage, organization):
    post_usage([
        event("a", organization),
        event("doc", organization, model="document-parse", pages=2),
        event("b", organization, output_tokens=1_000),
    ])

    entries = LedgerEntry.objects.filter(kind=EntryKind.USAGE).order_by("pk")
    assert [
        (e.api_model.slug, e.amount_micros, e.calls, e.input_tokens, e.output_tokens, e.pages)
        for e in entries
    ] == [("solar-pro-2", -750, 2, 1_000, 1_000, 0), ("document-parse", -20_000, 1, 0, 0, 2)]
    assert [e.balance_after_micros for e in entries] == [-750, -20_750]
    assert entries[0].description == "Solar Pro 2 usage, 2 calls"
    batch = UsageEvent.objects.get(event_id="a").batch
    assert {e.reference for e in entries} == {str(batch)}
    linked = dict(UsageEvent.objects.values_list("event_id", "ledger_entry"))
    assert linked == {"a": entries[0].pk, "b": entries[0].pk, "doc": entries[1].pk}


def test_zero_cost_event_is_recorded_without_a_ledger_entry(post_usage, organization):
    response = post_usage([event("zero", organization, input_tokens=0)])

    assert response.status_code == 201
    assert UsageEvent.objects.get().cost_micros == 0
    assert LedgerEntry.objects.count() == 0


def test_same_batch_posted_twice_debits_once(post_usage, organization):
    now = timezone.now()
    grant(organization, amount_micros=1_000_000, now=now)
    batch = [event("e1", organization), event("e2", organization, input_tokens=1_000, output_tokens=10_000)]

    first = post_usage(batch)
    second = post_usage(batch)

    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["accepted"] == []
    assert second.json()["duplicates"] == ["e1", "e2"]
    assert UsageEvent.objects.count() == 2
    # One model, one lot: one entry for both calls, and none for the replay.
    assert LedgerEntry.objects.filter(kind=EntryKind.USAGE).count() == 1
    # 1,000,000 - 150 (e1) - 150 - 6,000 (e2)
    assert balance(organization) == 993_700
    assert second.json()["balances"][str(organization.pk)]["balance_micros"] == 993_700


def test_overlapping_batches_debit_the_shared_event_once(post_usage, organization):
    post_usage([event("a", organization), event("b", organization)])

    response = post_usage([event("b", organization), event("c", organization)])

    assert response.json()["accepted"] == ["c"]
    assert response.json()["duplicates"] == ["b"]
    assert balance(organization) == -450
    assert list(LedgerEntry.objects.values_list("amount_micros", "calls")) == [(-300, 2), (-150, 1)]


def test_event_id_already_used_by_another_organization_is_a_duplicate(post_usage, organization):
    other = OrganizationFactory()
    post_usage([event("shared", other)])

    response = post_usage([event("shared", organization)])

    assert response.json()["duplicates"] == ["shared"]
    assert UsageEvent.objects.get().organization == other
    assert not CreditAccount.objects.get(organization=organization).entries.exists()


def test_one_batch_debits_several_organizations(post_usage):
    first, second = OrganizationFactory(), OrganizationFactory()

    response = post_usage([event("1", second), event("2", first), event("3", second)])

    assert response.json()["balances"] == {
        str(first.pk): {"balance": "-0.000150", "balance_micros": -150},
        str(second.pk): {"balance": "-0.000300", "balance_micros": -300},
    }


def test_running_out_goes_below_zero_on_the_overage_lot(post_usage, organization):
    grant(organization, amount_micros=10_000, now=timezone.now())

    post_usage([event("big", organization, model="document-parse", pages=2)])

    assert balance(organization) == -10_000
    overage = CreditLot.objects.get(kind=LotKind.OVERAGE)
    assert overage.remaining_micros == -10_000
    assert CreditLot.objects.get(kind=LotKind.GRANT).remaining_micros == 0


# Lot order ------------------------------------------------------------------------------


def test_bonus_expiring_soonest_is_used_before_later_grants_and_paid_credits(post_usage, organization):
    now = timezone.now()
    buy(organization, amount_cents=10_000, now=now)  # $100 paid + $3 bonus until period end
    grant(organization, amount_micros=1_000_000, now=now, expires_at=now + timedelta(days=300))

    # 100 pages of Information Extract at $0.04: $4.00.
    post_usage([event("x", organization, model="information-extract", pages=100)])

    lots = {lot.kind: lot.remaining_micros for lot in CreditLot.objects.all()}
    assert lots == {LotKind.BONUS: 0, LotKind.GRANT: 0, LotKind.PAID: 100_000_000}
    draws = LedgerEntry.objects.filter(kind=EntryKind.USAGE).order_by("pk")
    assert [(e.lot.kind, e.amount_micros) for e in draws] == [
        (LotKind.BONUS, -3_000_000),
        (LotKind.GRANT, -1_000_000),
    ]
    assert balance(organization) == 100_000_000


def test_expired_bonus_is_never_used(post_usage, organization):
    # Bought 40 days ago: the monthly period, and its bonus, ended already.
    buy(organization, amount_cents=10_000, now=timezone.now() - timedelta(days=40))

    post_usage([event("x", organization, model="document-parse", pages=100)])

    bonus = CreditLot.objects.get(kind=LotKind.BONUS)
    assert bonus.remaining_micros == 3_000_000
    assert not bonus.entries.filter(kind=EntryKind.USAGE).exists()
    assert CreditLot.objects.get(kind=LotKind.PAID).remaining_micros == 99_000_000


# Program grants ---------------------------------------------------------------------------


def test_program_grant_zero_rates_only_covered_models_inside_its_dates(post_usage, organization):
    now = timezone.now()
    program = ProgramGrant.objects.create(
        organization=organization, starts_at=now - timedelta(days=10), ends_at=now + timedelta(hours=6)
    )
    program.api_models.set(ApiModel.objects.filter(slug__in=["solar-pro", "document-parse"]))

    post_usage([
        event("covered-llm", organization, model="solar-pro", at=now),
        event("covered-doc", organization, model="document-parse", at=now, pages=5),
        event("not-covered", organization, model="solar-pro-2", at=now),
        event("before", organization, model="solar-pro", at=now - timedelta(days=11)),
        # Usage is accepted up to a day ahead (clock skew), so "after" is within that day.
        event("after", organization, model="solar-pro", at=now + timedelta(hours=12)),
    ])

    rows = {e.event_id: (e.free, e.cost_micros) for e in UsageEvent.objects.all()}
    assert rows == {
        "covered-llm": (True, 0),
        "covered-doc": (True, 0),
        "not-covered": (False, 150),
        "before": (False, 250),
        "after": (False, 250),
    }
    debited = set(UsageEvent.objects.filter(ledger_entry__isnull=False).values_list("event_id", flat=True))
    assert debited == {"not-covered", "before", "after"}
    assert sorted(LedgerEntry.objects.values_list("api_model__slug", "calls", "amount_micros")) == [
        ("solar-pro", 2, -500),
        ("solar-pro-2", 1, -150),
    ]
    assert balance(organization) == -650


def test_revoked_program_grant_stops_covering(post_usage, organization):
    now = timezone.now()
    program = ProgramGrant.objects.create(
        organization=organization,
        starts_at=now - timedelta(days=10),
        ends_at=now + timedelta(days=10),
        revoked_at=now - timedelta(days=1),
    )
    program.api_models.set(ApiModel.objects.filter(slug="solar-pro"))

    post_usage([
        event("while-active", organization, model="solar-pro", at=now - timedelta(days=2)),
        event("after-revoked", organization, model="solar-pro", at=now),
    ])

    assert dict(UsageEvent.objects.values_list("event_id", "free")) == {
        "while-active": True,
        "after-revoked": False,
    }


def test_program_grant_of_another_organization_does_not_apply(post_usage, organization):
    now = timezone.now()
    program = ProgramGrant.objects.create(
        organization=OrganizationFactory(), starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1)
    )
    program.api_models.set(ApiModel.objects.all())

    post_usage([event("mine", organization, model="solar-pro", at=now)])

    assert UsageEvent.objects.get().free is False


def test_first_usage_event_makes_purchases_non_refundable(post_usage, organization):
    assert has_usage_history(organization=organization) is False

    post_usage([event("first", organization, input_tokens=0)])

    assert has_usage_history(organization=organization) is True
    assert has_usage_history(organization=OrganizationFactory()) is False


# Bad input ------------------------------------------------------------------------------


def _without(field):
    def change(bad):
        del bad[field]
        return bad

    return change


def _with(**fields):
    def change(bad):
        bad.update(fields)
        return bad

    return change


BAD_EVENTS = [
    ("unknown model", _with(model="solar-ultra-9"), "model"),
    ("model not a string", _with(model=3), "model"),
    ("unknown organization", _with(organization=987_654_321), "organization"),
    ("organization as text", _with(organization="1"), "organization"),
    ("negative tokens", _with(input_tokens=-1), "input_tokens"),
    ("fractional tokens", _with(input_tokens=1.5), "input_tokens"),
    ("float above 2**53", _with(input_tokens=2.0**60), "input_tokens"),
    ("boolean tokens", _with(input_tokens=True), "input_tokens"),
    ("tokens as text", _with(input_tokens="10"), "input_tokens"),
    ("null tokens", _with(input_tokens=None), "input_tokens"),
    ("absurd tokens", _with(input_tokens=10**13), "input_tokens"),
    ("tokens past a billion", _with(input_tokens=10**9 + 1), "input_tokens"),
    ("negative output", _with(output_tokens=-5), "output_tokens"),
    ("pages on a language model", _with(pages=1), "pages"),
    ("no quantity", _without("input_tokens"), "input_tokens"),
    ("missing event_id", _without("event_id"), "event_id"),
    ("empty event_id", _with(event_id=""), "event_id"),
    ("event_id too long", _with(event_id="x" * 129), "event_id"),
    # Valid JSON ("a\\ud800"), but half a UTF-16 pair: no UTF-8 text can hold it.
    ("event_id with a lone surrogate", _with(event_id="a\ud800"), "event_id"),
    ("missing organization", _without("organization"), "organization"),
    ("missing model", _without("model"), "model"),
    ("missing occurred_at", _without("occurred_at"), "occurred_at"),
    ("malformed timestamp", _with(occurred_at="yesterday"), "occurred_at"),
    ("impossible date", _with(occurred_at="2026-13-01T00:00:00Z"), "occurred_at"),
    ("timestamp without offset", _with(occurred_at="2026-01-01T00:00:00"), "occurred_at"),
    ("timestamp as a number", _with(occurred_at=1767225600), "occurred_at"),
]


@pytest.mark.parametrize(("case", "change", "field"), BAD_EVENTS, ids=[c[0] for c in BAD_EVENTS])
def test_bad_event_refuses_the_whole_batch(post_usage, organization, case, change, field):
    good = event("good", organization)
    bad = change(event("bad", organization))

    response = post_usage([good, bad])

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == field
    assert error["index"] == 1
    sent_id = bad.get("event_id")
    assert error["event_id"] == (sent_id if isinstance(sent_id, str) else None)
    assert field in error["message"]
    assert UsageEvent.objects.count() == 0
    assert LedgerEntry.objects.count() == 0


def test_a_call_costing_more_than_a_million_dollars_is_refused(post_usage, organization):
    # Information Extract at $0.04 a page: 25,000,000 pages are $1,000,000, one more is past
    # the bound (MAX_EVENT_COST_MICROS), which keeps a batch's sums far from 64 bits.
    at_the_bound = event("bound", organization, model="information-extract", pages=25_000_000)
    past_it = event("past", organization, model="information-extract", pages=25_000_001)

    refused = post_usage([at_the_bound, past_it])
    taken = post_usage([at_the_bound])

    assert refused.status_code == 400
    error = refused.json()["error"]
    assert (error["field"], error["index"], error["event_id"]) == ("pages", 1, "past")
    assert "$1,000,000.04" in error["message"] and "$1,000,000.00" in error["message"]
    assert taken.status_code == 201
    assert list(UsageEvent.objects.values_list("event_id", "cost_micros")) == [("bound", 10**12)]


def test_document_model_needs_pages_not_tokens(post_usage, organization):
    response = post_usage([event("d", organization, model="document-parse", input_tokens=10)])

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "input_tokens"


def test_duplicate_event_id_inside_a_batch_is_refused(post_usage, organization):
    response = post_usage(
        [event("same", organization), event("other", organization), event("same", organization)]
    )

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "duplicate_in_batch",
        "message": "event_id appears twice in this batch.",
        "field": "event_id",
        "index": 2,
        "event_id": "same",
    }
    assert UsageEvent.objects.count() == 0


def test_batch_over_one_thousand_events_is_refused(post_usage, organization):
    response = post_usage([event(f"e{n}", organization) for n in range(1_001)])

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "batch_size"
    assert response.json()["error"]["field"] == "events"
    assert UsageEvent.objects.count() == 0


def test_batch_of_exactly_one_thousand_events_is_taken(post_usage, organization):
    response = post_usage([event(f"e{n}", organization) for n in range(1_000)])

    assert response.status_code == 201
    assert UsageEvent.objects.count() == 1_000
    assert balance(organization) == -150_000


@pytest.mark.parametrize(
    ("body", "content_type", "field"),
    [
        (b"{not json", "application/json", "body"),
        (b"\xff\xfe", "application/json", "body"),
        (json.dumps({"events": []}).encode(), "application/json", "events"),
        (json.dumps([]).encode(), "application/json", "events"),
        (json.dumps({"events": "many"}).encode(), "application/json", "events"),
        (json.dumps({"events": [42]}).encode(), "application/json", "events"),
        (b"events=1", "application/x-www-form-urlencoded", "body"),
        (json.dumps({"events": []}).encode(), "text/plain", "body"),
    ],
    ids=[
        "invalid json",
        "not utf-8",
        "empty batch",
        "bare list",
        "events not a list",
        "event not an object",
        "form post",
        "text/plain",
    ],
)
def test_malformed_body_is_a_400_naming_the_field(post_usage, body, content_type, field):
    response = post_usage(None, raw=body, content_type=content_type)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["field"] == field
    assert UsageEvent.objects.count() == 0


def test_json_with_charset_is_accepted(post_usage, organization):
    response = post_usage(
        None,
        raw=json.dumps({"events": [event("a", organization)]}).encode(),
        content_type="application/json; charset=utf-8",
    )

    assert response.status_code == 201


# Authentication -------------------------------------------------------------------------


def _usage_post(client, organization, authorization: str | None):
    headers = {"Authorization": authorization} if authorization is not None else {}
    return client.post(
        reverse("credits:api_usage"),
        json.dumps({"events": [event("a", organization)]}),
        content_type="application/json",
        headers=headers,
    )


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Bearer not-a-key", "Basic dXNlcjpwYXNz", "Token bpk_x"],
    ids=["missing", "empty", "scheme only", "empty token", "wrong key", "basic auth", "other scheme"],
)
def test_missing_or_wrong_key_is_401(client, organization, api_key, authorization):
    response = _usage_post(client, organization, authorization)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert UsageEvent.objects.count() == 0


def test_revoked_key_is_401(client, organization, api_key):
    api_key_revoke(api_key=ApiKey.objects.get(), now=timezone.now())

    response = _usage_post(client, organization, f"Bearer {api_key}")

    assert response.status_code == 401
    assert UsageEvent.objects.count() == 0


def test_key_is_stored_hashed_and_scheme_is_case_insensitive(client, organization):
    record = ApiKey(name="second")
    raw = api_key_issue(api_key=record, created_by=None, now=timezone.now())

    response = _usage_post(client, organization, f"bearer {raw}")

    assert response.status_code == 201
    assert raw not in {record.key_hash, record.prefix}
    assert raw.startswith(record.prefix)
    assert UsageEvent.objects.get().api_key == record


def test_usage_endpoint_takes_only_post(client, api_key):
    response = client.get(reverse("credits:api_usage"), headers={"Authorization": f"Bearer {api_key}"})

    assert response.status_code == 405


def test_usage_endpoint_needs_no_csrf_token(organization, api_key):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)

    response = _usage_post(strict, organization, f"Bearer {api_key}")

    assert response.status_code == 201


def test_a_key_revoked_elsewhere_works_until_the_cache_bound_and_not_after(
    client, organization, api_key, settings
):
    from credits.selectors.process_cache import forget_process_cache

    settings.PROCESS_CACHE_SECONDS = 3_600
    assert _usage_post(client, organization, f"Bearer {api_key}").status_code == 201
    # Revoked by another worker: this one does not hear of it until its cache expires.
    ApiKey.objects.update(revoked_at=timezone.now())

    cached = client.post(
        reverse("credits:api_usage"),
        json.dumps({"events": [event("b", organization)]}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {api_key}"},
    )
    forget_process_cache()  # what PROCESS_CACHE_SECONDS passing does
    expired = _usage_post(client, organization, f"Bearer {api_key}")

    assert cached.status_code == 201
    assert expired.status_code == 401


def test_a_key_revoked_in_this_worker_stops_at_once(
    client, organization, api_key, settings, django_capture_on_commit_callbacks
):
    settings.PROCESS_CACHE_SECONDS = 3_600
    assert _usage_post(client, organization, f"Bearer {api_key}").status_code == 201

    with django_capture_on_commit_callbacks(execute=True):
        api_key_revoke(api_key=ApiKey.objects.get(), now=timezone.now())

    assert _usage_post(client, organization, f"Bearer {api_key}").status_code == 401


def test_an_organization_is_looked_up_until_found_then_remembered(
    client, organization, api_key, django_assert_num_queries
):
    from credits.selectors.process_cache import cached_existing_organization_ids

    unknown = organization.pk + 1_000
    with django_assert_num_queries(1):
        assert cached_existing_organization_ids(wanted={organization.pk, unknown}) == {organization.pk}
    # Found once: remembered (its credit account protects it from deletion), even with the
    # table caches off (PROCESS_CACHE_SECONDS = 0 in tests); the unknown id is asked again.
    with django_assert_num_queries(0):
        assert cached_existing_organization_ids(wanted={organization.pk}) == {organization.pk}
    with django_assert_num_queries(1):
        assert cached_existing_organization_ids(wanted={organization.pk, unknown}) == {organization.pk}
    # An organization made since is seen at once.
    newcomer = OrganizationFactory()
    assert _usage_post(client, newcomer, f"Bearer {api_key}").status_code == 201
